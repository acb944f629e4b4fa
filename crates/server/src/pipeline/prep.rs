//! Prep: a decoded request becomes a Txn to propose, a read to run in FIFO order, or (for
//! `auth`, `sasl`) an immediate answer. Prep checks only what does not depend on the tree:
//! that the session is live. Everything else is decided by `apply`, identically on every
//! replica.

use std::sync::Arc;
use std::time::Instant;

use corral_datatree::{Txn, TxnOp};
use corral_jute::opcode::xid;
use corral_jute::records::proto::create_flags;
use corral_jute::{
    AuthPacket, CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, ErrorCode, Id,
    MultiOp, OpCode, Request, SetDataRequest,
};

use super::propose::{Entry, Origin};
use super::reply::{self, ReplyKind};
use super::{wall_clock_ms, Core};
use crate::session::registry::Held;
use crate::session::Queued;
use crate::watch::ConnId;

impl Core {
    pub(super) fn request(&mut self, conn_id: ConnId, xid: i32, req: Request, received: Instant) {
        self.stats.received += 1;
        let Some(conn) = self.registry.conns.get_mut(&conn_id) else {
            return;
        };
        conn.received += 1;
        conn.stats.last_cxid = xid;
        conn.stats.last_op = crate::stats::op_name(req.op());
        let Some(session_id) = conn.session else {
            // The session moved to another connection or ended; this one is being closed.
            return;
        };
        if let Request::Sasl(token) = req {
            // ZooKeeper's processSasl: answered at once, whatever the session's state (closing,
            // held), without touching it, so a client that keeps sending `sasl` (kazoo, to a
            // server without SASL) still expires and sees its connection dropped.
            self.sasl(conn_id, xid, token);
            return;
        }
        self.heard_from(session_id, received);
        self.run_request(conn_id, session_id, xid, req, received);
    }

    /// A request of a live connection's session (also a held one taken up again).
    pub(super) fn run_request(
        &mut self,
        conn_id: ConnId,
        session_id: i64,
        xid: i32,
        req: Request,
        received: Instant,
    ) {
        let zxid = self.tree.last_zxid();
        let Some(session) = self.registry.sessions.get_mut(&session_id) else {
            self.send(
                conn_id,
                reply::error(xid, zxid, ErrorCode::SessionExpired),
                true,
            );
            return;
        };
        if session.closing {
            // In FIFO order: the close (and writes before it) may still be uncommitted, and
            // their replies must leave first.
            self.fail_in_order(session_id, conn_id, xid, ErrorCode::SessionExpired);
            return;
        }
        if let Some(held) = session.held.as_mut() {
            held.push_back(Held {
                conn: conn_id,
                xid,
                req,
                received,
            });
            return;
        }
        if let Request::Auth(packet) = req {
            self.auth(conn_id, packet);
            return;
        }
        if let (Request::Reconfig(r), true) = (&req, self.reconfig_allowed()) {
            self.reconfig(conn_id, session_id, xid, r, received);
            return;
        }
        if let (Request::Sync(r), Some(_)) = (&req, &self.ensemble) {
            // Through the log: answered once every write committed before it is applied here.
            let id = self.log.id();
            let bytes = self.log.propose_sync(id, session_id);
            self.disk.proposed(bytes);
            let session = self
                .registry
                .sessions
                .get_mut(&session_id)
                .expect("checked");
            session.fifo.push_back(Queued::Write {
                conn: conn_id,
                xid,
                kind: ReplyKind::Sync(r.path.clone()),
                received,
                proposer: id,
            });
            return;
        }
        match to_txn_op(&req) {
            Some(Ok((op, _)))
                if !matches!(op, TxnOp::CloseSession) && !self.disk.allows_write() =>
            {
                // The disk is nearly full (see `disk`): refuse, in FIFO order; reads go on.
                self.fail_in_order(session_id, conn_id, xid, ErrorCode::SystemError)
            }
            Some(Ok((op, kind))) => {
                let auth = self.registry.conns[&conn_id].auth.to_vec();
                let session = self
                    .registry
                    .sessions
                    .get_mut(&session_id)
                    .expect("checked");
                if matches!(op, TxnOp::CloseSession) {
                    session.closing = true;
                }
                let proposer = self.log.id();
                session.fifo.push_back(Queued::Write {
                    conn: conn_id,
                    xid,
                    kind,
                    received,
                    proposer,
                });
                self.propose(Entry {
                    origin: Origin::Client { session_id },
                    txn: Txn {
                        session_id,
                        time_ms: wall_clock_ms(),
                        auth,
                        op,
                    },
                });
            }
            Some(Err(err)) => self.fail_in_order(session_id, conn_id, xid, err),
            None => self.enqueue_read(
                session_id,
                Queued::Read {
                    conn: conn_id,
                    xid,
                    req,
                    received,
                },
            ),
        }
    }

    /// An unknown op code: `Unimplemented`, in the session's FIFO order.
    pub(super) fn refuse(&mut self, conn_id: ConnId, xid: i32) {
        let Some(session_id) = self.registry.conns.get(&conn_id).and_then(|c| c.session) else {
            return;
        };
        if self.registry.sessions.contains_key(&session_id) {
            self.fail_in_order(session_id, conn_id, xid, ErrorCode::Unimplemented);
        }
    }

    /// Refuses a request with `err`, in its session's FIFO order.
    pub(super) fn fail_in_order(
        &mut self,
        session_id: i64,
        conn: ConnId,
        xid: i32,
        err: ErrorCode,
    ) {
        self.enqueue_read(session_id, Queued::Failed { conn, xid, err });
    }

    /// Answers a read (or a request refused before the log) now, or queues it behind its
    /// session's uncommitted writes.
    pub(super) fn enqueue_read(&mut self, session_id: i64, item: Queued) {
        let session = self
            .registry
            .sessions
            .get_mut(&session_id)
            .expect("caller checked");
        if session.fifo.is_empty() {
            self.answer_queued(session_id, item);
        } else {
            session.fifo.push_back(item);
        }
    }

    /// `addAuth`: answered at once, as ZooKeeper does, outside the FIFO.
    fn auth(&mut self, conn_id: ConnId, packet: AuthPacket) {
        let super_digest = self.cfg.super_digest.clone();
        let Some(conn) = self.registry.conns.get_mut(&conn_id) else {
            return;
        };
        let ids = match packet.scheme.as_str() {
            "digest" => {
                let user_pass = String::from_utf8_lossy(&packet.auth).into_owned();
                // As ZooKeeper's DigestAuthenticationProvider: any bytes hash to an id.
                let id = corral_datatree::acl::digest_id(&user_pass);
                let mut ids = vec![];
                if super_digest.as_deref() == Some(id.as_str()) {
                    ids.push(Id::new("super", ""));
                }
                ids.push(Id::new("digest", &id));
                Some(ids)
            }
            _ => None,
        };
        match ids {
            Some(ids) => {
                let auth = Arc::make_mut(&mut conn.auth);
                for id in ids {
                    if !auth.contains(&id) {
                        auth.push(id);
                    }
                }
                self.send(conn_id, reply::error(xid::AUTH, 0, ErrorCode::Ok), true);
            }
            None => {
                // ZooKeeper answers AuthFailed and closes the connection.
                self.stats.auth_failed += 1;
                tracing::info!(
                    "authentication with scheme '{}' failed for client {}",
                    packet.scheme,
                    conn.outbox.peer
                );
                self.send(
                    conn_id,
                    reply::error(xid::AUTH, 0, ErrorCode::AuthFailed),
                    true,
                );
                self.close_conn(conn_id);
            }
        }
    }
}

/// The Txn op of a write request (`None` for reads), or the error that refuses it outright.
#[allow(clippy::type_complexity)]
fn to_txn_op(req: &Request) -> Option<Result<(TxnOp, ReplyKind), ErrorCode>> {
    let single = |op: OpCode, t: TxnOp| Some(Ok((t, ReplyKind::Single(op))));
    match req {
        Request::Create { op, req } => single(*op, create_txn(*op, req)),
        Request::CreateTtl(r) => single(OpCode::CreateTtl, create_ttl_txn(r)),
        Request::Delete(r) => single(OpCode::Delete, delete_txn(r)),
        Request::SetData(r) => single(OpCode::SetData, set_data_txn(r)),
        Request::SetAcl(r) => single(
            OpCode::SetAcl,
            TxnOp::SetAcl {
                path: r.path.clone(),
                acl: r.acl.clone(),
                version: r.version,
            },
        ),
        Request::Check(r) => single(OpCode::Check, check_txn(r)),
        Request::CloseSession => single(OpCode::CloseSession, TxnOp::CloseSession),
        Request::Reconfig(_) => Some(Err(ErrorCode::ReconfigDisabled)),
        Request::Multi(ops) => {
            let txns = ops.iter().map(multi_txn_op).collect::<Option<Vec<_>>>();
            // A read inside a write multi: ZooKeeper rejects the whole request.
            let Some(txns) = txns else {
                return Some(Err(ErrorCode::BadArguments));
            };
            let kinds = ops.iter().map(MultiOp::op).collect();
            Some(Ok((TxnOp::Multi(txns), ReplyKind::Multi(kinds))))
        }
        _ => None,
    }
}

/// The Txn op of one op of a write `multi`; `None` for a read op.
fn multi_txn_op(op: &MultiOp) -> Option<TxnOp> {
    Some(match op {
        MultiOp::Create { op, req } => create_txn(*op, req),
        MultiOp::CreateTtl(r) => create_ttl_txn(r),
        MultiOp::Delete(r) => delete_txn(r),
        MultiOp::SetData(r) => set_data_txn(r),
        MultiOp::Check(r) => check_txn(r),
        MultiOp::GetChildren(_) | MultiOp::GetData(_) => return None,
    })
}

fn create_txn(op: OpCode, req: &CreateRequest) -> TxnOp {
    TxnOp::Create {
        path: req.path.clone(),
        data: req.data.clone(),
        acl: req.acl.clone(),
        flags: container_flags(op, req.flags),
        ttl_ms: -1,
    }
}

fn create_ttl_txn(r: &CreateTtlRequest) -> TxnOp {
    TxnOp::Create {
        path: r.path.clone(),
        data: r.data.clone(),
        acl: r.acl.clone(),
        flags: r.flags,
        ttl_ms: r.ttl,
    }
}

fn delete_txn(r: &DeleteRequest) -> TxnOp {
    TxnOp::Delete {
        path: r.path.clone(),
        version: r.version,
    }
}

fn set_data_txn(r: &SetDataRequest) -> TxnOp {
    TxnOp::SetData {
        path: r.path.clone(),
        data: r.data.clone(),
        version: r.version,
    }
}

fn check_txn(r: &CheckVersionRequest) -> TxnOp {
    TxnOp::Check {
        path: r.path.clone(),
        version: r.version,
    }
}

/// ZooKeeper decides "container" by op code, not by flags: `create`/`create2` with the
/// container flag make a plain persistent node, and `createContainer` always makes a
/// container. Flags that name no mode are left for apply to refuse.
fn container_flags(op: OpCode, flags: i32) -> i32 {
    const VALID_MODES: std::ops::RangeInclusive<i32> = 0..=6;
    match op {
        OpCode::CreateContainer if VALID_MODES.contains(&flags) => create_flags::CONTAINER,
        OpCode::Create | OpCode::Create2 if flags == create_flags::CONTAINER => {
            create_flags::PERSISTENT
        }
        _ => flags,
    }
}
