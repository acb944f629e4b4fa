//! One seeded run, end to end, and what it reports.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corral_jute::ErrorCode;

use crate::checker::{self, Verdict};
use crate::cluster::Cluster;
use crate::history::{History, Op};
use crate::types::Outcome;
use crate::workload::{self, Answer, Workload};
use crate::{nemesis, runtime, trace, Bug};

/// A run that has not finished after this much virtual time is stuck (a liveness failure).
const RUN_LIMIT_MS: u64 = 600_000;

/// Attempts at each final read (each up to `OP_TIMEOUT_MS`) before calling the healed
/// cluster stuck.
const FINAL_ATTEMPTS: usize = 30;

/// Events a failure report ends with.
const TRACE_TAIL: usize = 40;

/// Virtual time the healed cluster gets to apply everything on every node.
const CONVERGE_MS: u64 = 30_000;

#[derive(Debug, Clone)]
pub struct Options {
    pub nodes: usize,
    pub clients: usize,
    /// Registers; the last one is the counter.
    pub keys: usize,
    pub ops_per_client: usize,
    pub faults: bool,
    pub bug: Option<Bug>,
}

impl Options {
    /// The options a seed runs with: the seed alone reproduces a run. One seed in four runs
    /// five nodes.
    pub fn for_seed(seed: u64) -> Options {
        Options {
            nodes: if seed % 4 == 3 { 5 } else { 3 },
            clients: 4,
            keys: 3,
            ops_per_client: 40,
            faults: true,
            bug: None,
        }
    }
}

/// What a passing run did.
#[derive(Debug)]
pub struct Report {
    pub seed: u64,
    /// Operations in the checked history, and how many of them never learned their answer.
    pub ops: usize,
    pub unknown: usize,
    /// Keys whose check hit the search limit.
    pub unchecked_keys: usize,
    pub virtual_ms: u64,
    /// Every event, stamped with virtual time.
    pub trace: Vec<String>,
}

/// A failed run: what broke, and the slice of history that shows it.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub options: Options,
    pub what: String,
    pub history: Vec<String>,
    /// Every event of the run; the report shows the last `TRACE_TAIL`.
    pub trace: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "corral-sim seed {} failed: {}", self.seed, self.what)?;
        writeln!(f, "options: {:?}", self.options)?;
        if !self.history.is_empty() {
            writeln!(f, "history that shows it ({} ops):", self.history.len())?;
            for line in &self.history {
                writeln!(f, "  {line}")?;
            }
        }
        writeln!(f, "last events:")?;
        for line in &self.trace[self.trace.len().saturating_sub(TRACE_TAIL)..] {
            writeln!(f, "  {line}")?;
        }
        let ops = if self.options.ops_per_client == Options::for_seed(self.seed).ops_per_client {
            String::new()
        } else {
            format!("CORRAL_SIM_OPS={} ", self.options.ops_per_client)
        };
        write!(
            f,
            "reproduce: {ops}CORRAL_SIM_SEED={} cargo test --release -p corral-sim --test seeds -- --nocapture",
            self.seed
        )
    }
}

/// Runs `seed` with `options` on a fresh single-threaded runtime with a paused clock.
pub fn run(seed: u64, options: &Options) -> Result<Report, Failure> {
    runtime::seed(seed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        trace::reset();
        let limit = Duration::from_millis(RUN_LIMIT_MS);
        let result = match tokio::time::timeout(limit, simulate(options)).await {
            Ok(r) => r,
            Err(_) => Err((
                format!("the run did not finish in {RUN_LIMIT_MS} virtual ms"),
                Vec::new(),
            )),
        };
        let virtual_ms = trace::now_us() / 1000;
        let trace = trace::take();
        match result {
            Ok((ops, unknown, unchecked_keys)) => Ok(Report {
                seed,
                ops,
                unknown,
                unchecked_keys,
                virtual_ms,
                trace,
            }),
            Err((what, history)) => Err(Failure {
                seed,
                options: options.clone(),
                what,
                history,
                trace,
            }),
        }
    })
}

type Outcome3 = Result<(usize, usize, usize), (String, Vec<String>)>;

fn fail(what: impl Into<String>) -> (String, Vec<String>) {
    (what.into(), Vec::new())
}

async fn simulate(options: &Options) -> Outcome3 {
    let cluster = Arc::new(Cluster::new(options.nodes));
    for &id in &cluster.ids {
        cluster.start(id).await;
    }
    let (first, _) = cluster.node(cluster.ids[0]).expect("just started");
    first
        .initialize(cluster.members())
        .await
        .map_err(|e| fail(format!("initialize: {e}")))?;

    let workload = Arc::new(Workload {
        cluster: cluster.clone(),
        history: History::default(),
        bug: options.bug,
        increments_acked: AtomicU64::new(0),
        increments_unknown: AtomicU64::new(0),
    });
    for key in 0..options.keys {
        create_register(&workload, key).await?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let nemesis = options
        .faults
        .then(|| tokio::spawn(nemesis::run(cluster.clone(), stop.clone())));
    let clients: Vec<_> = (0..options.clients)
        .map(|c| {
            let w = workload.clone();
            tokio::spawn(w.client(c, options.keys, options.ops_per_client))
        })
        .collect();
    for c in clients {
        c.await
            .map_err(|e| fail(format!("a client panicked: {e}")))?;
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(n) = nemesis {
        n.await
            .map_err(|e| fail(format!("the nemesis panicked: {e}")))?;
    }
    trace!("healed; final reads");

    // Final reads, after every write: an acknowledged write they do not reflect was lost.
    let final_client = options.clients;
    let mut finals = Vec::new();
    for key in 0..options.keys {
        let mut got = None;
        for _ in 0..FINAL_ATTEMPTS {
            got = workload.recorded_read(final_client, key).await;
            if got.is_some() {
                break;
            }
        }
        let got =
            got.ok_or_else(|| fail(format!("the healed cluster cannot serve a read of {key}")))?;
        finals.push(got);
    }
    converge(&cluster).await?;

    cluster.check_log_matching().map_err(fail)?;
    let ops = workload.history.ops();
    let (checked, unknown, unchecked) = check_history(&ops)?;

    let counter = finals[options.keys - 1].0;
    let acked = workload.increments_acked.load(Ordering::Relaxed);
    let maybe = workload.increments_unknown.load(Ordering::Relaxed);
    if counter < acked || counter > acked + maybe {
        return Err(fail(format!(
            "counter holds {counter}: {acked} increments acknowledged, {maybe} unknown"
        )));
    }
    for &id in &cluster.ids {
        if let Some((raft, _)) = cluster.node(id) {
            let _ = raft.shutdown().await;
        }
    }
    Ok((checked, unknown, unchecked))
}

async fn create_register(workload: &Workload, key: usize) -> Result<(), (String, Vec<String>)> {
    for _ in 0..FINAL_ATTEMPTS {
        match workload.submit(&workload::create(key)).await {
            Answer::Applied(Outcome::Version(_)) => return Ok(()),
            Answer::Applied(Outcome::Error(code)) if code == ErrorCode::NodeExists.as_i32() => {
                return Ok(())
            }
            _ => {}
        }
    }
    Err(fail(format!("cannot create register {key}")))
}

/// Waits until every node has applied the same log, then compares their trees.
async fn converge(cluster: &Cluster) -> Result<(), (String, Vec<String>)> {
    const POLL_MS: u64 = 20;
    let mut last = String::new();
    for _ in 0..CONVERGE_MS / POLL_MS {
        let mut applied = BTreeMap::new();
        let mut log_ends = BTreeMap::new();
        for &id in &cluster.ids {
            let Some((raft, sm)) = cluster.node(id) else {
                continue;
            };
            let a = sm.lock();
            applied.insert(id, (a.last_applied, a.tree.digest()));
            log_ends.insert(id, raft.metrics().borrow().last_log_index);
        }
        let first = applied.values().next().copied();
        let same =
            applied.len() == cluster.ids.len() && applied.values().all(|v| Some(*v) == first);
        let all_applied =
            first.is_some_and(|(id, _)| log_ends.values().all(|end| *end == id.map(|i| i.index)));
        if same && all_applied {
            trace!("converged at {:?}", first.and_then(|f| f.0));
            return Ok(());
        }
        last = format!("applied (log id, digest) per node {applied:?}, log ends {log_ends:?}");
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    // Same applied log id yet different trees is divergence; anything else is a stuck cluster.
    Err(fail(format!("nodes did not converge: {last}")))
}

/// Checks each key's history; returns (ops checked, ops with unknown answers, unchecked keys).
fn check_history(ops: &[Op]) -> Result<(usize, usize, usize), (String, Vec<String>)> {
    let mut by_key: BTreeMap<usize, Vec<Op>> = BTreeMap::new();
    for op in ops {
        // A read that never answered constrains nothing.
        if op.ret.is_none() && op.call == crate::history::Call::Read {
            continue;
        }
        by_key.entry(op.key).or_default().push(op.clone());
    }
    let (mut checked, mut unknown, mut unchecked) = (0, 0, 0);
    for (key, ops) in &by_key {
        checked += ops.len();
        unknown += ops.iter().filter(|o| o.ret.is_none()).count();
        match checker::check(ops) {
            Verdict::Linearizable => {}
            Verdict::Unknown => unchecked += 1,
            Verdict::NotLinearizable => {
                let (culprit, slice) = checker::witness(ops);
                let what = format!(
                    "register {key} is not linearizable: no order explains {}",
                    ops[culprit]
                );
                return Err((what, slice.iter().map(|o| o.to_string()).collect()));
            }
        }
    }
    Ok((checked, unknown, unchecked))
}
