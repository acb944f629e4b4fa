//! Session deadlines: when each live session expires unless the client is heard from.
//!
//! Deadlines are rounded up to the next tick, as ZooKeeper's expiry buckets are, so a
//! session expires no earlier than its timeout and at most one tick later.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct SessionTracker {
    tick: Duration,
    start: Instant,
    deadlines: HashMap<i64, (Instant, Duration)>,
}

impl SessionTracker {
    pub fn new(tick_ms: u32) -> SessionTracker {
        SessionTracker {
            tick: Duration::from_millis(tick_ms.max(1) as u64),
            start: Instant::now(),
            deadlines: HashMap::new(),
        }
    }

    fn round_up(&self, t: Instant) -> Instant {
        let since = t.duration_since(self.start).as_nanos();
        let tick = self.tick.as_nanos();
        let ticks = since.div_ceil(tick);
        self.start + Duration::from_nanos((ticks * tick) as u64)
    }

    pub fn add(&mut self, id: i64, timeout_ms: u32, now: Instant) {
        let timeout = Duration::from_millis(timeout_ms as u64);
        self.deadlines
            .insert(id, (self.round_up(now + timeout), timeout));
    }

    /// Pushes a live session's deadline out; false if the session is not tracked.
    pub fn touch(&mut self, id: i64, now: Instant) -> bool {
        let Some(&(_, timeout)) = self.deadlines.get(&id) else {
            return false;
        };
        let deadline = self.round_up(now + timeout);
        self.deadlines.insert(id, (deadline, timeout));
        true
    }

    pub fn remove(&mut self, id: i64) {
        self.deadlines.remove(&id);
    }

    /// When a session expires unless heard from (for `dump`).
    pub fn deadline(&self, id: i64) -> Option<Instant> {
        self.deadlines.get(&id).map(|(d, _)| *d)
    }

    /// Sessions whose deadline has passed; they stay tracked until `remove`.
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(_, (d, _))| *d <= now)
            .map(|(id, _)| *id)
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_timeout_not_before() {
        let mut t = SessionTracker::new(100);
        let now = Instant::now();
        t.add(1, 1000, now);
        assert!(t.expired(now + Duration::from_millis(999)).is_empty());
        assert_eq!(t.expired(now + Duration::from_millis(1101)), vec![1]);
    }

    #[test]
    fn touch_postpones_expiry() {
        let mut t = SessionTracker::new(100);
        let now = Instant::now();
        t.add(1, 1000, now);
        assert!(t.touch(1, now + Duration::from_millis(800)));
        assert!(t.expired(now + Duration::from_millis(1500)).is_empty());
        assert!(!t.touch(2, now));
    }
}
