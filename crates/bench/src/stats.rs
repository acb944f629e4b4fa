//! Counting a run: a latency histogram and error counts per worker, merged at the end into a
//! [`Summary`] printed as a table row and as one JSON line.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency the histogram tells apart, in microseconds; slower requests count as this.
const MAX_LATENCY_US: u64 = 60_000_000;
/// Three significant digits: a percentile is off by at most 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// What one worker saw: the latency of every request answered without error, and the errors.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency_us: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS)
                .expect("valid histogram bounds"),
            errors: BTreeMap::new(),
        }
    }
}

impl Recorder {
    pub fn ok(&mut self, took: Duration) {
        let us = took.as_micros().min(u64::MAX as u128) as u64;
        self.latency_us.saturating_record(us.max(1));
    }

    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: adding cannot fail.
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms of equal bounds");
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
    }

    /// The figures of a run that measured for `elapsed`.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let h = &self.latency_us;
        let ops = h.len();
        let secs = elapsed.as_secs_f64();
        Summary {
            ops,
            seconds: secs,
            ops_per_s: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            errors: self.errors.values().sum(),
            errors_by_kind: self.errors.clone(),
        }
    }
}

/// A run's figures. Latencies are of requests answered without error; `ops` counts those.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub ops: u64,
    pub seconds: f64,
    pub ops_per_s: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
}

/// What was run, for the table and the JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub workload: String,
    pub servers: String,
    pub clients: usize,
    pub depth: usize,
    pub value_size: usize,
    /// Creates per request (a `multi` when more than one).
    pub batch: usize,
}

pub const TABLE_HEADER: &str =
    "workload       clients  depth        ops/s   p50 ms   p99 ms p99.9 ms   max ms        ops  errors";

pub fn table_row(l: &Label, s: &Summary) -> String {
    format!(
        "{:<13} {:>8} {:>6} {:>12.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>10} {:>7}",
        l.workload,
        l.clients,
        l.depth,
        s.ops_per_s,
        ms(s.p50_us),
        ms(s.p99_us),
        ms(s.p999_us),
        ms(s.max_us),
        s.ops,
        s.errors
    )
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// One line of JSON with every figure of the run.
pub fn json_line(l: &Label, s: &Summary) -> String {
    let mut errors = String::from("{");
    for (i, (kind, n)) in s.errors_by_kind.iter().enumerate() {
        if i > 0 {
            errors.push(',');
        }
        let _ = write!(errors, "{}:{n}", json_string(kind));
    }
    errors.push('}');
    format!(
        "{{\"workload\":{},\"servers\":{},\"clients\":{},\"depth\":{},\"value_size\":{},\
         \"batch\":{},\"seconds\":{:.3},\"ops\":{},\"ops_per_s\":{:.1},\"p50_us\":{},\"p99_us\":{},\
         \"p999_us\":{},\"max_us\":{},\"errors\":{},\"errors_by_kind\":{errors}}}",
        json_string(&l.workload),
        json_string(&l.servers),
        l.clients,
        l.depth,
        l.value_size,
        l.batch,
        s.seconds,
        s.ops,
        s.ops_per_s,
        s.p50_us,
        s.p99_us,
        s.p999_us,
        s.max_us,
        s.errors,
    )
}

pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(latencies_us: impl IntoIterator<Item = u64>) -> Recorder {
        let mut r = Recorder::default();
        for us in latencies_us {
            r.ok(Duration::from_micros(us));
        }
        r
    }

    fn within_a_thousandth(got: u64, want: u64) -> bool {
        got.abs_diff(want) * 1000 <= want
    }

    #[test]
    fn percentiles_of_one_to_ten_thousand() {
        let s = recorder(1..=10_000).summary(Duration::from_secs(2));
        assert_eq!(s.ops, 10_000);
        assert_eq!(s.ops_per_s, 5000.0);
        assert!(within_a_thousandth(s.p50_us, 5000), "{}", s.p50_us);
        assert!(within_a_thousandth(s.p99_us, 9900), "{}", s.p99_us);
        assert!(within_a_thousandth(s.p999_us, 9990), "{}", s.p999_us);
        assert!(within_a_thousandth(s.max_us, 10_000), "{}", s.max_us);
    }

    #[test]
    fn a_slow_tail_shows_in_p999_only() {
        // Two slow requests in a thousand: beyond p99, within p99.9.
        let lat = (0..10_000).map(|i| if i % 500 == 0 { 500_000 } else { 100 });
        let s = recorder(lat).summary(Duration::from_secs(1));
        assert_eq!(s.p50_us, 100);
        assert_eq!(s.p99_us, 100);
        assert!(within_a_thousandth(s.p999_us, 500_000), "{}", s.p999_us);
    }

    #[test]
    fn merge_adds_latencies_and_errors() {
        let mut a = recorder([100, 200]);
        a.error("ConnectionLoss");
        let mut b = recorder([300]);
        b.error("ConnectionLoss");
        b.error("NoNode");
        a.merge(&b);
        let s = a.summary(Duration::from_secs(1));
        assert_eq!(s.ops, 3);
        assert_eq!(s.errors, 3);
        assert_eq!(s.errors_by_kind["ConnectionLoss"], 2);
        assert_eq!(s.errors_by_kind["NoNode"], 1);
        assert!(within_a_thousandth(s.max_us, 300));
    }

    #[test]
    fn empty_and_extreme_runs() {
        let s = Recorder::default().summary(Duration::ZERO);
        assert_eq!((s.ops, s.ops_per_s, s.p50_us, s.errors), (0, 0.0, 0, 0));
        // Below a microsecond counts as one; beyond the bound as the bound.
        let s = recorder([0]).summary(Duration::from_secs(1));
        assert_eq!(s.max_us, 1);
        let mut r = Recorder::default();
        r.ok(Duration::from_secs(3600));
        assert!(within_a_thousandth(
            r.summary(Duration::from_secs(1)).max_us,
            MAX_LATENCY_US
        ));
    }

    #[test]
    fn json_and_table() {
        let mut r = recorder([1000, 2000]);
        r.error("Timeout");
        let s = r.summary(Duration::from_secs(2));
        let l = Label {
            workload: "get".into(),
            servers: "127.0.0.1:2181".into(),
            clients: 4,
            depth: 2,
            value_size: 100,
            batch: 1,
        };
        let j = json_line(&l, &s);
        assert!(j.starts_with(
            "{\"workload\":\"get\",\"servers\":\"127.0.0.1:2181\",\"clients\":4,\"depth\":2,\
             \"value_size\":100,\"batch\":1,\"seconds\":2.000,\"ops\":2,\"ops_per_s\":1.0,"
        ));
        assert!(
            j.ends_with("\"errors\":1,\"errors_by_kind\":{\"Timeout\":1}}"),
            "{j}"
        );
        let row = table_row(&l, &s);
        assert_eq!(row.len(), TABLE_HEADER.len(), "{row}");
        assert!(
            row.starts_with(&format!("{:<13}        4      2          1.0", "get")),
            "{row}"
        );
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
