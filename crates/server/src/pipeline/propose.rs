//! Handing Txns to the Raft log, and the bytes an entry is logged as.
//!
//! The core hands entries to one proposer task in order; it passes them to Raft in the same
//! order, gathered into batches (one Raft entry each, `corral_raft::batch`) so that
//! concurrent writes share an fsync. Committed entries come back through the state machine's
//! event channel, in log order, each exactly once, each with its own zxid.
//!
//! Logged entry, version 1 (integers little-endian):
//! `version u8 = 1 | proposer u64 | origin u8 (0 internal, 1 client) | session_id i64 (client
//! only) | Txn::to_log_bytes`. The proposer is drawn at random when a server process starts, so
//! only the process that proposed an entry answers it: entries replayed after a restart (or,
//! in ensembles, proposed by another member) are applied without an answer.

use corral_datatree::Txn;
use std::collections::VecDeque;

use corral_raft::node::Applied;
use corral_raft::RaftNode;
use tokio::sync::mpsc;

/// Where a logged Txn came from, so the server that received it can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client request waiting at the front of its session's FIFO on the proposing server.
    Client { session_id: i64 },
    /// The server's own work: session expiry, container and TTL removal.
    Internal,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub origin: Origin,
    pub txn: Txn,
}

pub struct Committed {
    pub zxid: i64,
    /// The process that proposed the entry.
    pub proposer: u64,
    pub entry: Entry,
}

/// Batches handed to Raft and not yet applied. Two: one being fsynced while the next waits
/// its turn in openraft, so the disk is never idle under load.
const MAX_BATCHES_IN_FLIGHT: usize = 2;
/// Bounds on one batch (one Raft entry, one raft-log record).
const MAX_BATCH_ENTRIES: usize = 4096;
const MAX_BATCH_BYTES: usize = 4 << 20;

const ENTRY_VERSION: u8 = 1;
const ORIGIN_INTERNAL: u8 = 0;
const ORIGIN_CLIENT: u8 = 1;

impl Entry {
    pub fn to_log_bytes(&self, proposer: u64) -> Vec<u8> {
        let txn = self.txn.to_log_bytes();
        let mut out = Vec::with_capacity(18 + txn.len());
        out.push(ENTRY_VERSION);
        out.extend_from_slice(&proposer.to_le_bytes());
        match self.origin {
            Origin::Internal => out.push(ORIGIN_INTERNAL),
            Origin::Client { session_id } => {
                out.push(ORIGIN_CLIENT);
                out.extend_from_slice(&session_id.to_le_bytes());
            }
        }
        out.extend_from_slice(&txn);
        out
    }

    /// Decodes a logged entry: `(proposer, entry)`.
    pub fn from_log_bytes(bytes: &[u8]) -> Result<(u64, Entry), String> {
        let (&version, rest) = bytes.split_first().ok_or("empty entry")?;
        if version != ENTRY_VERSION {
            return Err(format!("unknown entry version {version}"));
        }
        let (proposer, rest) = take_u64(rest)?;
        let (&origin, rest) = rest.split_first().ok_or("entry ends before its origin")?;
        let (origin, rest) = match origin {
            ORIGIN_INTERNAL => (Origin::Internal, rest),
            ORIGIN_CLIENT => {
                let (session_id, rest) = take_u64(rest)?;
                let session_id = session_id as i64;
                (Origin::Client { session_id }, rest)
            }
            other => return Err(format!("unknown entry origin {other}")),
        };
        let txn = Txn::from_log_bytes(rest).map_err(|e| format!("bad txn: {e}"))?;
        Ok((proposer, Entry { origin, txn }))
    }
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    if bytes.len() < 8 {
        return Err("entry ends inside a number".into());
    }
    let (n, rest) = bytes.split_at(8);
    Ok((u64::from_le_bytes(n.try_into().expect("8 bytes")), rest))
}

/// The core's end of the log: encodes entries and queues them for the proposer task.
pub struct Proposer {
    /// This process's proposer id (see the module header).
    pub id: u64,
    queue: mpsc::UnboundedSender<Vec<u8>>,
}

impl Proposer {
    pub fn new(id: u64, queue: mpsc::UnboundedSender<Vec<u8>>) -> Proposer {
        Proposer { id, queue }
    }

    /// Queues the entry; returns its size in the log.
    pub fn propose(&mut self, entry: Entry) -> usize {
        let bytes = entry.to_log_bytes(self.id);
        let len = bytes.len();
        // The receiver lives until the log fails; the server stops then.
        let _ = self.queue.send(bytes);
        len
    }
}

/// The proposer task: passes queued entries to Raft in order, as batches (group commit).
/// While `MAX_BATCHES_IN_FLIGHT` batches are being logged it waits for the oldest, and the
/// entries queued meanwhile form the next batch: under load one fsync covers many writes, and
/// a lone write still goes out at once. Returns when Raft stops, which only a storage failure
/// causes in a running server (`RaftNode::stopped` tells the server).
pub async fn run_proposer(node: RaftNode, mut queue: mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut in_flight = VecDeque::new();
    loop {
        while in_flight.len() >= MAX_BATCHES_IN_FLIGHT {
            let oldest: Applied = in_flight.pop_front().expect("non-empty");
            if let Err(why) = oldest.wait().await {
                tracing::warn!("a proposed batch was not applied: {why}");
            }
        }
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut bytes = first.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_ENTRIES && bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(next) => {
                    bytes += next.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        match node.propose(&batch).await {
            Ok(applied) => in_flight.push_back(applied),
            Err(e) => {
                tracing::warn!("cannot propose: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_datatree::TxnOp;

    #[test]
    fn entries_round_trip_and_damage_is_refused() {
        for origin in [Origin::Internal, Origin::Client { session_id: -7 }] {
            let entry = Entry {
                origin,
                txn: Txn {
                    session_id: 42,
                    time_ms: 1_700_000_000_000,
                    auth: vec![],
                    op: TxnOp::CloseSession,
                },
            };
            let bytes = entry.to_log_bytes(0xfeed);
            let (proposer, back) = Entry::from_log_bytes(&bytes).unwrap();
            assert_eq!(proposer, 0xfeed);
            assert_eq!(back.origin, origin);
            assert_eq!(back.txn.to_log_bytes(), entry.txn.to_log_bytes());
            for cut in 0..bytes.len() {
                assert!(
                    Entry::from_log_bytes(&bytes[..cut]).is_err(),
                    "cut at {cut}"
                );
            }
        }
        assert!(Entry::from_log_bytes(&[2, 0, 0]).is_err());
    }
}
