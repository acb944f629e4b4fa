//! Commit: apply each committed entry to the tree in log order, fire the watches it
//! triggers, answer the request if this process proposed it, then release the reads that
//! were waiting behind it in the same session. Sessions created elsewhere (replayed after a
//! restart, or proposed by another member) are adopted with a fresh timeout.

use std::time::Instant;

use corral_datatree::{EventKind, OpResult, Txn, TxnOp};
use corral_raft::SmEvent;

use super::propose::{Committed, Entry, Logged, Origin};
use super::reply;
use super::{wall_clock_ms, Core};
use crate::session::Queued;
use crate::watch::event::encode_event;

impl Core {
    /// What the Raft state machine hands over, in log order.
    pub(super) fn state_machine_event(&mut self, event: SmEvent) {
        match event {
            SmEvent::Apply { zxid, payload } => match Entry::from_log_bytes(&payload) {
                Ok((proposer, Logged::Txn(entry))) => self.commit(Committed {
                    zxid: zxid as i64,
                    proposer,
                    entry,
                }),
                Ok((proposer, Logged::Sync { session_id })) => {
                    if self.front_is_ours(session_id, proposer) {
                        let zxid = self.tree.last_zxid();
                        // A sync changes nothing; only its reply kind matters.
                        let applied = corral_datatree::Applied {
                            zxid,
                            result: Ok(corral_datatree::OpResult::Checked),
                            multi_failure: vec![],
                            triggers: vec![],
                            quota_exceeded: vec![],
                        };
                        self.answer_front(session_id, zxid, &applied);
                    }
                }
                Err(why) => {
                    // raft-log checksums every record, so this is not a torn write but a log
                    // this build cannot read. Skipping it would silently drop committed data.
                    tracing::error!(
                        "committed log entry at index {zxid} is unreadable ({why}); stopping"
                    );
                    std::process::exit(70);
                }
            },
            SmEvent::Snapshot { reply } => {
                // Cheap: the node map is persistent; the builder encodes it off this task.
                let _ = reply.send(self.tree.clone());
            }
            SmEvent::Install { path, reply } => {
                let _ = reply.send(self.install_snapshot(&path));
            }
        }
    }

    /// ZooKeeper's `write_per_namespace`: each node created, changed or deleted.
    fn count_writes(&self, op: &TxnOp) {
        match op {
            TxnOp::Create { path, data, .. } | TxnOp::SetData { path, data, .. } => self
                .metrics
                .write_in_namespace(path, data.as_ref().map_or(0, Vec::len)),
            TxnOp::Delete { path, .. } | TxnOp::DeleteContainer { path } => {
                self.metrics.write_in_namespace(path, 0)
            }
            TxnOp::Multi(ops) => ops.iter().for_each(|op| self.count_writes(op)),
            _ => {}
        }
    }

    pub(super) fn commit(&mut self, c: Committed) {
        let Committed {
            zxid,
            proposer,
            entry,
        } = c;
        let applied = self.tree.apply(zxid, &entry.txn);
        if applied.result.is_ok() {
            self.count_writes(&entry.txn.op);
        }
        for t in &applied.triggers {
            let fired = self.watches.trigger(t);
            if !fired.is_empty() {
                // ZooKeeper's `WatchManager.triggerWatch`: watchers fired per event kind.
                let summary = match t.kind {
                    EventKind::NodeCreated => "node_created_watch_count",
                    EventKind::NodeDeleted => "node_deleted_watch_count",
                    EventKind::NodeDataChanged => "node_changed_watch_count",
                    EventKind::NodeChildrenChanged => "node_children_watch_count",
                };
                self.metrics.observe(summary, fired.len() as u64);
            }
            for fired in fired {
                let mut frame = Vec::with_capacity(32 + fired.path.len());
                encode_event(&fired.path, fired.event, &mut frame);
                self.send(fired.conn, frame, false);
            }
        }
        let session_id = entry.txn.session_id;
        if let TxnOp::DeleteContainer { path } = &entry.txn.op {
            self.removals_in_flight.remove(path);
        }
        match entry.origin {
            Origin::Client { session_id } if self.front_is_ours(session_id, proposer) => {
                self.note_quota(&applied);
                self.answer_front(session_id, zxid, &applied)
            }
            _ if matches!(entry.txn.op, TxnOp::CreateSession { .. }) => {
                self.adopt_session(session_id)
            }
            _ => {}
        }
        if matches!(entry.txn.op, TxnOp::CloseSession) {
            self.end_session(session_id);
        }
    }

    /// Quota limits the write passed: logged, and the refusals counted per namespace
    /// (`quota_exceeded_error_per_namespace`), on the member that answers it.
    fn note_quota(&mut self, applied: &corral_datatree::Applied) {
        let now = Instant::now();
        for note in &applied.quota_exceeded {
            self.quota_log.log(note, now);
            if let (true, Some(ns)) = (note.hard, &note.namespace) {
                self.metrics.quota_exceeded_in(ns);
            }
        }
    }

    /// Whether the session's FIFO waits, at its front, for an entry proposed here under
    /// `proposer`. Entries proposed elsewhere, by an earlier process, or under a proposer
    /// id given up since (see `submit`) find no such marker and are applied silently.
    fn front_is_ours(&self, session_id: i64, proposer: u64) -> bool {
        self.registry
            .sessions
            .get(&session_id)
            .and_then(|s| s.fifo.front())
            .and_then(Queued::proposer)
            == Some(proposer)
    }

    /// Answers the write at the front of the session's FIFO, then the reads behind it.
    fn answer_front(&mut self, session_id: i64, zxid: i64, applied: &corral_datatree::Applied) {
        let Some(session) = self.registry.sessions.get_mut(&session_id) else {
            return;
        };
        match session.fifo.pop_front() {
            Some(Queued::Write {
                conn,
                xid,
                kind,
                received,
                ..
            }) => {
                let bytes =
                    reply::write_result(xid, zxid, &kind, &applied.result, &applied.multi_failure);
                self.replied(conn, zxid, received, true);
                self.send(conn, bytes, true);
            }
            Some(Queued::Connect { conn, .. }) => {
                let ok = matches!(applied.result, Ok(OpResult::SessionCreated));
                self.session_created(conn, session_id, ok);
            }
            other => {
                // Callers checked the front is a marker of this entry's proposer id.
                panic!(
                    "session {session_id:#x}: committed zxid {zxid:#x} found {} at its FIFO front",
                    if other.is_some() { "a read" } else { "nothing" }
                );
            }
        }
        self.release_reads(session_id);
    }

    /// Answers queued reads of a session until the next uncommitted write.
    pub(super) fn release_reads(&mut self, session_id: i64) {
        loop {
            let Some(session) = self.registry.sessions.get_mut(&session_id) else {
                return;
            };
            match session.fifo.front() {
                Some(Queued::Read { .. } | Queued::Failed { .. }) => {}
                _ => return,
            }
            let item = session.fifo.pop_front().expect("front checked");
            self.answer_queued(session_id, item);
        }
    }

    /// Answers a read or a refused request taken from (or never put in) the FIFO.
    pub(super) fn answer_queued(&mut self, session_id: i64, item: Queued) {
        match item {
            Queued::Read {
                conn,
                xid,
                req,
                received,
            } => self.run_read(conn, session_id, xid, &req, received),
            Queued::Failed { conn, xid, err } => {
                let zxid = self.tree.last_zxid();
                self.send(conn, reply::error(xid, zxid, err), true);
            }
            Queued::Write { .. } | Queued::Connect { .. } => {
                unreachable!("writes are answered by commit")
            }
        }
    }

    /// A closed session: forget it and close its connection.
    pub(super) fn end_session(&mut self, session_id: i64) {
        self.tracker.remove(session_id);
        let conn = self
            .registry
            .sessions
            .remove(&session_id)
            .and_then(|s| s.conn);
        match conn.and_then(|conn| self.registry.conns.get_mut(&conn)) {
            Some(c) => {
                c.session = None;
                let peer = c.peer();
                tracing::info!(
                    "session {session_id:#x} closed; closing its connection from {peer}"
                );
            }
            None => tracing::info!("session {session_id:#x} closed"),
        }
        if let Some(conn) = conn {
            self.close_conn(conn);
        }
    }

    /// Proposes closing every session whose deadline passed.
    pub(super) fn expire_sessions(&mut self) {
        let now = Instant::now();
        for session_id in self.tracker.expired(now) {
            if let Some(s) = self.registry.sessions.get_mut(&session_id) {
                if s.closing {
                    continue;
                }
                s.closing = true;
            }
            tracing::info!("expiring session {session_id:#x}");
            self.tracker.remove(session_id);
            self.propose(Entry {
                origin: Origin::Internal,
                txn: Txn {
                    session_id,
                    time_ms: wall_clock_ms(),
                    auth: vec![],
                    op: TxnOp::CloseSession,
                },
            });
        }
    }

    /// Proposes removing empty containers and expired TTL nodes (ZooKeeper's ContainerManager).
    pub(super) fn remove_expired_nodes(&mut self) {
        let now_ms = wall_clock_ms();
        for path in self.tree.expirable_nodes(now_ms) {
            if !self.removals_in_flight.insert(path.clone()) {
                continue;
            }
            self.propose(Entry {
                origin: Origin::Internal,
                txn: Txn {
                    session_id: 0,
                    time_ms: now_ms,
                    auth: vec![],
                    op: TxnOp::DeleteContainer { path },
                },
            });
        }
    }
}
