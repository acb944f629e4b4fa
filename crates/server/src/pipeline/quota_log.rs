//! The log lines of quota checks (`Quota exceeded: /a [current count=5, hardCountLimit=4]`),
//! written by the member that answers the write, as ZooKeeper's prep writes them through its
//! `RateLogger`. A client that keeps hitting a limit must not flood the log, so at most
//! `MAX_LINES_PER_WINDOW` lines are written per `WINDOW`; the rest are counted and the count
//! is logged with the next line written.

use std::time::{Duration, Instant};

use corral_datatree::QuotaExceeded;

const WINDOW: Duration = Duration::from_secs(1);
const MAX_LINES_PER_WINDOW: u32 = 10;

#[derive(Default)]
pub(crate) struct QuotaLog {
    window_start: Option<Instant>,
    lines_in_window: u32,
    suppressed: u64,
}

impl QuotaLog {
    pub(crate) fn log(&mut self, note: &QuotaExceeded, now: Instant) {
        let fresh = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= WINDOW);
        if fresh {
            self.window_start = Some(now);
            self.lines_in_window = 0;
        }
        if self.lines_in_window >= MAX_LINES_PER_WINDOW {
            self.suppressed += 1;
            return;
        }
        self.lines_in_window += 1;
        let suppressed = std::mem::take(&mut self.suppressed);
        if suppressed > 0 {
            tracing::warn!(
                "{} ({suppressed} more quota lines suppressed)",
                note.message
            );
        } else {
            tracing::warn!("{}", note.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_a_window_of_lines() {
        let note = QuotaExceeded {
            message: "Quota exceeded: /a".into(),
            hard: true,
            namespace: Some("a".into()),
        };
        let mut log = QuotaLog::default();
        let t0 = Instant::now();
        for _ in 0..25 {
            log.log(&note, t0);
        }
        assert_eq!((log.lines_in_window, log.suppressed), (10, 15));
        log.log(&note, t0 + WINDOW);
        assert_eq!((log.lines_in_window, log.suppressed), (1, 0));
    }
}
