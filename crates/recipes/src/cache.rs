//! What the node and tree caches share: the cached node, how they watch, and reading a
//! persistent watch's queued events without waiting.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use corral_client::{
    AddWatchMode, Client, Error, PersistentWatch, Result, SessionState, Stat, WatchedEvent,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sessions::retrying;

/// A node as a cache holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeData {
    pub data: Vec<u8>,
    pub stat: Stat,
}

/// How a cache learns of changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheWatches {
    /// A persistent watch (`addWatch`, recursive for a tree), or one-shot watches when the
    /// server answers `Unimplemented` (ZooKeeper before 3.6).
    Auto,
    /// One-shot watches only, set again after each event.
    OneShot,
}

/// Adds a persistent watch of `mode` on `path`; `None` for one-shot watches (asked for, or
/// the only kind the server has).
pub(crate) async fn persistent_watch(
    client: &Client,
    path: &str,
    mode: AddWatchMode,
    watches: CacheWatches,
) -> Result<Option<PersistentWatch>> {
    if watches == CacheWatches::OneShot {
        return Ok(None);
    }
    match retrying(client, || client.add_watch(path, mode)).await {
        Ok(w) => Ok(Some(w)),
        Err(Error::Unimplemented) => {
            tracing::debug!(%path, "no persistent watches on this server: one-shot watches");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The events already queued on `w`, without waiting.
pub(crate) fn queued(w: &mut PersistentWatch) -> Vec<WatchedEvent> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    while let Poll::Ready(Some(ev)) = futures_core::Stream::poll_next(Pin::new(&mut *w), &mut cx) {
        out.push(ev);
    }
    out
}

/// What a session state change means to a cache.
pub(crate) enum SessionChange {
    /// Connected again: events may have been missed while away (a persistent watch is not
    /// replayed), so read everything again.
    Reconnected,
    /// Still away.
    Away,
    /// The session is over: the cache stops where it is.
    Ended,
}

/// Waits for the session's next state change.
pub(crate) async fn session_change(state: &mut watch::Receiver<SessionState>) -> SessionChange {
    if state.changed().await.is_err() {
        return SessionChange::Ended;
    }
    match *state.borrow_and_update() {
        SessionState::Connected => SessionChange::Reconnected,
        SessionState::Disconnected => SessionChange::Away,
        _ => SessionChange::Ended,
    }
}

/// How a cache's task tells `start` that its first load is in, or why it failed.
#[derive(Clone)]
pub(crate) struct Loaded(watch::Sender<Option<Result<()>>>);

impl Loaded {
    /// The first load is in (later calls change nothing).
    pub fn done(&self) {
        self.set(Ok(()));
    }

    fn set(&self, r: Result<()>) {
        self.0
            .send_if_modified(|s| s.is_none() && s.replace(r).is_none());
    }
}

/// Runs a cache's `follow` task and waits for its first load; returns the task.
pub(crate) async fn spawn_follower<Fut>(
    path: &str,
    follow: impl FnOnce(Loaded) -> Fut,
) -> Result<JoinHandle<()>>
where
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let (tx, mut first) = watch::channel(None);
    let loaded = Loaded(tx);
    let run = follow(loaded.clone());
    let path = path.to_string();
    let task = tokio::spawn(async move {
        if let Err(e) = run.await {
            tracing::debug!(%path, error = %e, "cache stopped");
            loaded.set(Err(e));
        }
    });
    let r = first
        .wait_for(Option::is_some)
        .await
        .map_err(|_| Error::Closed)?;
    r.clone().expect("set").map(|()| task)
}
