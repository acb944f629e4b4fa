//! Commit: apply each committed entry to the tree in log order, fire the watches it
//! triggers, answer the request if it came from this server, then release the reads that
//! were waiting behind it in the same session.

use std::time::Instant;

use corral_datatree::{OpResult, Txn, TxnOp};

use super::propose::{Committed, Entry, Origin};
use super::reply;
use super::{wall_clock_ms, Core};
use crate::session::Queued;
use crate::watch::event::encode_event;

impl Core {
    pub(super) fn commit(&mut self, c: Committed) {
        let Committed { zxid, entry } = c;
        let applied = self.tree.apply(zxid, &entry.txn);
        for t in &applied.triggers {
            for fired in self.watches.trigger(t) {
                let mut frame = Vec::with_capacity(32 + fired.path.len());
                encode_event(&fired.path, fired.event, &mut frame);
                self.send(fired.conn, frame, false);
            }
        }
        let session_id = entry.txn.session_id;
        if let TxnOp::DeleteContainer { path } = &entry.txn.op {
            self.removals_in_flight.remove(path);
        }
        if let Origin::Client { session_id } = entry.origin {
            self.answer_front(session_id, zxid, &applied);
        }
        if matches!(entry.txn.op, TxnOp::CloseSession) {
            self.end_session(session_id);
        }
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
            }) => {
                let bytes =
                    reply::write_result(xid, zxid, &kind, &applied.result, &applied.multi_failure);
                self.replied(conn, zxid, received);
                self.send(conn, bytes, true);
            }
            Some(Queued::Connect { conn, .. }) => {
                let ok = matches!(applied.result, Ok(OpResult::SessionCreated));
                self.session_created(conn, session_id, ok);
            }
            other => {
                // Commits arrive in proposal order, and every proposal of a session pushed
                // its marker when proposed: anything else at the front is a broken invariant.
                panic!(
                    "session {session_id:#x}: committed zxid {zxid:#x} found {} at its FIFO front",
                    if other.is_some() { "a read" } else { "nothing" }
                );
            }
        }
        self.release_reads(session_id);
    }

    /// Answers queued reads of a session until the next uncommitted write.
    fn release_reads(&mut self, session_id: i64) {
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
    fn end_session(&mut self, session_id: i64) {
        self.tracker.remove(session_id);
        if let Some(session) = self.registry.sessions.remove(&session_id) {
            if let Some(conn) = session.conn {
                if let Some(c) = self.registry.conns.get_mut(&conn) {
                    c.session = None;
                }
                self.close_conn(conn);
            }
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
            self.log.propose(Entry {
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
            self.log.propose(Entry {
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
