//! The core's part in an ensemble: who expires sessions, who serves, and what happens to
//! writes whose outcome became unknown.
//!
//! - Only the leader expires sessions and removes containers and TTL nodes. Followers and
//!   observers send the ids of sessions they heard from to the leader once a tick; a new
//!   leader gives every session a fresh timeout before it expires any.
//! - A member that stops serving (no quorum, see `ensemble::role`) closes every client
//!   connection, refuses new sessions, and gives up its pending writes' proposer id.
//! - Given-up writes (`CoreMsg::WritesLost`): the connections that waited for them are
//!   closed and their FIFOs dropped; the entries, if they commit after all, are applied like
//!   anyone else's.

use std::time::Instant;

use corral_datatree::{Txn, TxnOp};
use corral_jute::Id;

use super::propose::{Entry, Origin};
use super::reconfig::CONFIG_NODE;
use super::{wall_clock_ms, Core};
use crate::ensemble::members::Member;
use crate::ensemble::reconfig::config_text;
use crate::ensemble::role::{Mode, RoleInfo};

impl Core {
    /// Whether this server expires sessions and reaps nodes: a standalone server or the
    /// leader.
    pub(super) fn leads(&self) -> bool {
        self.ensemble
            .as_ref()
            .is_none_or(|e| e.role.mode == Mode::Leader && e.role.serving)
    }

    /// Whether this server may hand out sessions.
    pub(crate) fn serving(&self) -> bool {
        self.ensemble.as_ref().is_none_or(|e| e.role.serving)
    }

    /// Once a tick: the leader expires sessions; the others send their touches to it.
    pub(super) fn tick(&mut self) {
        if self.leads() {
            self.expire_sessions();
            return;
        }
        if let Some(e) = self.ensemble.as_mut() {
            if !e.touched.is_empty() {
                let ids: Vec<i64> = e.touched.drain().collect();
                let _ = e.touches.send(ids);
            }
        }
    }

    /// Notes that a client of this server was heard from.
    pub(super) fn heard_from(&mut self, session_id: i64, at: Instant) {
        self.tracker.touch(session_id, at);
        if let Some(e) = self.ensemble.as_mut() {
            if e.role.mode != Mode::Leader {
                e.touched.insert(session_id);
            }
        }
    }

    /// Touches sent by another member.
    pub(super) fn touched_elsewhere(&mut self, ids: Vec<i64>) {
        let now = Instant::now();
        for id in ids {
            if self.registry.sessions.get(&id).is_some_and(|s| !s.closing) {
                self.tracker.touch(id, now);
            }
        }
    }

    pub(super) fn role_changed(&mut self, info: RoleInfo) {
        let Some(e) = self.ensemble.as_mut() else {
            return;
        };
        let before = std::mem::replace(&mut e.role, info.clone());
        let now_leading = info.mode == Mode::Leader && info.serving;
        let was_leading = before.mode == Mode::Leader && before.serving;
        if now_leading != was_leading {
            self.forget_unfinished_expiries();
        }
        if now_leading && !was_leading {
            self.stats.leading_since = Some(Instant::now());
            // Sessions were tracked by the old leader: give each its full timeout again.
            let now = Instant::now();
            let sessions: Vec<(i64, u32)> = self
                .registry
                .sessions
                .iter()
                .filter(|(_, s)| !s.closing)
                .map(|(id, s)| (*id, s.timeout_ms))
                .collect();
            tracing::info!(
                sessions = sessions.len(),
                "leading: every session gets a fresh timeout"
            );
            for (id, timeout_ms) in sessions {
                self.tracker.add(id, timeout_ms, now);
            }
            self.publish_first_config();
        }
        if before.serving && !info.serving {
            let conns: Vec<_> = self.registry.conns.keys().copied().collect();
            tracing::warn!(
                "not serving (no quorum): closing {} client connections",
                conns.len()
            );
            for conn in conns {
                self.close_conn(conn);
            }
            self.give_up_writes();
        }
    }

    /// The first leader of an ensemble writes zoo.cfg's `server.N` lines into
    /// `/zookeeper/config` (logged, so every member shows them), as ZooKeeper shows its
    /// configuration there from the start; a reconfig replaces them later.
    fn publish_first_config(&mut self) {
        let empty = self
            .tree
            .node(CONFIG_NODE)
            .is_some_and(|n| n.data().is_none_or(<[u8]>::is_empty));
        if !empty {
            return;
        }
        let lines: Vec<String> = self.cfg.servers.values().map(Member::config_line).collect();
        self.propose(Entry {
            origin: Origin::Internal,
            txn: Txn {
                session_id: 0,
                time_ms: wall_clock_ms(),
                auth: vec![Id::new("super", "")],
                op: TxnOp::SetData {
                    path: CONFIG_NODE.to_string(),
                    data: Some(config_text(&lines, 0)),
                    version: -1,
                },
            },
        });
    }

    /// Gives up the current proposer id (see `submit`).
    fn give_up_writes(&mut self) {
        if let Some(old) = self.log.renew() {
            self.writes_lost(old);
        }
    }

    /// Expiries this member proposed as leader are marked `closing` until their close
    /// commits. Across a change of leadership such a close may never commit: the session
    /// must not stay marked (untracked, untouchable, never expired again, its ephemerals
    /// kept for good). If the close does commit after all, it ends the session then.
    fn forget_unfinished_expiries(&mut self) {
        let mut forgotten = 0;
        for s in self.registry.sessions.values_mut() {
            // A client's own close waits in its FIFO; `writes_lost` answers for those.
            if s.closing && s.fifo.is_empty() {
                s.closing = false;
                forgotten += 1;
            }
        }
        if forgotten > 0 {
            tracing::info!(
                sessions = forgotten,
                "expiries proposed before the leader changed are not committed yet: their \
                 sessions are tracked again"
            );
        }
    }

    /// Drops what waited for entries proposed under `proposer`, closing their connections.
    pub(super) fn writes_lost(&mut self, proposer: u64) {
        let mut affected = Vec::new();
        for (id, s) in &self.registry.sessions {
            if s.fifo.iter().any(|q| q.proposer() == Some(proposer)) {
                affected.push(*id);
            }
        }
        if affected.is_empty() {
            return;
        }
        tracing::info!(
            sessions = affected.len(),
            "writes in flight when the leader changed have an unknown outcome: closing their \
             connections"
        );
        for id in affected {
            let Some(s) = self.registry.sessions.get_mut(&id) else {
                continue;
            };
            s.fifo.clear();
            // A close among them may or may not commit: until one does, the session lives
            // (and expires) as any other.
            s.closing = false;
            // Requests held behind a pending reconfig belong to the connection closed here.
            s.held = None;
            let conn = s.conn.take();
            if self.tree.session(id).is_none() {
                // Its creation was pending: if it commits after all, it is adopted then.
                self.registry.sessions.remove(&id);
            }
            if let Some(conn) = conn {
                if let Some(c) = self.registry.conns.get_mut(&conn) {
                    c.session = None;
                }
                self.close_conn(conn);
            }
        }
    }
}
