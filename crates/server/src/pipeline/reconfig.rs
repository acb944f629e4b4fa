//! The core's side of `reconfig` (see `ensemble::reconfig` for the whole path).
//!
//! Checks as ZooKeeper's: `reconfigEnabled`, WRITE permission on `/zookeeper/config` (whose
//! ACL lets only `super` write by default), the expected config version if given. The
//! request keeps its place in the session's FIFO while the leader carries out the change;
//! the session's later requests are held meanwhile, so that none is logged before the new
//! configuration's SetData, whose commit answers the reconfig.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use corral_datatree::{check_acl, Txn, TxnOp};
use corral_jute::perms;
use corral_jute::{ErrorCode, Id, ReconfigRequest};

use super::propose::{Entry, Origin};
use super::reply::ReplyKind;
use super::{wall_clock_ms, Core};
use crate::ensemble::members::Member;
use crate::ensemble::reconfig::{change_between, parse_config_text, parse_servers, Job, Outcome};
use crate::session::Queued;
use crate::watch::ConnId;

pub const CONFIG_NODE: &str = "/zookeeper/config";

impl Core {
    pub(super) fn reconfig_allowed(&self) -> bool {
        self.ensemble.is_some() && self.cfg.reconfig_enabled
    }

    /// The configuration in force and its version: `/zookeeper/config` once a reconfig
    /// wrote it, else zoo.cfg's `server.N` lines (version 0).
    fn current_config(&self) -> Result<(BTreeMap<u64, Member>, i64), String> {
        let data = self
            .tree
            .node(CONFIG_NODE)
            .and_then(|n| n.data().map(|d| d.to_vec()))
            .unwrap_or_default();
        if data.is_empty() {
            let members = self.cfg.servers.clone();
            return Ok((members, 0));
        }
        parse_config_text(&String::from_utf8_lossy(&data))
    }

    pub(super) fn reconfig(
        &mut self,
        conn: ConnId,
        session_id: i64,
        xid: i32,
        r: &ReconfigRequest,
        received: Instant,
    ) {
        let auth = self.registry.conns[&conn].auth.clone();
        let allowed = self
            .tree
            .node(CONFIG_NODE)
            .is_some_and(|n| check_acl(n.acl(), perms::WRITE, &auth));
        if !allowed {
            return self.fail_in_order(session_id, conn, xid, ErrorCode::NoAuth);
        }
        let planned = self.current_config().and_then(|(current, version)| {
            if r.cur_config_id != -1 && r.cur_config_id != version {
                return Err(format!(
                    "expected config version {:x}, it is {version:x}",
                    r.cur_config_id
                ));
            }
            let target = target_config(&current, r)?;
            if target == current {
                return Err("the request changes nothing".into());
            }
            change_between(&current, &target)
        });
        let (change, lines) = match planned {
            Ok(planned) => planned,
            Err(why) => {
                tracing::info!("reconfig refused: {why}");
                let bad_version = why.starts_with("expected config version");
                let err = if bad_version {
                    ErrorCode::BadVersion
                } else {
                    ErrorCode::BadArguments
                };
                return self.fail_in_order(session_id, conn, xid, err);
            }
        };
        let proposer = self.log.id();
        let session = self
            .registry
            .sessions
            .get_mut(&session_id)
            .expect("caller checked");
        session.fifo.push_back(Queued::Write {
            conn,
            xid,
            kind: ReplyKind::Reconfig(Vec::new()),
            received,
            proposer,
        });
        session.held = Some(VecDeque::new());
        if let Some(e) = &self.ensemble {
            let _ = e.reconfigs.send(Job {
                session_id,
                proposer,
                change,
                lines,
            });
        }
    }

    /// The leader decided a session's reconfig.
    pub(super) fn reconfigured(&mut self, session_id: i64, proposer: u64, outcome: Outcome) {
        let Some(session) = self.registry.sessions.get_mut(&session_id) else {
            return;
        };
        let held = session.held.take().unwrap_or_default();
        let at = session.fifo.iter().position(|q| {
            matches!(q, Queued::Write { kind: ReplyKind::Reconfig(_), proposer: p, .. } if *p == proposer)
        });
        match (at, outcome) {
            (None, _) => {} // given up meanwhile (the connection was closed)
            (Some(at), Ok(text)) => {
                if let Some(Queued::Write { kind, .. }) = session.fifo.get_mut(at) {
                    *kind = ReplyKind::Reconfig(text.clone());
                }
                self.propose(Entry {
                    origin: Origin::Client { session_id },
                    txn: Txn {
                        session_id,
                        time_ms: wall_clock_ms(),
                        // The config node is writable by super only; this write is the
                        // server's, on behalf of a request that passed the ACL check.
                        auth: vec![Id::new("super", "")],
                        op: TxnOp::SetData {
                            path: CONFIG_NODE.to_string(),
                            data: Some(text),
                            version: -1,
                        },
                    },
                });
            }
            (Some(at), Err(err)) => {
                if let Some(Queued::Write { conn, xid, .. }) = session.fifo.remove(at) {
                    session.fifo.insert(at, Queued::Failed { conn, xid, err });
                }
                if at == 0 {
                    self.release_reads(session_id);
                }
            }
        }
        for h in held {
            // Only what a live connection of the session still waits for.
            let live = self
                .registry
                .conns
                .get(&h.conn)
                .is_some_and(|c| c.session == Some(session_id));
            if live {
                self.run_request(h.conn, session_id, h.xid, h.req, h.received);
            }
        }
    }
}

/// The configuration a request asks for: `newMembers` whole, or the current one with
/// `leavingServers` (ids) removed and `joiningServers` (`server.N=…` lines) added.
fn target_config(
    current: &BTreeMap<u64, Member>,
    r: &ReconfigRequest,
) -> Result<BTreeMap<u64, Member>, String> {
    if !r.new_members.trim().is_empty() {
        return parse_servers(&r.new_members);
    }
    let mut target = current.clone();
    for id in r
        .leaving_servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let id: u64 = id
            .parse()
            .map_err(|_| format!("'{id}' is not a server id"))?;
        target.remove(&id);
    }
    target.extend(parse_servers(&r.joining_servers)?);
    Ok(target)
}
