//! How raft-log tells the log store that a flush is done.
//!
//! raft-log's flush worker thread calls [`raft_log::Callback::send`] after it has written a
//! batch and, when the flush asked for it, fsynced it. The callback either completes an
//! openraft append (`LogFlushed`) or wakes a store method waiting for its own write
//! (saving a vote, truncating).

use std::io;
use std::time::Instant;

use openraft::storage::LogFlushed;
use tokio::sync::oneshot;

use crate::timings::{Timing, Timings};
use crate::types::TypeConfig;

pub enum WalCallback {
    /// openraft's append callback: the entries up to this append are durable. With the time
    /// the append asked for a synced flush, to report its duration.
    Append(LogFlushed<TypeConfig>, Option<(Instant, Timings)>),
    /// A store method awaiting its own write.
    Wait(oneshot::Sender<io::Result<()>>),
}

impl raft_log::Callback for WalCallback {
    fn send(self, res: io::Result<()>) {
        match self {
            WalCallback::Append(flushed, timed) => {
                if let (Some((began, timings)), Ok(())) = (timed, &res) {
                    timings.record(Timing::Fsync, began.elapsed());
                }
                flushed.log_io_completed(res)
            }
            WalCallback::Wait(tx) => {
                // The waiter may have been cancelled (its future dropped); nothing to tell then.
                let _ = tx.send(res);
            }
        }
    }
}
