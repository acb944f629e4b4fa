//! The session handshake: a new session is a logged Txn; a reconnect re-attaches an existing
//! session to a new connection after checking its password.

use std::collections::VecDeque;
use std::time::Instant;

use corral_datatree::{Txn, TxnOp};
use corral_jute::{ConnectRequest, ConnectResponse, Encode};
use rand::RngCore;

use super::propose::{Entry, Origin};
use super::{wall_clock_ms, Core};
use crate::limits::SESSION_PASSWD_BYTES;
use crate::outbox::Outbox;
use crate::session::{Conn, Queued, Session};
use crate::watch::ConnId;

impl Core {
    pub(super) fn connect(&mut self, outbox: Outbox, req: ConnectRequest) {
        let conn_id = outbox.conn;
        let peer = outbox.peer;
        self.registry.conns.insert(conn_id, Conn::new(outbox));
        self.stats.received += 1;
        self.metrics.count("connection_request_count", 1);
        if !self.serving() {
            // As ZooKeeper: a member without a quorum hands out no sessions.
            tracing::info!("refusing session request for client {peer}: not serving (no quorum)");
            self.close_conn(conn_id);
            return;
        }
        let last_zxid = self.tree.last_zxid();
        if req.last_zxid_seen > last_zxid {
            // As ZooKeeper: a client that has seen a newer state must not read an older one.
            tracing::info!(
                "refusing session request for client {peer}: it has seen zxid {:#x}, our last zxid is {:#x}",
                req.last_zxid_seen,
                last_zxid
            );
            self.close_conn(conn_id);
            return;
        }
        let (min, max) = self.cfg.session_timeout_bounds_ms();
        let timeout_ms = (req.time_out.max(0) as u32).clamp(min, max);
        if req.session_id == 0 {
            // A read-only request is served read-write: this server is never read-only.
            self.create_session(conn_id, timeout_ms);
        } else {
            self.reattach_session(conn_id, req.session_id, &req.passwd, timeout_ms);
        }
    }

    fn create_session(&mut self, conn_id: ConnId, timeout_ms: u32) {
        let mut id = self.next_session_id;
        while self.tree.session(id).is_some() || self.registry.sessions.contains_key(&id) {
            id += 1;
        }
        self.next_session_id = id + 1;
        let mut passwd = vec![0u8; SESSION_PASSWD_BYTES];
        rand::thread_rng().fill_bytes(&mut passwd);
        let auth = self.registry.conns[&conn_id].auth.to_vec();
        let proposer = self.log.id();
        self.registry.sessions.insert(
            id,
            Session {
                timeout_ms,
                conn: Some(conn_id),
                fifo: VecDeque::from([Queued::Connect {
                    conn: conn_id,
                    proposer,
                }]),
                closing: false,
                held: None,
            },
        );
        if let Some(c) = self.registry.conns.get_mut(&conn_id) {
            c.session = Some(id);
        }
        self.propose(Entry {
            origin: Origin::Client { session_id: id },
            txn: Txn {
                session_id: id,
                time_ms: wall_clock_ms(),
                auth,
                op: TxnOp::CreateSession {
                    timeout_ms: timeout_ms as i32,
                    passwd,
                },
            },
        });
    }

    fn reattach_session(
        &mut self,
        conn_id: ConnId,
        session_id: i64,
        passwd: &[u8],
        timeout_ms: u32,
    ) {
        let valid = self
            .tree
            .session(session_id)
            .is_some_and(|s| s.passwd == passwd)
            && self
                .registry
                .sessions
                .get(&session_id)
                .is_some_and(|s| !s.closing);
        if !valid {
            let peer = self.registry.conns[&conn_id].peer();
            tracing::info!("invalid session {session_id:#x} for client {peer}, probably expired");
            // ZooKeeper answers an expired or unknown session with timeout 0, then closes.
            let rsp = ConnectResponse {
                protocol_version: 0,
                time_out: 0,
                session_id: 0,
                passwd: vec![0; SESSION_PASSWD_BYTES],
                read_only: false,
            };
            self.send(conn_id, frame_of(&rsp), false);
            self.close_conn(conn_id);
            return;
        }
        let session = self
            .registry
            .sessions
            .get_mut(&session_id)
            .expect("checked above");
        let previous = session.conn.replace(conn_id);
        session.timeout_ms = timeout_ms;
        let passwd = self.tree_passwd(session_id);
        if let Some(c) = self.registry.conns.get_mut(&conn_id) {
            c.session = Some(session_id);
        }
        if let Some(old) = previous.filter(|&old| old != conn_id) {
            // The client moved: its old connection must not answer for the session any more.
            if let Some(c) = self.registry.conns.get_mut(&old) {
                c.session = None;
            }
            self.close_conn(old);
        }
        self.tracker.add(session_id, timeout_ms, Instant::now());
        let peer = self.registry.conns[&conn_id].peer();
        tracing::info!(
            "client {peer} resumed session {session_id:#x}, negotiated timeout {timeout_ms} ms"
        );
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: timeout_ms as i32,
            session_id,
            passwd,
            read_only: false,
        };
        self.send(conn_id, frame_of(&rsp), false);
    }

    /// Answers the handshake of a session whose creation just committed.
    pub(super) fn session_created(&mut self, conn_id: ConnId, session_id: i64, ok: bool) {
        let Some(timeout_ms) = self
            .registry
            .sessions
            .get(&session_id)
            .map(|s| s.timeout_ms)
        else {
            return;
        };
        if !ok {
            self.close_conn(conn_id);
            return;
        }
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: timeout_ms as i32,
            session_id,
            passwd: self.tree_passwd(session_id),
            read_only: false,
        };
        self.tracker.add(session_id, timeout_ms, Instant::now());
        if let Some(c) = self.registry.conns.get(&conn_id) {
            let peer = c.peer();
            tracing::info!(
                "client {peer} established session {session_id:#x}, negotiated timeout {timeout_ms} ms"
            );
        }
        self.send(conn_id, frame_of(&rsp), false);
    }
}

impl Core {
    /// The password lives in the tree (it is logged with the session); callers have checked
    /// the session is there.
    fn tree_passwd(&self, session_id: i64) -> Vec<u8> {
        let session = self
            .tree
            .session(session_id)
            .expect("session is in the tree");
        session.passwd.clone()
    }
}

/// The connect response is framed without a `ReplyHeader`.
fn frame_of(rsp: &ConnectResponse) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    let at = corral_jute::frame::begin(&mut out);
    rsp.encode(&mut out);
    corral_jute::frame::finish(&mut out, at);
    out
}

impl Core {
    /// Starts tracking a session that is in the tree but was not opened through this
    /// process: it gets a fresh timeout for its client to come back in.
    pub(super) fn adopt_session(&mut self, session_id: i64) {
        if self.registry.sessions.contains_key(&session_id) {
            return;
        }
        let Some(timeout_ms) = self.tree.session(session_id).map(|s| s.timeout_ms) else {
            return;
        };
        let timeout_ms = timeout_ms.max(0) as u32;
        self.registry.sessions.insert(
            session_id,
            Session {
                timeout_ms,
                conn: None,
                fifo: VecDeque::new(),
                closing: false,
                held: None,
            },
        );
        self.tracker.add(session_id, timeout_ms, Instant::now());
    }

    /// Replaces the tree with a snapshot received from a leader. Sessions follow the new
    /// tree: those gone from it end, new ones are adopted.
    pub(super) fn install_snapshot(&mut self, path: &std::path::Path) -> Result<(), String> {
        let (_, mut tree) = corral_datatree::snapshot::read_snapshot_file(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        tree.set_extended_types_enabled(self.cfg.extended_types_enabled);
        tree.set_enforce_quota(self.cfg.enforce_quota);
        self.tree = tree;
        let gone: Vec<i64> = self
            .registry
            .sessions
            .keys()
            .copied()
            .filter(|id| self.tree.session(*id).is_none())
            .collect();
        for session_id in gone {
            self.end_session(session_id);
        }
        for session_id in self.tree.session_ids() {
            self.adopt_session(session_id);
        }
        // The watches of this member's clients saw none of the changes the snapshot brought.
        // As a ZooKeeper learner that resyncs: close the connections; each client comes
        // back with its last zxid and its watches, and `set_watches` fires what changed.
        let conns: Vec<ConnId> = self.registry.conns.keys().copied().collect();
        tracing::info!(
            file = %path.display(),
            "snapshot installed; closing {} client connections so that their watches are set \
             again",
            conns.len()
        );
        for conn in conns {
            self.close_conn(conn);
        }
        Ok(())
    }
}
