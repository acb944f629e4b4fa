//! One run: open the sessions, create the run's znodes, then let `clients × depth` workers
//! send requests (each worker one at a time, so each session has `depth` in flight) through
//! the warm-up and the measured part, and add up what they saw.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use corral_client::{Acl, Client, CreateMode, Error, Op, Options};

use crate::args::Config;
use crate::stats::{Recorder, Summary};
use crate::workload::{Layout, Request, Workload, CHILDREN};

/// Session timeout asked for: long enough that a busy client is not expired.
const SESSION_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for one reply, and for the sessions to open.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed beyond warm-up and duration for connecting, setting up and closing.
const SLACK: Duration = Duration::from_secs(120);
/// Set-up `multi` batches stay well below ZooKeeper's 1 MiB `jute.maxbuffer`.
const SETUP_BATCH_BYTES: usize = 256 * 1024;
const SETUP_BATCH_OPS: usize = 1000;

/// Runs the load `config` describes; `Err` if the run could not be done (no server, set-up
/// failed, time limit), while errors of single requests are counted in the summary.
pub async fn run(config: &Config) -> Result<Summary, String> {
    let limit = config.warmup + config.duration + SLACK;
    let run = async {
        match config.workload {
            Workload::Watch => crate::fanout::run(config).await,
            Workload::Churn => crate::churn::run(config).await,
            _ => run_requests(config).await,
        }
    };
    tokio::time::timeout(limit, run)
        .await
        .map_err(|_| format!("the run did not end within {limit:?}"))?
}

/// The options of every session a run opens.
pub(crate) fn session_options() -> Options {
    Options::new(SESSION_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
}

/// When a run's measured part starts and ends, and how many ops it may measure.
pub(crate) struct Window {
    pub measure_from: Instant,
    pub deadline: Instant,
    quota: Option<u64>,
    /// Ops started in the measured part, against `quota`.
    measured: AtomicU64,
}

impl Window {
    /// Starts now: the warm-up, then the measured part.
    pub fn starting_now(config: &Config) -> Window {
        let start = Instant::now() + Duration::from_millis(10);
        Window {
            measure_from: start + config.warmup,
            deadline: start + config.warmup + config.duration,
            quota: config.ops,
            measured: AtomicU64::new(0),
        }
    }

    /// What an op starting at `now` is: `None` if the run is over (deadline or quota),
    /// else whether it is measured.
    pub fn next_op(&self, now: Instant) -> Option<bool> {
        if now >= self.deadline {
            return None;
        }
        let measured = now >= self.measure_from;
        if measured && !self.take_one() {
            return None;
        }
        Some(measured)
    }

    /// True if one more measured op may start.
    fn take_one(&self) -> bool {
        match self.quota {
            None => true,
            Some(q) => self.measured.fetch_add(1, Ordering::Relaxed) < q,
        }
    }
}

/// Counts one op's outcome into `rec`; true if the session is gone and the worker should stop.
pub(crate) fn count(
    rec: &mut Recorder,
    result: Result<(), Error>,
    measured: bool,
    took: Duration,
) -> bool {
    match result {
        Ok(()) if measured => rec.ok(took),
        Ok(()) => {}
        Err(e) => {
            let name = error_name(&e);
            rec.error(&if measured {
                name
            } else {
                format!("warmup {name}")
            });
            return matches!(e, Error::Closed | Error::SessionExpired | Error::AuthFailed);
        }
    }
    false
}

async fn run_requests(config: &Config) -> Result<Summary, String> {
    let clients = connect_all(config).await?;
    let layout = Layout {
        root: run_root(),
        keys: config.keys,
    };
    let value = vec![b'x'; config.value_size];
    set_up(&clients[0], config, &layout, &value).await?;

    let plan = Arc::new(Plan {
        workload: config.workload,
        window: Window::starting_now(config),
        workers: clients.len() * config.depth,
        batch: config.batch,
        key_paths: if config.workload.uses_keys() {
            (0..layout.keys).map(|j| layout.key(j)).collect()
        } else {
            Vec::new()
        },
        parent: layout.parent(),
        layout,
        value,
    });
    // One recorder per session, shared by its `depth` workers: a histogram is a few hundred
    // KiB, and one per worker (1024 at 64 x 16) would cost the bench memory and cache misses
    // on the cores it shares with the server.
    let recorders: Vec<Arc<Mutex<Recorder>>> = (0..clients.len())
        .map(|_| Arc::new(Mutex::new(Recorder::default())))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (session, client) in clients.iter().enumerate() {
        for slot in 0..config.depth {
            let worker = Worker {
                client: client.clone(),
                index: session * config.depth + slot,
                session,
                plan: plan.clone(),
                rec: recorders[session].clone(),
            };
            tasks.spawn(worker.run());
        }
    }
    let mut total = Recorder::default();
    let mut last_reply = plan.window.measure_from;
    while let Some(done) = tasks.join_next().await {
        let last = done.map_err(|e| format!("a worker failed: {e}"))?;
        last_reply = last_reply.max(last);
    }
    for rec in &recorders {
        total.merge(&rec.lock().expect("no worker panicked holding it"));
    }
    for c in &clients {
        if let Err(e) = c.close().await {
            total.error(&format!("close {}", error_name(&e)));
        }
    }
    Ok(total.summary(last_reply - plan.window.measure_from))
}

pub(crate) async fn connect_all(config: &Config) -> Result<Vec<Client>, String> {
    let options = session_options();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..config.clients {
        let (servers, options) = (config.servers.clone(), options.clone());
        tasks.spawn(async move { Client::connect_with(&servers, options).await });
    }
    let mut clients = Vec::with_capacity(config.clients);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(c)) => clients.push(c),
            Ok(Err(e)) => return Err(format!("cannot connect to {}: {e}", config.servers)),
            Err(e) => return Err(format!("connecting failed: {e}")),
        }
    }
    Ok(clients)
}

/// A root no other run uses: `/corral-bench-<pid>-<milliseconds since 1970>`.
pub(crate) fn run_root() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("/corral-bench-{}-{ms}", std::process::id())
}

/// Creates the root and the keys (or the sessions' directories for the workloads that
/// create, or the parent and its children for `children`), in batches.
async fn set_up(
    client: &Client,
    config: &Config,
    layout: &Layout,
    value: &[u8],
) -> Result<(), String> {
    let acl = Acl::open();
    let failed = |e: Error| format!("setting up {}: {e}", layout.root);
    client
        .create(&layout.root, b"", &acl, CreateMode::Persistent)
        .await
        .map_err(failed)?;
    let nodes: Vec<(String, &[u8])> = if config.workload.uses_keys() {
        (0..layout.keys).map(|j| (layout.key(j), value)).collect()
    } else if config.workload.creates() {
        (0..config.clients)
            .map(|i| (layout.session_dir(i), &b""[..]))
            .collect()
    } else {
        let parent = layout.parent();
        let children = (0..CHILDREN).map(|j| (format!("{parent}/c{j}"), value));
        std::iter::once((parent.clone(), &b""[..]))
            .chain(children)
            .collect()
    };
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (i, (path, data)) in nodes.iter().enumerate() {
        batch.push(Op::create(path, data, &acl, CreateMode::Persistent));
        bytes += path.len() + data.len() + 64;
        if i + 1 == nodes.len() || batch.len() == SETUP_BATCH_OPS || bytes >= SETUP_BATCH_BYTES {
            client
                .multi(std::mem::take(&mut batch))
                .await
                .map_err(failed)?;
            bytes = 0;
        }
    }
    Ok(())
}

/// What every worker of a run shares.
struct Plan {
    workload: Workload,
    window: Window,
    workers: usize,
    /// Creates per `create` request.
    batch: usize,
    layout: Layout,
    key_paths: Vec<String>,
    /// The znode `children` lists.
    parent: String,
    value: Vec<u8>,
}

/// One request in flight at a time on a session shared with `depth - 1` other workers.
struct Worker {
    client: Client,
    index: usize,
    session: usize,
    plan: Arc<Plan>,
    /// The session's recorder; locked only to count an op (never across an await).
    rec: Arc<Mutex<Recorder>>,
}

impl Worker {
    /// Sends requests until the deadline or the quota, counting them in the session's
    /// recorder; returns when its last reply came.
    async fn run(self) -> Instant {
        let plan = &*self.plan;
        let acl = Acl::open();
        let dir = plan.layout.session_dir(self.session);
        let mut last = Instant::now();
        for n in 0u64.. {
            let started = Instant::now();
            let Some(measured) = plan.window.next_op(started) else {
                break;
            };
            let key =
                || plan.key_paths[plan.layout.key_index(self.index, plan.workers, n)].as_str();
            let c = &self.client;
            let result = match plan.workload.request(n) {
                Request::Create if plan.batch == 1 => {
                    let path = format!("{dir}/w{}-{n}", self.index);
                    c.create(&path, &plan.value, &acl, CreateMode::Persistent)
                        .await
                        .map(drop)
                }
                Request::Create => {
                    let ops = (0..plan.batch)
                        .map(|b| {
                            let path = format!("{dir}/w{}-{n}-{b}", self.index);
                            Op::create(&path, &plan.value, &acl, CreateMode::Persistent)
                        })
                        .collect();
                    c.multi(ops).await.map(drop)
                }
                Request::Set => c.set_data(key(), &plan.value, None).await.map(drop),
                Request::Get => c.get_data(key()).await.map(drop),
                Request::Exists => match c.exists(key()).await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(Error::NoNode),
                    Err(e) => Err(e),
                },
                Request::Children => c.get_children(&plan.parent).await.map(drop),
                Request::EphemeralSeq => {
                    let prefix = format!("{dir}/e-");
                    match c
                        .create(&prefix, &plan.value, &acl, CreateMode::EphemeralSequential)
                        .await
                    {
                        Ok((path, _)) => c.delete(&path, None).await,
                        Err(e) => Err(e),
                    }
                }
            };
            last = Instant::now();
            let mut rec = self.rec.lock().expect("no worker panicked holding it");
            if count(&mut rec, result, measured, last - started) {
                break;
            }
        }
        last
    }
}

/// The error's variant name (`ConnectionLoss`, `NoNode`, ...).
pub(crate) fn error_name(e: &Error) -> String {
    let debug = format!("{e:?}");
    let end = debug
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(debug.len());
    debug[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names() {
        assert_eq!(error_name(&Error::ConnectionLoss), "ConnectionLoss");
        assert_eq!(error_name(&Error::Protocol("x".into())), "Protocol");
    }

    #[test]
    fn quota() {
        let now = Instant::now();
        let window = |quota| Window {
            measure_from: now,
            deadline: now + Duration::from_secs(60),
            quota,
            measured: AtomicU64::new(0),
        };
        let w = window(Some(2));
        assert_eq!(
            [w.next_op(now), w.next_op(now), w.next_op(now)],
            [Some(true), Some(true), None]
        );
        assert!((0..100).all(|_| window(None).next_op(now) == Some(true)));
        assert_eq!(w.next_op(w.deadline), None);
    }
}
