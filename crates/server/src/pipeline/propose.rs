//! Handing Txns to the log. Until the Raft log lands (see ARCHITECTURE.md, roadmap step 2)
//! the log is in memory: an entry is committed as soon as it is appended, and committed
//! entries come back to the core through the same channel a replicated log will use.
//!
//! Contract of a log: entries commit in the order they were proposed, each exactly once, with
//! strictly increasing indexes; the index is the entry's zxid.

use corral_datatree::Txn;
use tokio::sync::mpsc;

/// Where a logged Txn came from, so the server that received it can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client request waiting at the front of its session's FIFO on this server.
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
    pub entry: Entry,
}

/// The in-memory log: commits everything it is given, in order.
pub struct MemoryLog {
    last_index: i64,
    committed: mpsc::UnboundedSender<Committed>,
}

impl MemoryLog {
    pub fn new(last_index: i64) -> (MemoryLog, mpsc::UnboundedReceiver<Committed>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            MemoryLog {
                last_index,
                committed: tx,
            },
            rx,
        )
    }

    pub fn propose(&mut self, entry: Entry) {
        self.last_index += 1;
        // The receiver lives as long as the core that owns this log.
        let _ = self.committed.send(Committed {
            zxid: self.last_index,
            entry,
        });
    }
}
