//! ZooKeeper's `ServerMetrics`: the counters and summaries ZooKeeper 3.8 registers, under its
//! names, shared by every task that measures something (the core, the listener, the role
//! watcher, the raft layer's fsync and snapshot timings). The core adds the gauges it
//! computes from its state when it renders them ([`Metric`]).
//!
//! Every ZooKeeper name is registered, so dashboards find each series; the ones corral
//! measures are listed in docs/compatibility.md, the others stay at zero (ZooKeeper's own
//! value for a feature not in use). Two views of the same numbers:
//! - `mntr` (ZooKeeper's default provider): values since the last `srst`;
//! - Prometheus `/metrics`: totals that never go back, as Prometheus counters must.

mod gauges;
pub mod process;
mod summary;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use crate::javafmt::java_double;
pub use summary::Summary;

/// A summary's quantiles: `Basic` has the median, `Advanced` also p90/p99 (Prometheus) and
/// p95/p99/p99.9 (`mntr`), as ZooKeeper's `DetailLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Basic,
    Advanced,
}

/// ZooKeeper 3.8's counters (`ServerMetrics.java`), in its order.
pub const COUNTERS: [&str; 47] = [
    "looking_count",
    "diff_count",
    "snap_count",
    "commit_count",
    "connection_request_count",
    "connection_rejected",
    "bytes_received_count",
    "unrecoverable_error_count",
    "add_dead_watcher_stall_time",
    "dead_watchers_queued",
    "dead_watchers_cleared",
    "response_packet_cache_hits",
    "response_packet_cache_misses",
    "response_packet_get_children_cache_hits",
    "response_packet_get_children_cache_misses",
    "ensemble_auth_success",
    "ensemble_auth_fail",
    "ensemble_auth_skip",
    "prep_processor_request_queued",
    "outstanding_changes_queued",
    "outstanding_changes_removed",
    "revalidate_count",
    "connection_drop_count",
    "connection_revalidate_count",
    "sessionless_connections_expired",
    "stale_sessions_expired",
    "request_commit_queued",
    "throttled_ops",
    "learner_proposal_received_count",
    "learner_commit_received_count",
    "sync_processor_request_queued",
    "proposal_count",
    "quit_leading_due_to_disloyal_voter",
    "stale_requests",
    "stale_requests_dropped",
    "stale_replies",
    "request_throttle_wait_count",
    "large_requests_rejected",
    "digest_mismatches_count",
    "unsuccessful_handshake",
    "insecure_admin_count",
    "tls_handshake_exceeded",
    "cnxn_closed_without_zk_server_running",
    "skip_learner_request_to_next_processor_count",
    "requests_not_forwarded_to_commit_processor",
    "response_bytes",
    "watch_bytes",
];

/// ZooKeeper 3.8's summaries and their detail level, in its order.
pub const SUMMARIES: [(&str, Detail); 64] = [
    ("fsynctime", Detail::Basic),
    ("snapshottime", Detail::Basic),
    ("dbinittime", Detail::Basic),
    ("readlatency", Detail::Advanced),
    ("updatelatency", Detail::Advanced),
    ("propagation_latency", Detail::Advanced),
    ("follower_sync_time", Detail::Basic),
    ("observer_sync_time", Detail::Basic),
    ("election_time", Detail::Basic),
    ("connection_token_deficit", Detail::Basic),
    ("inflight_snap_count", Detail::Basic),
    ("inflight_diff_count", Detail::Basic),
    ("node_created_watch_count", Detail::Basic),
    ("node_deleted_watch_count", Detail::Basic),
    ("node_changed_watch_count", Detail::Basic),
    ("node_children_watch_count", Detail::Basic),
    ("dead_watchers_cleaner_latency", Detail::Advanced),
    ("prep_processor_queue_time_ms", Detail::Advanced),
    ("prep_processor_queue_size", Detail::Basic),
    ("prep_process_time", Detail::Basic),
    ("proposal_process_time", Detail::Basic),
    ("close_session_prep_time", Detail::Advanced),
    ("unavailable_time", Detail::Basic),
    ("leader_unavailable_time", Detail::Basic),
    ("requests_in_session_queue", Detail::Basic),
    ("pending_session_queue_size", Detail::Basic),
    ("reads_after_write_in_session_queue", Detail::Basic),
    ("reads_issued_from_session_queue", Detail::Basic),
    ("session_queues_drained", Detail::Basic),
    (
        "time_waiting_empty_pool_in_commit_processor_read_ms",
        Detail::Basic,
    ),
    ("write_batch_time_in_commit_processor", Detail::Basic),
    (
        "concurrent_request_processing_in_commit_processor",
        Detail::Basic,
    ),
    ("read_commit_proc_req_queued", Detail::Basic),
    ("write_commit_proc_req_queued", Detail::Basic),
    ("commit_commit_proc_req_queued", Detail::Basic),
    ("read_commit_proc_issued", Detail::Basic),
    ("write_commit_proc_issued", Detail::Basic),
    ("read_commitproc_time_ms", Detail::Advanced),
    ("write_commitproc_time_ms", Detail::Advanced),
    ("local_write_committed_time_ms", Detail::Advanced),
    ("server_write_committed_time_ms", Detail::Advanced),
    ("commit_process_time", Detail::Basic),
    ("om_proposal_process_time_ms", Detail::Advanced),
    ("om_commit_process_time_ms", Detail::Advanced),
    ("read_final_proc_time_ms", Detail::Advanced),
    ("write_final_proc_time_ms", Detail::Advanced),
    ("proposal_latency", Detail::Advanced),
    ("proposal_ack_creation_latency", Detail::Advanced),
    ("commit_propagation_latency", Detail::Advanced),
    ("startup_txns_loaded", Detail::Basic),
    ("startup_txns_load_time", Detail::Basic),
    ("startup_snap_load_time", Detail::Basic),
    ("sync_processor_queue_and_flush_time_ms", Detail::Advanced),
    ("sync_processor_queue_size", Detail::Basic),
    ("sync_processor_queue_time_ms", Detail::Advanced),
    ("sync_processor_queue_flush_time_ms", Detail::Advanced),
    ("sync_process_time", Detail::Basic),
    ("sync_processor_batch_size", Detail::Basic),
    ("quorum_ack_latency", Detail::Advanced),
    ("request_throttle_queue_time_ms", Detail::Advanced),
    ("netty_queued_buffer_capacity", Detail::Basic),
    ("learner_request_processor_queue_size", Detail::Basic),
    ("socket_closing_time", Detail::Basic),
    ("jvm_pause_time_ms", Detail::Advanced),
];

/// ZooKeeper 3.8's summary sets (one summary per `key` label), in its order.
pub const SUMMARY_SETS: [(&str, Detail); 5] = [
    ("write_per_namespace", Detail::Basic),
    ("read_per_namespace", Detail::Basic),
    ("learner_handler_qp_size", Detail::Basic),
    ("learner_handler_qp_time_ms", Detail::Advanced),
    ("ack_latency", Detail::Advanced),
];
/// ZooKeeper's gauge sets (quota limits and usage per namespace, `key` label), in the order
/// of `DataTree::quota_per_namespace`'s figures.
pub const GAUGE_SETS: [&str; 4] = [
    "quota_count_limit_per_namespace",
    "quota_bytes_limit_per_namespace",
    "quota_count_usage_per_namespace",
    "quota_bytes_usage_per_namespace",
];

/// ZooKeeper's counter set: writes refused by a hard quota, per namespace (`key` label).
pub const QUOTA_EXCEEDED_SET: &str = "quota_exceeded_error_per_namespace";

/// A counter: its total, and its total at the last reset (what `mntr` subtracts).
#[derive(Default)]
struct Counter {
    total: AtomicU64,
    at_reset: AtomicU64,
}

/// Keys one summary set tracks: namespaces are clients' top-level znodes, so their number is
/// the clients' to choose; each member keeps a window of observations.
pub const MAX_SET_MEMBERS: usize = 1024;

/// ZooKeeper's `fsync.warningthresholdms` default: an fsync slower than this is counted
/// (`fsync_threshold_exceed_count`).
pub const FSYNC_WARNING_THRESHOLD_MS: u64 = 1000;

/// The registry. One per server, shared (`Arc`) by the tasks that measure.
pub struct ServerMetrics {
    counters: Vec<Counter>,
    summaries: Vec<Mutex<Summary>>,
    summary_sets: Vec<Mutex<BTreeMap<String, Summary>>>,
    /// Each name's place in its table: requests record by name, so the lookup is a hash.
    index: HashMap<&'static str, usize>,
    /// Not a ZooKeeper metric but a `ServerStats` figure (admin `server_stats`); `srst`
    /// leaves it, as ZooKeeper does.
    fsync_threshold_exceeded: AtomicU64,
    /// `quota_exceeded_error_per_namespace`: at most [`MAX_SET_MEMBERS`] namespaces.
    quota_exceeded: Mutex<BTreeMap<String, u64>>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics {
            counters: COUNTERS.iter().map(|_| Counter::default()).collect(),
            summaries: SUMMARIES.iter().map(|_| Mutex::default()).collect(),
            summary_sets: SUMMARY_SETS.iter().map(|_| Mutex::default()).collect(),
            index: COUNTERS
                .iter()
                .copied()
                .chain(SUMMARIES.iter().map(|s| s.0))
                .chain(SUMMARY_SETS.iter().map(|s| s.0))
                .enumerate()
                .map(|(i, name)| (name, i))
                .collect(),
            fsync_threshold_exceeded: AtomicU64::new(0),
            quota_exceeded: Mutex::default(),
        }
    }
}

/// A number as ZooKeeper's `mntr` prints it: Java's `Long` or `Double`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Float(v) => f.write_str(&java_double(*v)),
        }
    }
}

/// One metric as rendered, with everything both views need.
#[derive(Debug, Clone)]
pub enum Metric {
    Gauge(&'static str, Num),
    Counter {
        name: &'static str,
        total: u64,
        since_reset: u64,
    },
    Summary(&'static str, Detail, Summary),
    SummarySet(&'static str, Detail, Vec<(String, Summary)>),
    /// A gauge or counter set: one value per `key` (Prometheus only; `mntr` leaves sets
    /// out). The quota gauge sets are filled in by the core, which has the tree.
    LabelledSet {
        name: &'static str,
        kind: &'static str,
        members: Vec<(String, i64)>,
    },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerMetrics {
    /// A name's place in its table (`offset` is where the table starts in `index`); a name
    /// that is not ZooKeeper's is a bug in the caller.
    fn position(&self, name: &str, offset: usize, len: usize) -> usize {
        self.index
            .get(name)
            .and_then(|i| i.checked_sub(offset))
            .filter(|i| *i < len)
            .unwrap_or_else(|| panic!("{name} is not one of ZooKeeper's metrics"))
    }

    /// Adds to a counter of [`COUNTERS`].
    pub fn count(&self, name: &str, by: u64) {
        let c = &self.counters[self.position(name, 0, COUNTERS.len())];
        c.total.fetch_add(by, Ordering::Relaxed);
    }

    /// One observation of a summary of [`SUMMARIES`].
    pub fn observe(&self, name: &str, value: u64) {
        let i = self.position(name, COUNTERS.len(), SUMMARIES.len());
        lock(&self.summaries[i]).observe(value);
    }

    /// A duration observed in whole milliseconds, ZooKeeper's unit for times.
    pub fn observe_ms(&self, name: &str, took: Duration) {
        self.observe(name, took.as_millis() as u64);
    }

    /// A log fsync: `fsynctime`, and counted when slower than the warning threshold.
    pub fn fsynced(&self, took: Duration) {
        self.observe_ms("fsynctime", took);
        if took.as_millis() as u64 >= FSYNC_WARNING_THRESHOLD_MS {
            tracing::warn!("fsync of the raft log took {took:?}");
            self.fsync_threshold_exceeded
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn fsync_threshold_exceeded(&self) -> u64 {
        self.fsync_threshold_exceeded.load(Ordering::Relaxed)
    }

    /// One observation of the `key` member of a summary set of [`SUMMARY_SETS`]. A set holds
    /// at most [`MAX_SET_MEMBERS`] keys; observations of further keys are dropped.
    pub fn observe_in(&self, set: &str, key: &str, value: u64) {
        let i = self.position(set, COUNTERS.len() + SUMMARIES.len(), SUMMARY_SETS.len());
        let mut members = lock(&self.summary_sets[i]);
        if let Some(s) = members.get_mut(key) {
            s.observe(value);
        } else if members.len() < MAX_SET_MEMBERS {
            members.entry(key.to_string()).or_default().observe(value);
        }
    }

    /// A read of `bytes` under `path`'s top-level namespace (`read_per_namespace`), counted
    /// as ZooKeeper's `DataTree.updateReadStat`: path, bytes and a Stat's size.
    pub fn read_in_namespace(&self, path: &str, bytes: usize) {
        if let Some(ns) = namespace(path) {
            let size = path.len() + bytes + STAT_OVERHEAD_BYTES;
            self.observe_in("read_per_namespace", ns, size as u64);
        }
    }

    /// A write of `bytes` under `path`'s namespace (`write_per_namespace`): path and bytes.
    pub fn write_in_namespace(&self, path: &str, bytes: usize) {
        if let Some(ns) = namespace(path) {
            self.observe_in("write_per_namespace", ns, (path.len() + bytes) as u64);
        }
    }

    /// A write under namespace `ns` refused by a hard quota.
    pub fn quota_exceeded_in(&self, ns: &str) {
        let mut members = lock(&self.quota_exceeded);
        if let Some(n) = members.get_mut(ns) {
            *n += 1;
        } else if members.len() < MAX_SET_MEMBERS {
            members.insert(ns.to_string(), 1);
        }
    }

    /// `srst`: what `mntr` shows starts over (ZooKeeper's `ServerMetrics.resetAll`).
    pub fn reset(&self) {
        for c in &self.counters {
            c.at_reset
                .store(c.total.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        for s in &self.summaries {
            lock(s).reset();
        }
        for set in &self.summary_sets {
            lock(set).values_mut().for_each(Summary::reset);
        }
    }

    /// Every counter, summary and set, in ZooKeeper's order.
    pub fn snapshot(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for (name, c) in COUNTERS.iter().zip(&self.counters) {
            let total = c.total.load(Ordering::Relaxed);
            out.push(Metric::Counter {
                name,
                total,
                since_reset: total.saturating_sub(c.at_reset.load(Ordering::Relaxed)),
            });
        }
        for ((name, detail), s) in SUMMARIES.iter().zip(&self.summaries) {
            out.push(Metric::Summary(name, *detail, lock(s).clone()));
        }
        for ((name, detail), set) in SUMMARY_SETS.iter().zip(&self.summary_sets) {
            let members = lock(set)
                .iter()
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect();
            out.push(Metric::SummarySet(name, *detail, members));
        }
        out.extend(GAUGE_SETS.iter().map(|name| Metric::LabelledSet {
            name,
            kind: "gauge",
            members: Vec::new(),
        }));
        let quota = lock(&self.quota_exceeded)
            .iter()
            .map(|(k, n)| (k.clone(), *n as i64))
            .collect();
        out.push(Metric::LabelledSet {
            name: QUOTA_EXCEEDED_SET,
            kind: "counter",
            members: quota,
        });
        out
    }
}

/// A Stat's size as ZooKeeper counts it in read sizes: six longs and five ints.
const STAT_OVERHEAD_BYTES: usize = 6 * 8 + 5 * 4;

/// The first component of a path (`/app/e` → `app`), ZooKeeper's `getTopNamespace`; none
/// for the root.
fn namespace(path: &str) -> Option<&str> {
    path.split('/').nth(1).filter(|ns| !ns.is_empty())
}

/// `mntr`'s rows for metrics, as ZooKeeper's default provider prints them: a gauge or
/// counter under its name; a summary as `avg_`, `min_`, `max_`, `cnt_`, `sum_` (and `p50_`,
/// `p95_`, `p99_`, `p999_` when advanced), a set's member as `<prefix>_<key>_<name>`.
pub fn mntr_rows(metrics: &[Metric]) -> Vec<(String, String)> {
    fn summary(rows: &mut Vec<(String, String)>, name: &str, detail: Detail, s: &Summary) {
        rows.push((format!("avg_{name}"), java_double(s.avg())));
        for (prefix, v) in [("min", s.min()), ("max", s.max())] {
            rows.push((format!("{prefix}_{name}"), v.to_string()));
        }
        rows.push((format!("cnt_{name}"), s.count.to_string()));
        rows.push((format!("sum_{name}"), s.sum.to_string()));
        if detail == Detail::Advanced {
            for (prefix, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
                let v = s.quantile_since_reset(q);
                rows.push((format!("{prefix}_{name}"), v.to_string()));
            }
        }
    }
    let mut rows = Vec::new();
    for m in metrics {
        match m {
            Metric::Gauge(name, v) => rows.push((name.to_string(), v.to_string())),
            Metric::Counter {
                name, since_reset, ..
            } => rows.push((name.to_string(), since_reset.to_string())),
            Metric::Summary(name, detail, s) => summary(&mut rows, name, *detail, s),
            Metric::SummarySet(name, detail, members) => {
                for (key, s) in members {
                    summary(&mut rows, &format!("{key}_{name}"), *detail, s);
                }
            }
            Metric::LabelledSet { .. } => {}
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "not one of ZooKeeper's metrics")]
    fn a_summary_is_not_a_counter() {
        ServerMetrics::default().count("readlatency", 1);
    }

    #[test]
    fn a_summary_set_is_bounded() {
        let m = ServerMetrics::default();
        for i in 0..MAX_SET_MEMBERS + 10 {
            m.write_in_namespace(&format!("/n{i}"), 1);
        }
        m.write_in_namespace("/n0", 1);
        let snap = m.snapshot();
        let members = snap
            .iter()
            .find_map(|x| match x {
                Metric::SummarySet("write_per_namespace", _, members) => Some(members),
                _ => None,
            })
            .unwrap();
        assert_eq!(members.len(), MAX_SET_MEMBERS);
        assert!(members.iter().any(|(k, s)| k == "n0" && s.count == 2));
    }

    #[test]
    fn mntr_counts_since_the_reset() {
        let m = ServerMetrics::default();
        m.count("connection_rejected", 2);
        m.observe("readlatency", 3);
        m.observe_in("learner_handler_qp_size", "2", 5);
        let rows = mntr_rows(&m.snapshot());
        let get = |k: &str| rows.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("connection_rejected").as_deref(), Some("2"));
        assert_eq!(get("avg_readlatency").as_deref(), Some("3.0"));
        assert_eq!(get("p999_readlatency").as_deref(), Some("3"));
        assert_eq!(
            get("p50_fsynctime"),
            None,
            "a basic summary has no percentiles"
        );
        assert_eq!(get("max_2_learner_handler_qp_size").as_deref(), Some("5"));
        m.reset();
        let snap = m.snapshot();
        let rows = mntr_rows(&snap);
        let get = |k: &str| rows.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("connection_rejected").as_deref(), Some("0"));
        assert_eq!(get("cnt_readlatency").as_deref(), Some("0"));
        assert!(snap.iter().any(|x| matches!(
            x,
            Metric::Counter {
                name: "connection_rejected",
                total: 2,
                ..
            }
        )));
    }
}
