//! Durations the raft layer measures for the server's metrics: each log fsync (ZooKeeper's
//! `fsynctime`) and each snapshot file written (`snapshottime`). The server hands in what to
//! do with them; the raft layer knows nothing of metrics.

use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// A synced flush of the log, from the append to raft-log's callback.
    Fsync,
    /// A snapshot file encoded, written and fsynced.
    Snapshot,
}

type Sink = Arc<dyn Fn(Timing, Duration) + Send + Sync>;

/// Where measured durations go; the default drops them.
#[derive(Clone, Default)]
pub struct Timings(Option<Sink>);

impl Timings {
    pub fn new(sink: impl Fn(Timing, Duration) + Send + Sync + 'static) -> Timings {
        Timings(Some(Arc::new(sink)))
    }

    pub fn record(&self, what: Timing, took: Duration) {
        if let Some(sink) = &self.0 {
            sink(what, took);
        }
    }
}

impl std::fmt::Debug for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Timings(recorded)"
        } else {
            "Timings(dropped)"
        })
    }
}
