//! Reads, and the other requests answered from this server's tree without the log: ping,
//! sync, watch management, whoAmI, multiRead. A read registers its watch in the same step,
//! so no change can fall between the read and the registration.

use std::time::Instant;

use corral_jute::records::proto::{add_watch_mode, event_type};
use corral_jute::{
    codec::{write_bytes, write_strings},
    request::encode_multi_results,
    ClientInfo, Encode, ErrorCode, ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildrenResponse, MultiOp, MultiResult, Request, SetWatches2, StatResponse, SyncResponse,
    WhoAmIResponse,
};

use super::reply;
use super::Core;
use crate::watch::event::encode_event;
use crate::watch::{ConnId, WatchKind};

impl Core {
    pub(super) fn run_read(
        &mut self,
        conn: ConnId,
        session_id: i64,
        xid: i32,
        req: &Request,
        received: Instant,
    ) {
        let Some(c) = self.registry.conns.get(&conn) else {
            // Its connection closed while the read waited: nobody to answer, no watch to set.
            return;
        };
        let auth = c.auth.clone();
        let zxid = self.tree.last_zxid();
        let bytes = match req {
            Request::Ping | Request::CloseSession => reply::error(xid, zxid, ErrorCode::Ok),
            // ZooKeeper's FinalRequestProcessor refuses a NUL in an exists path (only there).
            Request::Exists(r) if r.path.contains('\0') => {
                reply::error(xid, zxid, ErrorCode::BadArguments)
            }
            Request::Exists(r) => {
                if r.watch {
                    self.watches.add(conn, &r.path, WatchKind::Data);
                }
                match self.tree.exists(&r.path) {
                    Some(stat) => {
                        self.metrics.read_in_namespace(&r.path, 0);
                        reply::record(xid, zxid, &StatResponse { stat })
                    }
                    None => reply::error(xid, zxid, ErrorCode::NoNode),
                }
            }
            Request::GetData(r) => match self.tree.get_data(&r.path, &auth) {
                Ok((data, stat)) => {
                    let len = data.map_or(0, <[u8]>::len);
                    self.metrics.read_in_namespace(&r.path, len);
                    // Encoded straight from the tree: no copy of the data first.
                    let bytes = reply::frame_with(xid, zxid, ErrorCode::Ok, |out| {
                        match data {
                            Some(d) => write_bytes(out, d),
                            None => (-1i32).encode(out),
                        }
                        stat.encode(out);
                    });
                    if r.watch {
                        self.watches.add(conn, &r.path, WatchKind::Data);
                    }
                    bytes
                }
                Err(e) => reply::error(xid, zxid, e),
            },
            Request::GetChildren(r) | Request::GetChildren2(r) => {
                match self.tree.children_of(&r.path, &auth) {
                    Ok((children, stat)) => {
                        let names: usize = children.iter().map(str::len).sum();
                        self.metrics.read_in_namespace(&r.path, names);
                        // Encoded straight from the tree, as GetChildrenResponse or
                        // GetChildren2Response would be: no copy of the names first.
                        let with_stat = matches!(req, Request::GetChildren2(_));
                        let bytes = reply::frame_with(xid, zxid, ErrorCode::Ok, |out| {
                            // Count, a length per name, the names, and room for a Stat.
                            out.reserve(4 + 4 * children.len() + names + 80);
                            write_strings(out, children.iter());
                            if with_stat {
                                stat.encode(out);
                            }
                        });
                        if r.watch {
                            self.watches.add(conn, &r.path, WatchKind::Child);
                        }
                        bytes
                    }
                    Err(e) => reply::error(xid, zxid, e),
                }
            }
            Request::GetAcl(r) => match self.tree.get_acl(&r.path, &auth) {
                Ok((acl, stat)) => reply::record(xid, zxid, &GetAclResponse { acl, stat }),
                Err(e) => reply::error(xid, zxid, e),
            },
            Request::GetAllChildrenNumber(r) => {
                match self.tree.get_all_children_number(&r.path, &auth) {
                    Ok(total_number) => {
                        reply::record(xid, zxid, &GetAllChildrenNumberResponse { total_number })
                    }
                    Err(e) => reply::error(xid, zxid, e),
                }
            }
            Request::GetEphemerals(r) => {
                let children = self.tree.get_ephemerals(session_id, &r.path);
                reply::record(xid, zxid, &GetChildrenResponse { children })
            }
            // Standalone (an ensemble logs a sync, see `prep`): this server's tree is the whole committed state once the session's
            // earlier writes are answered, which the FIFO already guarantees.
            Request::Sync(r) => reply::record(
                xid,
                zxid,
                &SyncResponse {
                    path: r.path.clone(),
                },
            ),
            Request::SetWatches(w) => {
                self.set_watches(conn, w);
                reply::error(xid, zxid, ErrorCode::Ok)
            }
            Request::AddWatch(r) => {
                let kind = match r.mode {
                    add_watch_mode::PERSISTENT => Some(WatchKind::Persistent),
                    add_watch_mode::PERSISTENT_RECURSIVE => Some(WatchKind::PersistentRecursive),
                    _ => None,
                };
                match kind {
                    Some(kind) => {
                        self.watches.add(conn, &r.path, kind);
                        reply::record(xid, zxid, &ErrorResponse { err: 0 })
                    }
                    None => reply::error(xid, zxid, ErrorCode::BadArguments),
                }
            }
            Request::CheckWatches(r) => {
                if self.watches.contains(conn, &r.path, r.kind) {
                    reply::error(xid, zxid, ErrorCode::Ok)
                } else {
                    reply::error(xid, zxid, ErrorCode::NoWatcher)
                }
            }
            Request::RemoveWatches(r) => {
                if self.watches.remove(conn, &r.path, r.kind) {
                    reply::error(xid, zxid, ErrorCode::Ok)
                } else {
                    reply::error(xid, zxid, ErrorCode::NoWatcher)
                }
            }
            Request::WhoAmI => {
                let client_info = auth
                    .iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: user_name(&id.scheme, &id.id),
                    })
                    .collect();
                reply::record(xid, zxid, &WhoAmIResponse { client_info })
            }
            Request::MultiRead(ops) => {
                let results: Vec<MultiResult> =
                    ops.iter().map(|op| self.multi_read_op(op, &auth)).collect();
                reply::frame_with(xid, zxid, ErrorCode::Ok, |out| {
                    encode_multi_results(&results, out)
                })
            }
            Request::Reconfig(_) => reply::error(xid, zxid, ErrorCode::ReconfigDisabled),
            // Writes and auth never reach here; answer rather than panic on a routing slip.
            _ => reply::error(xid, zxid, ErrorCode::SystemError),
        };
        self.replied(conn, zxid, received, false);
        self.send(conn, bytes, true);
    }

    fn multi_read_op(&self, op: &MultiOp, auth: &[corral_jute::Id]) -> MultiResult {
        match op {
            MultiOp::GetChildren(r) => match self.tree.get_children(&r.path, auth) {
                Ok((children, _)) => MultiResult::GetChildren { children },
                Err(e) => MultiResult::Error { err: e.as_i32() },
            },
            MultiOp::GetData(r) => match self.tree.get_data(&r.path, auth) {
                Ok((data, stat)) => MultiResult::GetData {
                    data: data.map(|d| d.to_vec()),
                    stat,
                },
                Err(e) => MultiResult::Error { err: e.as_i32() },
            },
            _ => MultiResult::Error {
                err: ErrorCode::BadArguments.as_i32(),
            },
        }
    }

    /// `setWatches` after a reconnect: fire what changed since the client's last zxid,
    /// register the rest (ZooKeeper's `DataTree.setWatches`).
    fn set_watches(&mut self, conn: ConnId, w: &SetWatches2) {
        let rel = w.relative_zxid;
        let fire = |core: &mut Core, path: &str, event: i32| {
            let mut frame = Vec::with_capacity(32 + path.len());
            encode_event(path, event, &mut frame);
            core.send(conn, frame, false);
        };
        for path in &w.data_watches {
            match self.tree.exists(path) {
                None => fire(self, path, event_type::NODE_DELETED),
                Some(s) if s.mzxid > rel => fire(self, path, event_type::NODE_DATA_CHANGED),
                Some(_) => self.watches.add(conn, path, WatchKind::Data),
            }
        }
        for path in &w.exist_watches {
            match self.tree.exists(path) {
                Some(_) => fire(self, path, event_type::NODE_CREATED),
                None => self.watches.add(conn, path, WatchKind::Data),
            }
        }
        for path in &w.child_watches {
            match self.tree.exists(path) {
                None => fire(self, path, event_type::NODE_DELETED),
                Some(s) if s.pzxid > rel => fire(self, path, event_type::NODE_CHILDREN_CHANGED),
                Some(_) => self.watches.add(conn, path, WatchKind::Child),
            }
        }
        for path in &w.persistent_watches {
            self.watches.add(conn, path, WatchKind::Persistent);
        }
        for path in &w.persistent_recursive_watches {
            self.watches.add(conn, path, WatchKind::PersistentRecursive);
        }
    }
}

/// The name whoAmI reports for an identity: the user part of a digest id.
fn user_name(scheme: &str, id: &str) -> String {
    match scheme {
        "digest" => id.split(':').next().unwrap_or(id).to_string(),
        _ => id.to_string(),
    }
}
