//! When to take a snapshot: after a number of txns (not Raft entries, which are batches)
//! drawn anew each time in `[snap_count / 2 + 1, snap_count]`, as ZooKeeper does, so that the
//! members of an ensemble do not all write a snapshot at the same moment.

use rand::Rng;
use tokio::sync::mpsc;

pub struct SnapshotSchedule {
    snap_count: u64,
    threshold: u64,
    since_last: u64,
    requested: bool,
    /// Asks the node to trigger a snapshot.
    request: mpsc::UnboundedSender<()>,
}

impl SnapshotSchedule {
    pub fn new(snap_count: u64, request: mpsc::UnboundedSender<()>) -> SnapshotSchedule {
        let snap_count = snap_count.max(2);
        SnapshotSchedule {
            snap_count,
            threshold: draw(snap_count),
            since_last: 0,
            requested: false,
            request,
        }
    }

    /// Counts applied txns; asks for a snapshot once the threshold is reached.
    pub fn applied(&mut self, txns: usize) {
        self.since_last += txns as u64;
        if self.since_last >= self.threshold && !self.requested {
            self.requested = self.request.send(()).is_ok();
        }
    }

    /// A snapshot is being built at the current state: start counting again.
    pub fn snapshot_started(&mut self) {
        self.since_last = 0;
        self.requested = false;
        self.threshold = draw(self.snap_count);
    }
}

fn draw(snap_count: u64) -> u64 {
    let half = snap_count / 2;
    half + 1 + rand::thread_rng().gen_range(0..snap_count - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_once_within_the_range_and_again_after_a_snapshot() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut s = SnapshotSchedule::new(10, tx);
        for _ in 0..5 {
            s.applied(1);
        }
        assert!(rx.try_recv().is_err(), "not before snap_count / 2 + 1");
        for _ in 0..20 {
            s.applied(1);
        }
        assert!(rx.try_recv().is_ok());
        assert!(
            rx.try_recv().is_err(),
            "asked once until the snapshot starts"
        );
        s.snapshot_started();
        s.applied(10);
        assert!(rx.try_recv().is_ok());
        for _ in 0..1000 {
            let t = draw(10);
            assert!((6..=10).contains(&t), "{t}");
        }
    }
}
