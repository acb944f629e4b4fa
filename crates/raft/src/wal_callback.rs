//! How raft-log tells the log store that a flush is done.
//!
//! raft-log's flush worker thread calls [`raft_log::Callback::send`] after it has written a
//! batch and, when the flush asked for it, fsynced it. The callback either completes an
//! openraft append (`LogFlushed`) or wakes a store method waiting for its own write
//! (saving a vote, truncating).

use std::io;

use openraft::storage::LogFlushed;
use tokio::sync::oneshot;

use crate::types::TypeConfig;

pub enum WalCallback {
    /// openraft's append callback: the entries up to this append are durable.
    Append(LogFlushed<TypeConfig>),
    /// A store method awaiting its own write.
    Wait(oneshot::Sender<io::Result<()>>),
}

impl raft_log::Callback for WalCallback {
    fn send(self, res: io::Result<()>) {
        match self {
            WalCallback::Append(flushed) => flushed.log_io_completed(res),
            WalCallback::Wait(tx) => {
                // The waiter may have been cancelled (its future dropped); nothing to tell then.
                let _ = tx.send(res);
            }
        }
    }
}
