//! The client's watch table and the handles callers hold: [`WatchFuture`] for a one-shot
//! watch, [`PersistentWatch`] for a persistent one.
//!
//! The server sends one notification per trigger per connection; this table fans it out to
//! every local watcher it concerns, as ZooKeeper's `ZKWatchManager.materialize` does:
//! created and data-changed wake data and exist watchers, deleted wakes data, exist and child
//! watchers, children-changed wakes child watchers; persistent watchers on the path see every
//! event, persistent-recursive watchers on the path or an ancestor every event but
//! children-changed.
//!
//! Invariants:
//! - A one-shot watcher fires at most once: it is removed from the table as it fires.
//! - A watch is registered when the reply to its request is processed, before that reply is
//!   handed to the caller, and events are processed in arrival order, so no event that the
//!   server sent after the reply can be missed.
//! - Keys are server paths (chroot applied); event paths are stripped before delivery.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use crate::chroot::Chroot;
use crate::error::Error;
use crate::event::{EventType, WatchedEvent};
use crate::ops::WatcherType;

type OneShot = oneshot::Sender<Result<WatchedEvent, Error>>;
type Stream = mpsc::UnboundedSender<WatchedEvent>;

/// Which table a watch goes in once its request succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchKind {
    Data,
    /// From `exists`: a data watch if the node exists, an exist watch if it does not.
    Exists,
    Child,
    Persistent,
    PersistentRecursive,
}

/// A watch waiting for its request's reply.
pub(crate) struct Registration {
    pub kind: WatchKind,
    /// The server path.
    pub path: String,
    pub sink: Sink,
}

/// What a request does to the watch table once its reply arrives.
pub(crate) enum WatchChange {
    Add(Registration),
    /// `removeWatches`: drop the local watchers the server removed (server path).
    Remove {
        path: String,
        which: WatcherType,
    },
}

pub(crate) enum Sink {
    OneShot(OneShot),
    Stream(Stream),
}

#[derive(Default)]
pub(crate) struct WatchTable {
    data: HashMap<String, Vec<OneShot>>,
    exist: HashMap<String, Vec<OneShot>>,
    child: HashMap<String, Vec<OneShot>>,
    persistent: HashMap<String, Vec<Stream>>,
    recursive: HashMap<String, Vec<Stream>>,
}

/// The server paths to re-register after a reconnect (`SetWatches2`).
#[derive(Debug, Default)]
pub(crate) struct WatchPaths {
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub recursive: Vec<String>,
}

impl WatchPaths {
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.recursive.is_empty()
    }
}

impl WatchTable {
    /// Adds a watch whose request completed with `err` (0 or a ZooKeeper code). Only
    /// successful requests register, except `exists` on a missing node, which leaves an
    /// exist watch (ZooKeeper's `ExistsWatchRegistration`).
    pub fn register(&mut self, reg: Registration, err: i32) {
        let no_node = corral_jute::ErrorCode::NoNode.as_i32();
        let Registration { kind, path, sink } = reg;
        match (kind, sink) {
            (WatchKind::Exists, Sink::OneShot(s)) if err == no_node => {
                self.exist.entry(path).or_default().push(s)
            }
            _ if err != 0 => {}
            (WatchKind::Data | WatchKind::Exists, Sink::OneShot(s)) => {
                self.data.entry(path).or_default().push(s)
            }
            (WatchKind::Child, Sink::OneShot(s)) => self.child.entry(path).or_default().push(s),
            (WatchKind::Persistent, Sink::Stream(s)) => {
                self.persistent.entry(path).or_default().push(s)
            }
            (WatchKind::PersistentRecursive, Sink::Stream(s)) => {
                self.recursive.entry(path).or_default().push(s)
            }
            _ => debug_assert!(false, "watch kind and sink disagree"),
        }
    }

    /// Delivers one notification to every watcher it concerns.
    pub fn dispatch(&mut self, kind: EventType, server_path: &str, chroot: &Chroot) {
        let ev = WatchedEvent {
            event_type: kind,
            path: chroot.strip(server_path),
        };
        let fire = |table: &mut HashMap<String, Vec<OneShot>>| {
            for s in table.remove(server_path).unwrap_or_default() {
                let _ = s.send(Ok(ev.clone()));
            }
        };
        match kind {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                fire(&mut self.data);
                fire(&mut self.exist);
            }
            EventType::NodeDeleted => {
                fire(&mut self.data);
                fire(&mut self.exist);
                fire(&mut self.child);
            }
            EventType::NodeChildrenChanged => fire(&mut self.child),
            _ => return,
        }
        send_all(&mut self.persistent, server_path, &ev);
        if kind != EventType::NodeChildrenChanged {
            let mut at = server_path;
            loop {
                send_all(&mut self.recursive, at, &ev);
                if at == "/" {
                    break;
                }
                at = match at.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &at[..i],
                    None => break,
                };
            }
        }
    }

    /// Forgets the watchers `remove_watches` removed on the server and tells them so.
    /// `Children` removes child watchers; `Data` data, exist and persistent watchers; `Any`
    /// all of them.
    pub fn remove(&mut self, server_path: &str, which: WatcherType, chroot: &Chroot) {
        let path = chroot.strip(server_path);
        let ev = |t| WatchedEvent {
            event_type: t,
            path: path.clone(),
        };
        let children = matches!(which, WatcherType::Children | WatcherType::Any);
        let data = matches!(which, WatcherType::Data | WatcherType::Any);
        if children {
            for s in self.child.remove(server_path).unwrap_or_default() {
                let _ = s.send(Ok(ev(EventType::ChildWatchRemoved)));
            }
        }
        if data {
            for table in [&mut self.data, &mut self.exist] {
                for s in table.remove(server_path).unwrap_or_default() {
                    let _ = s.send(Ok(ev(EventType::DataWatchRemoved)));
                }
            }
            for table in [&mut self.persistent, &mut self.recursive] {
                for s in table.remove(server_path).unwrap_or_default() {
                    let _ = s.send(ev(EventType::PersistentWatchRemoved));
                }
            }
        }
    }

    /// The paths that still have a live watcher, for `SetWatches2`.
    pub fn paths(&mut self) -> WatchPaths {
        fn live1(t: &mut HashMap<String, Vec<OneShot>>) -> Vec<String> {
            t.retain(|_, v| {
                v.retain(|s| !s.is_closed());
                !v.is_empty()
            });
            t.keys().cloned().collect()
        }
        fn live2(t: &mut HashMap<String, Vec<Stream>>) -> Vec<String> {
            t.retain(|_, v| {
                v.retain(|s| !s.is_closed());
                !v.is_empty()
            });
            t.keys().cloned().collect()
        }
        WatchPaths {
            data: live1(&mut self.data),
            exist: live1(&mut self.exist),
            child: live1(&mut self.child),
            persistent: live2(&mut self.persistent),
            recursive: live2(&mut self.recursive),
        }
    }

    /// Ends every watch: one-shot watchers get `err`, persistent streams end.
    pub fn fail_all(&mut self, err: &Error) {
        for table in [&mut self.data, &mut self.exist, &mut self.child] {
            for (_, v) in table.drain() {
                for s in v {
                    let _ = s.send(Err(err.clone()));
                }
            }
        }
        self.persistent.clear();
        self.recursive.clear();
    }
}

fn send_all(table: &mut HashMap<String, Vec<Stream>>, path: &str, ev: &WatchedEvent) {
    if let Some(v) = table.get_mut(path) {
        v.retain(|s| s.send(ev.clone()).is_ok());
        if v.is_empty() {
            table.remove(path);
        }
    }
}

/// A one-shot watch: resolves with the first event on its node, or with `SessionExpired` /
/// `Closed` if the session ends first. It survives reconnects (the client re-registers it).
#[must_use = "a watch does nothing unless awaited"]
pub struct WatchFuture {
    rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
}

impl WatchFuture {
    pub(crate) fn new() -> (WatchFuture, Sink) {
        let (tx, rx) = oneshot::channel();
        (WatchFuture { rx }, Sink::OneShot(tx))
    }
}

impl Future for WatchFuture {
    type Output = Result<WatchedEvent, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

/// A persistent or persistent-recursive watch: a stream of events that ends when the watch is
/// removed or the session ends. Events queue without bound until read.
pub struct PersistentWatch {
    rx: mpsc::UnboundedReceiver<WatchedEvent>,
}

impl PersistentWatch {
    pub(crate) fn new() -> (PersistentWatch, Sink) {
        let (tx, rx) = mpsc::unbounded_channel();
        (PersistentWatch { rx }, Sink::Stream(tx))
    }

    /// The next event; `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<WatchedEvent> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for PersistentWatch {
    type Item = WatchedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchedEvent>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(t: &mut WatchTable, kind: WatchKind, path: &str) -> WatchFuture {
        let (f, sink) = WatchFuture::new();
        t.register(
            Registration {
                kind,
                path: path.into(),
                sink,
            },
            0,
        );
        f
    }

    #[tokio::test]
    async fn deleted_wakes_data_and_child_watchers_once() {
        let mut t = WatchTable::default();
        let d = reg(&mut t, WatchKind::Data, "/r/a");
        let c = reg(&mut t, WatchKind::Child, "/r/a");
        let chroot = Chroot::new("/r").unwrap();
        t.dispatch(EventType::NodeDeleted, "/r/a", &chroot);
        assert_eq!(d.await.unwrap().path, "/a");
        assert_eq!(c.await.unwrap().event_type, EventType::NodeDeleted);
        assert!(t.paths().is_empty());
    }

    #[tokio::test]
    async fn recursive_sees_descendants_but_not_children_changed() {
        let mut t = WatchTable::default();
        let (mut w, sink) = PersistentWatch::new();
        t.register(
            Registration {
                kind: WatchKind::PersistentRecursive,
                path: "/".into(),
                sink,
            },
            0,
        );
        let none = Chroot::none();
        t.dispatch(EventType::NodeChildrenChanged, "/a", &none);
        t.dispatch(EventType::NodeCreated, "/a/b", &none);
        assert_eq!(w.next().await.unwrap().path, "/a/b");
    }
}
