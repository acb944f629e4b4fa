//! The `watch` workload: watch fan-out latency.
//!
//! `clients` sessions each set a one-shot data watch on one znode (`getData` with a watch);
//! once every watch is set, one more session changes the znode (`setData`). An op is one such
//! round; its latency runs from the moment the `setData` is sent until the last session has
//! its event. Rounds follow one another until the run's deadline (or `--ops` rounds).

use std::time::{Duration, Instant};

use corral_client::{Acl, Client, CreateMode, Error};
use tokio::task::JoinSet;

use crate::args::Config;
use crate::run::{connect_all, count, run_root, session_options, Window};
use crate::stats::{Recorder, Summary};

/// Longest wait for every watcher's event in one round.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(config: &Config) -> Result<Summary, String> {
    let watchers = connect_all(config).await?;
    let writer = Client::connect_with(&config.servers, session_options())
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", config.servers))?;
    let root = run_root();
    let path = format!("{root}/w");
    let value = vec![b'x'; config.value_size];
    for (p, data) in [(&root, &b""[..]), (&path, &value[..])] {
        writer
            .create(p, data, &Acl::open(), CreateMode::Persistent)
            .await
            .map_err(|e| format!("setting up {root}: {e}"))?;
    }
    let window = Window::starting_now(config);
    let mut rec = Recorder::default();
    let mut last = window.measure_from;
    while let Some(measured) = window.next_op(Instant::now()) {
        let result = round(&watchers, &writer, &path, &value).await;
        last = Instant::now();
        // A failed round is counted as an error; its time is not recorded.
        let took = result.as_ref().map_or(Duration::ZERO, |t| *t);
        if count(&mut rec, result.map(drop), measured, took) {
            break;
        }
    }
    for c in watchers.iter().chain([&writer]) {
        if let Err(e) = c.close().await {
            rec.error(&format!("close {}", crate::run::error_name(&e)));
        }
    }
    Ok(rec.summary(last.saturating_duration_since(window.measure_from)))
}

/// One round: every watcher sets its watch, the writer changes the znode, every watcher is
/// notified. Returns the time from the write sent to the last notification.
async fn round(
    watchers: &[Client],
    writer: &Client,
    path: &str,
    value: &[u8],
) -> Result<Duration, Error> {
    let mut setting = JoinSet::new();
    for c in watchers {
        let (c, path) = (c.clone(), path.to_string());
        setting.spawn(async move { c.get_data_w(&path).await.map(|(_, _, watch)| watch) });
    }
    let mut watches = Vec::with_capacity(watchers.len());
    while let Some(set) = setting.join_next().await {
        watches.push(set.map_err(|_| Error::Closed)??);
    }
    let mut notified = JoinSet::new();
    for watch in watches {
        notified.spawn(async move { watch.await.map(|_| Instant::now()) });
    }
    let sent = Instant::now();
    writer.set_data(path, value, None).await?;
    let mut last = sent;
    let all = async {
        while let Some(event) = notified.join_next().await {
            last = last.max(event.map_err(|_| Error::Closed)??);
        }
        Ok::<(), Error>(())
    };
    match tokio::time::timeout(NOTIFY_TIMEOUT, all).await {
        Ok(result) => result?,
        Err(_) => return Err(Error::Timeout),
    }
    Ok(last - sent)
}
