//! The `election` workload: leader election handoff latency.
//!
//! `contenders` sessions each run a `corral-recipes` election on one path: [`LeaderLatch`]
//! (flat), or [`GroupedElection`] over `groups` groups (partitioned; contender `i` in group
//! `i mod groups`). Then, `handoffs` times: close the current leader's session
//! (`Client::close`) and measure from that call until another contender's handle reports
//! leadership (its latch state turns `Leading`). The closed contender rejoins with a new
//! session (at the end of its queue), so the number of contenders stays the same.
//!
//! Set-up is bounded: at most [`SETUP_CONCURRENCY`] sessions are opened at once, and the
//! contenders enlist in batches of that size, each batch waiting until its nodes are there.
//! Every wait has a time limit; the whole run has `--duration`'s.

use std::time::{Duration, Instant};

use corral_client::{Acl, Client, CreateMode, Error, Options};
use corral_recipes::{GroupedElection, LatchState, LeaderLatch, Sessions};
use tokio::sync::mpsc;

use crate::args::Config;
use crate::run::{error_name, run_root};
use crate::stats::{json_string, Recorder, Summary};

/// Session timeout asked for (ZooKeeper grants up to 20 ticks: 40 s at tickTime=2000).
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Sessions opened at once, and contenders enlisting at once, during set-up.
pub const SETUP_CONCURRENCY: usize = 100;
/// Longest wait for a successor to lead, and for enlisted nodes to appear.
const HANDOFF_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before each handoff, so that the previous one (and the rejoin) has settled.
const PAUSE: Duration = Duration::from_millis(200);

/// What an election run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ElectionSummary {
    /// Seconds from the first connect until every contender had enlisted and one led.
    pub setup_seconds: f64,
    /// Handoff latencies (`ops` = handoffs measured) and errors.
    pub handoffs: Summary,
}

/// A leadership report: contender slot, its incarnation, and when its latch led.
type Report = (usize, u64, Instant);

struct Contender {
    client: Client,
    /// Kept so that the latch keeps running (dropping it stops the latch).
    _latch: LeaderLatch,
}

struct Setting {
    servers: String,
    options: Options,
    path: String,
    groups: u32,
    reports: mpsc::UnboundedSender<Report>,
}

/// Runs the election workload `config` describes, within `config.duration`.
pub async fn run(config: &Config) -> Result<ElectionSummary, String> {
    let limit = config.duration;
    tokio::time::timeout(limit, run_unbounded(config))
        .await
        .map_err(|_| format!("the election run did not end within {limit:?}"))?
}

async fn run_unbounded(config: &Config) -> Result<ElectionSummary, String> {
    let began = Instant::now();
    let options = Options::new(SESSION_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT);
    let admin = Client::connect_with(&config.servers, options.clone())
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", config.servers))?;
    let root = run_root();
    let path = format!("{root}/election");
    set_up(&admin, &root, &path, config.groups)
        .await
        .map_err(|e| format!("setting up {root}: {e}"))?;
    let (tx, mut reports) = mpsc::unbounded_channel();
    let setting = Setting {
        servers: config.servers.clone(),
        options,
        path,
        groups: config.groups,
        reports: tx,
    };

    // Sessions and contenders, a batch at a time.
    let k = config.contenders;
    let mut contenders: Vec<Option<Contender>> = Vec::with_capacity(k);
    let mut incarnation = vec![0u64; k];
    while contenders.len() < k {
        let first = contenders.len();
        let last = (first + SETUP_CONCURRENCY).min(k);
        let mut tasks = tokio::task::JoinSet::new();
        for slot in first..last {
            tasks.spawn(connect(
                setting.servers.clone(),
                setting.options.clone(),
                slot,
            ));
        }
        let mut clients = Vec::with_capacity(last - first);
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(c)) => clients.push(c),
                Ok(Err(e)) => return Err(format!("cannot connect to {}: {e}", config.servers)),
                Err(e) => return Err(format!("connecting failed: {e}")),
            }
        }
        clients.sort_by_key(|(slot, _)| *slot);
        for (slot, client) in clients {
            contenders.push(Some(enlist(&setting, client, slot, 0)));
        }
        wait_enlisted(&admin, &setting, last).await?;
    }
    let mut leader = match tokio::time::timeout(HANDOFF_TIMEOUT, reports.recv()).await {
        Ok(Some((slot, _, _))) => slot,
        _ => return Err(format!("no contender led within {HANDOFF_TIMEOUT:?}")),
    };
    let setup_seconds = began.elapsed().as_secs_f64();

    let mut rec = Recorder::default();
    for _ in 0..config.handoffs {
        tokio::time::sleep(PAUSE).await;
        let old = contenders[leader]
            .take()
            .expect("the leader is a live contender");
        let started = Instant::now();
        let closing = tokio::spawn(async move {
            let closed = old.client.close().await;
            drop(old);
            closed
        });
        let next = tokio::time::timeout(HANDOFF_TIMEOUT, reports.recv()).await;
        match closing.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => rec.error(&format!("close {}", error_name(&e))),
            Err(e) => return Err(format!("closing the leader failed: {e}")),
        }
        let closed = leader;
        match next {
            Ok(Some((slot, _, led))) => {
                rec.ok(led.saturating_duration_since(started));
                leader = slot;
            }
            Ok(None) => return Err("the contenders' reports ended".to_string()),
            Err(_) => {
                rec.error("HandoffTimeout");
                break;
            }
        }
        // The closed contender rejoins with a new session, at the end of its queue.
        incarnation[closed] += 1;
        let (_, client) = connect(setting.servers.clone(), setting.options.clone(), closed)
            .await
            .map_err(|e| format!("cannot reconnect: {e}"))?;
        contenders[closed] = Some(enlist(&setting, client, closed, incarnation[closed]));
        wait_enlisted(&admin, &setting, k).await?;
    }
    let summary = rec.summary(began.elapsed());

    // Close every session, a bounded number at once.
    let mut tasks = tokio::task::JoinSet::new();
    for c in contenders.into_iter().flatten() {
        if tasks.len() >= SETUP_CONCURRENCY {
            let _ = tasks.join_next().await;
        }
        tasks.spawn(async move { c.client.close().await });
    }
    while tasks.join_next().await.is_some() {}
    let _ = admin.close().await;
    Ok(ElectionSummary {
        setup_seconds,
        handoffs: summary,
    })
}

async fn connect(servers: String, options: Options, slot: usize) -> Result<(usize, Client), Error> {
    Client::connect_with(&servers, options)
        .await
        .map(|c| (slot, c))
}

/// Creates the run's root and the election's fixed nodes (the recipes create missing
/// parents too; creating them first avoids every contender racing for them).
async fn set_up(admin: &Client, root: &str, path: &str, groups: u32) -> Result<(), Error> {
    let acl = Acl::open();
    let mut nodes = vec![root.to_string(), path.to_string()];
    if groups > 0 {
        nodes.push(format!("{path}/top"));
        nodes.push(format!("{path}/groups"));
        nodes.extend((0..groups).map(|g| group_path(path, g)));
    }
    for n in nodes {
        admin.create(&n, b"", &acl, CreateMode::Persistent).await?;
    }
    Ok(())
}

fn group_path(path: &str, group: u32) -> String {
    format!("{path}/groups/{group}")
}

/// Starts contender `slot` (incarnation `n`) on `client`'s session; its leadership is
/// reported on `setting.reports` the first time its latch leads.
fn enlist(setting: &Setting, client: Client, slot: usize, n: u64) -> Contender {
    let sessions = Sessions::fixed(client.clone());
    let id = format!("c{slot}-{n}");
    let latch = if setting.groups == 0 {
        LeaderLatch::start(&sessions, &setting.path, id.as_bytes())
    } else {
        let group = (slot % setting.groups as usize) as u32;
        GroupedElection::start_in_group(&sessions, &setting.path, group, id.as_bytes())
    };
    let mut state = latch.state();
    let reports = setting.reports.clone();
    tokio::spawn(async move {
        let led = state
            .wait_for(|s| matches!(s, LatchState::Leading(f) if f.is_valid()))
            .await
            .is_ok();
        if led {
            let _ = reports.send((slot, n, Instant::now()));
        }
    });
    Contender {
        client,
        _latch: latch,
    }
}

/// Waits until `want` contenders' nodes are in the election (in the groups, if partitioned).
async fn wait_enlisted(admin: &Client, setting: &Setting, want: usize) -> Result<(), String> {
    let deadline = Instant::now() + HANDOFF_TIMEOUT;
    loop {
        let mut have = 0usize;
        let parents: Vec<String> = if setting.groups == 0 {
            vec![setting.path.clone()]
        } else {
            (0..setting.groups)
                .map(|g| group_path(&setting.path, g))
                .collect()
        };
        for p in &parents {
            match admin.exists(p).await {
                Ok(Some(stat)) => have += stat.num_children.max(0) as usize,
                Ok(None) => {}
                Err(e) => return Err(format!("counting contenders under {p}: {e}")),
            }
        }
        if have >= want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "only {have} of {want} contenders enlisted within {HANDOFF_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub const TABLE_HEADER: &str =
    "workload  contenders groups handoffs  setup s   p50 ms   p99 ms   max ms  errors";

/// "flat", or "partitioned" when the contenders are in groups.
pub fn shape(groups: u32) -> &'static str {
    if groups == 0 {
        "flat"
    } else {
        "partitioned"
    }
}

pub fn table_row(contenders: usize, groups: u32, s: &ElectionSummary) -> String {
    let h = &s.handoffs;
    format!(
        "{:<9} {:>10} {:>6} {:>8} {:>8.2} {:>8.3} {:>8.3} {:>8.3} {:>7}",
        "election",
        contenders,
        groups,
        h.ops,
        s.setup_seconds,
        h.p50_us as f64 / 1000.0,
        h.p99_us as f64 / 1000.0,
        h.max_us as f64 / 1000.0,
        h.errors
    )
}

/// One line of JSON with every figure of the run.
pub fn json_line(servers: &str, contenders: usize, groups: u32, s: &ElectionSummary) -> String {
    let h = &s.handoffs;
    let errors: Vec<String> = h
        .errors_by_kind
        .iter()
        .map(|(kind, n)| format!("{}:{n}", json_string(kind)))
        .collect();
    format!(
        "{{\"workload\":\"election\",\"shape\":\"{}\",\"servers\":{},\"contenders\":{contenders},\
         \"groups\":{groups},\"setup_s\":{:.3},\"handoffs\":{},\"p50_us\":{},\"p99_us\":{},\
         \"max_us\":{},\"errors\":{},\"errors_by_kind\":{{{}}}}}",
        shape(groups),
        json_string(servers),
        s.setup_seconds,
        h.ops,
        h.p50_us,
        h.p99_us,
        h.max_us,
        h.errors,
        errors.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_and_json() {
        let mut r = Recorder::default();
        for ms in [2, 4, 6] {
            r.ok(Duration::from_millis(ms));
        }
        r.error("HandoffTimeout");
        let s = ElectionSummary {
            setup_seconds: 1.5,
            handoffs: r.summary(Duration::from_secs(1)),
        };
        let row = table_row(1000, 32, &s);
        assert_eq!(row.len(), TABLE_HEADER.len(), "{row}");
        assert!(
            row.starts_with("election        1000     32        3     1.50"),
            "{row}"
        );
        let j = json_line("127.0.0.1:2181", 1000, 32, &s);
        assert!(
            j.starts_with(
                "{\"workload\":\"election\",\"shape\":\"partitioned\",\
                 \"servers\":\"127.0.0.1:2181\",\"contenders\":1000,\"groups\":32,\
                 \"setup_s\":1.500,\"handoffs\":3,\"p50_us\":4"
            ),
            "{j}"
        );
        assert!(
            j.ends_with("\"errors\":1,\"errors_by_kind\":{\"HandoffTimeout\":1}}"),
            "{j}"
        );
        assert_eq!(shape(0), "flat");
    }
}
