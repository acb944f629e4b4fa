//! Handing Txns to the Raft log, and the bytes an entry is logged as.
//!
//! The core hands entries to one proposer task in order; it passes them to Raft in the same
//! order, gathered into batches (one Raft entry each, `corral_raft::batch`) so that
//! concurrent writes share an fsync. Committed entries come back through the state machine's
//! event channel, in log order, each exactly once, each with its own zxid.
//!
//! Logged entry, version 1 (integers little-endian):
//! `version u8 = 1 | proposer u64 | origin u8 (0 internal, 1 client, 2 sync) | session_id i64
//! (client and sync only) | Txn::to_log_bytes (not for sync)`. The proposer is drawn at
//! random when a server process starts (and again when its pending entries are given up,
//! see [`Proposer`]), so only the process that proposed an entry answers it: entries replayed
//! after a restart, or proposed by another member, are applied without an answer.
//!
//! A sync entry changes nothing: in an ensemble a client's `sync` is answered when its own
//! entry comes back through the log, so every write committed before it has been applied
//! here (linearizable; ZooKeeper's sync only flushes the leader's pipeline).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use corral_datatree::Txn;
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

const ENTRY_VERSION: u8 = 1;
const ORIGIN_INTERNAL: u8 = 0;
const ORIGIN_CLIENT: u8 = 1;
const ORIGIN_SYNC: u8 = 2;

/// What a logged item is.
#[derive(Debug, Clone)]
pub enum Logged {
    Txn(Entry),
    /// A client's `sync` barrier.
    Sync {
        session_id: i64,
    },
}

/// The bytes of a sync barrier for `session_id`.
pub fn sync_log_bytes(proposer: u64, session_id: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    out.push(ENTRY_VERSION);
    out.extend_from_slice(&proposer.to_le_bytes());
    out.push(ORIGIN_SYNC);
    out.extend_from_slice(&session_id.to_le_bytes());
    out
}

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

    /// Decodes a logged item: `(proposer, item)`.
    pub fn from_log_bytes(bytes: &[u8]) -> Result<(u64, Logged), String> {
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
            ORIGIN_SYNC => {
                let (session_id, rest) = take_u64(rest)?;
                if !rest.is_empty() {
                    return Err("sync entry with trailing bytes".into());
                }
                let session_id = session_id as i64;
                return Ok((proposer, Logged::Sync { session_id }));
            }
            other => return Err(format!("unknown entry origin {other}")),
        };
        let txn = Txn::from_log_bytes(rest).map_err(|e| format!("bad txn: {e}"))?;
        Ok((proposer, Logged::Txn(Entry { origin, txn })))
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
///
/// The proposer id is a generation: when the fate of proposed entries becomes unknown (the
/// leader they were sent to failed), the proposer task draws a new id and the core drops
/// the waiting markers of the old one (see `submit`). Entries of an old id that commit
/// later are applied like anyone else's, without an answer.
pub struct Proposer {
    id: Arc<AtomicU64>,
    queue: mpsc::UnboundedSender<Vec<u8>>,
}

impl Proposer {
    pub fn new(id: Arc<AtomicU64>, queue: mpsc::UnboundedSender<Vec<u8>>) -> Proposer {
        Proposer { id, queue }
    }

    /// The id entries are proposed under now.
    pub fn id(&self) -> u64 {
        self.id.load(Ordering::Acquire)
    }

    /// Draws a new id; returns the one given up (`None` if it changed meanwhile, then
    /// the proposer task gave it up and tells the core itself).
    pub fn renew(&self) -> Option<u64> {
        let old = self.id();
        let fresh = loop {
            let id: u64 = rand::random();
            if id != old {
                break id;
            }
        };
        self.id
            .compare_exchange(old, fresh, Ordering::AcqRel, Ordering::Acquire)
            .ok()
    }

    /// Queues the entry under proposer id `id` (from [`Proposer::id`]); returns its size in
    /// the log.
    pub fn propose(&mut self, id: u64, entry: Entry) -> usize {
        self.propose_bytes(entry.to_log_bytes(id))
    }

    /// Queues a sync barrier for `session_id` under proposer id `id`.
    pub fn propose_sync(&mut self, id: u64, session_id: i64) -> usize {
        self.propose_bytes(sync_log_bytes(id, session_id))
    }

    fn propose_bytes(&mut self, bytes: Vec<u8>) -> usize {
        let len = bytes.len();
        // The receiver lives until the log fails; the server stops then.
        let _ = self.queue.send(bytes);
        len
    }
}

/// The proposer id inside a logged entry's bytes (see the module header).
pub fn proposer_of(bytes: &[u8]) -> Option<u64> {
    let id = bytes.get(1..9)?;
    Some(u64::from_le_bytes(id.try_into().expect("8 bytes")))
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
            let Logged::Txn(back) = back else {
                panic!("a txn entry decoded as {back:?}")
            };
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
        let sync = sync_log_bytes(9, -3);
        assert_eq!(proposer_of(&sync), Some(9));
        assert!(matches!(
            Entry::from_log_bytes(&sync),
            Ok((9, Logged::Sync { session_id: -3 }))
        ));
        for cut in 0..sync.len() {
            assert!(Entry::from_log_bytes(&sync[..cut]).is_err(), "cut at {cut}");
        }
    }
}
