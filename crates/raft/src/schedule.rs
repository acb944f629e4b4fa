//! When to take a snapshot: after a number of txns (not Raft entries, which are batches)
//! drawn anew each time in `[snap_count / 2 + 1, snap_count]`, as ZooKeeper does, so that the
//! members of an ensemble do not all write a snapshot at the same moment.

use rand::Rng;
use tokio::sync::mpsc;

pub struct SnapshotSchedule {
    snap_count: u64,
    since_last: u64,
    /// The count at which to ask (again) for a snapshot.
    next_ask: u64,
    /// Asks the node to trigger a snapshot.
    request: mpsc::UnboundedSender<()>,
}

impl SnapshotSchedule {
    pub fn new(snap_count: u64, request: mpsc::UnboundedSender<()>) -> SnapshotSchedule {
        let snap_count = snap_count.max(2);
        SnapshotSchedule {
            snap_count,
            since_last: 0,
            next_ask: draw(snap_count),
            request,
        }
    }

    /// Counts applied txns; asks for a snapshot once the drawn threshold is reached, and
    /// again after each further `snap_count` txns until one starts: openraft drops a request
    /// that arrives while the previous snapshot is still being written (under a steady write
    /// load, that previous one can take longer than the next threshold), and asking once
    /// would then have stopped snapshots for good.
    pub fn applied(&mut self, txns: usize) {
        self.since_last += txns as u64;
        if self.since_last >= self.next_ask {
            self.next_ask = self.since_last + self.snap_count;
            let _ = self.request.send(());
        }
    }

    /// A snapshot is being built at the current state: start counting again.
    pub fn snapshot_started(&mut self) {
        self.since_last = 0;
        self.next_ask = draw(self.snap_count);
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
    fn asks_within_the_range_again_if_dropped_and_anew_after_a_snapshot() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut s = SnapshotSchedule::new(10, tx);
        for _ in 0..5 {
            s.applied(1);
        }
        assert!(rx.try_recv().is_err(), "not before snap_count / 2 + 1");
        let mut applied = 5;
        while rx.try_recv().is_err() {
            assert!(applied < 10, "asked by snap_count");
            s.applied(1);
            applied += 1;
        }
        for _ in 0..9 {
            s.applied(1);
        }
        assert!(
            rx.try_recv().is_err(),
            "asked once while snap_count more txns go by"
        );
        // No snapshot started (openraft dropped the request while it was still writing the
        // previous one): after snap_count more txns it is asked again.
        s.applied(1);
        assert!(rx.try_recv().is_ok(), "a dropped request is asked again");
        s.snapshot_started();
        s.applied(5);
        assert!(rx.try_recv().is_err(), "counting starts over");
        s.applied(5);
        assert!(rx.try_recv().is_ok());
        for _ in 0..1000 {
            let t = draw(10);
            assert!((6..=10).contains(&t), "{t}");
        }
    }
}
