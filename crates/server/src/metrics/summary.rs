//! A summary metric: count and sum for all time (Prometheus), min/max/count/sum since the
//! last `srst` (`mntr`, as ZooKeeper's `AvgMinMaxCounter`), and quantiles over the most recent
//! [`WINDOW_SAMPLES`] observations (ZooKeeper's providers use a sliding window too): all of
//! them for Prometheus, those since the reset for `mntr`.

use std::collections::VecDeque;

/// Observations kept for quantiles.
pub const WINDOW_SAMPLES: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Since the process started: Prometheus' `_count` and `_sum` never go back.
    pub count_total: u64,
    pub sum_total: u64,
    /// Since the last reset: `mntr`'s `cnt_`, `sum_`, `min_`, `max_`.
    pub count: u64,
    pub sum: u64,
    min: Option<u64>,
    max: u64,
    window: VecDeque<u64>,
}

impl Summary {
    pub fn observe(&mut self, value: u64) {
        self.count_total += 1;
        self.sum_total = self.sum_total.saturating_add(value);
        self.count += 1;
        self.sum = self.sum.saturating_add(value);
        self.min = Some(self.min.map_or(value, |m| m.min(value)));
        self.max = self.max.max(value);
        if self.window.len() == WINDOW_SAMPLES {
            self.window.pop_front();
        }
        self.window.push_back(value);
    }

    /// `srst`: what `mntr` shows starts over; Prometheus' totals and quantiles go on.
    pub fn reset(&mut self) {
        self.count = 0;
        self.sum = 0;
        self.min = None;
        self.max = 0;
    }

    /// Nothing observed yet (Prometheus' quantiles are then `NaN`).
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    pub fn min(&self) -> u64 {
        self.min.unwrap_or(0)
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The average since the reset, rounded to 4 decimals as ZooKeeper's `AvgMinMaxCounter`.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        (self.sum as f64 / self.count as f64 * 10_000.0).round() / 10_000.0
    }

    /// The `q` quantile (0..=1) of the window, nearest rank; 0 when empty (Prometheus').
    pub fn quantile(&self, q: f64) -> u64 {
        self.quantile_of_last(q, self.window.len())
    }

    /// The `q` quantile of the window's observations since the reset (`mntr`'s).
    pub fn quantile_since_reset(&self, q: f64) -> u64 {
        self.quantile_of_last(q, self.count.min(self.window.len() as u64) as usize)
    }

    fn quantile_of_last(&self, q: f64, n: usize) -> u64 {
        if n == 0 {
            return 0;
        }
        let skip = self.window.len() - n;
        let mut sorted: Vec<u64> = self.window.iter().skip(skip).copied().collect();
        sorted.sort_unstable();
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_totals_across_a_reset_and_rounds_the_average() {
        let mut s = Summary::default();
        for v in [1, 2, 2] {
            s.observe(v);
        }
        assert_eq!((s.min(), s.max(), s.count, s.sum), (1, 2, 3, 5));
        assert_eq!(s.avg(), 1.6667);
        assert_eq!(s.quantile(0.5), 2);
        assert_eq!(s.quantile(0.0), 1);
        s.reset();
        assert_eq!((s.min(), s.max(), s.count, s.avg()), (0, 0, 0, 0.0));
        assert_eq!((s.count_total, s.sum_total), (3, 5));
        assert_eq!(s.quantile_since_reset(0.99), 0);
        assert_eq!(s.quantile(0.99), 2, "Prometheus' quantiles survive a reset");
        s.observe(7);
        assert_eq!(s.quantile_since_reset(0.0), 7);
        assert_eq!(s.quantile(0.0), 1);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut s = Summary::default();
        for v in 0..(WINDOW_SAMPLES as u64 * 2) {
            s.observe(v);
        }
        assert_eq!(s.quantile(0.0), WINDOW_SAMPLES as u64);
        assert_eq!(s.count, WINDOW_SAMPLES as u64 * 2);
    }
}
