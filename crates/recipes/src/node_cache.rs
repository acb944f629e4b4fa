//! [`NodeCache`]: one node's data and Stat, kept current in the background and read locally
//! (Curator's `NodeCache`).
//!
//! It watches the node with a persistent watch (`addWatch`), reading the node again after
//! each batch of events; on a server without persistent watches (`Unimplemented`) it falls
//! back to one-shot watches set again on every read. After a reconnect it reads the node
//! again, since a persistent watch does not replay what changed while the client was away.
//! A reader sees a value the node had, never a torn one; it may lag the server by the time
//! an event takes to arrive.

use corral_client::{AddWatchMode, Client, Error, Result, WatchFuture};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cache::{
    persistent_watch, queued, session_change, spawn_follower, CacheWatches, Loaded, NodeData,
    SessionChange,
};
use crate::sessions::{is_transient, retrying, wait_connected};

/// A cached node. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::NodeCache;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let config = NodeCache::start(&zk, "/app/config").await?;
/// if let Some(node) = config.get() {
///     println!("config v{}: {} bytes", node.stat.version, node.data.len());
/// }
/// let mut changes = config.changes();
/// changes.changed().await.ok(); // the next change
/// # Ok(())
/// # }
/// ```
pub struct NodeCache {
    current: watch::Receiver<Option<NodeData>>,
    persistent: bool,
    task: JoinHandle<()>,
}

impl NodeCache {
    /// Starts caching `path` (which need not exist); returns once the first read is in.
    pub async fn start(client: &Client, path: &str) -> Result<NodeCache> {
        NodeCache::start_with(client, path, CacheWatches::Auto).await
    }

    /// As `start`, with one-shot watches only if `watches` says so.
    pub async fn start_with(
        client: &Client,
        path: &str,
        watches: CacheWatches,
    ) -> Result<NodeCache> {
        let stream = persistent_watch(client, path, AddWatchMode::Persistent, watches).await?;
        let persistent = stream.is_some();
        let (publish, current) = watch::channel(None);
        let (client, p) = (client.clone(), path.to_string());
        let task = spawn_follower(path, move |loaded| async move {
            match stream {
                Some(s) => follow_persistent(&client, &p, s, &publish, loaded).await,
                None => follow_one_shot(&client, &p, &publish, loaded).await,
            }
        })
        .await?;
        Ok(NodeCache {
            current,
            persistent,
            task,
        })
    }

    /// The node as last read; `None` if it does not exist.
    pub fn get(&self) -> Option<NodeData> {
        self.current.borrow().clone()
    }

    /// The node, as it changes.
    pub fn changes(&self) -> watch::Receiver<Option<NodeData>> {
        self.current.clone()
    }

    /// True if the cache follows a persistent watch (false: one-shot watches).
    pub fn uses_persistent_watch(&self) -> bool {
        self.persistent
    }
}

impl Drop for NodeCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Publishes `value` if it differs from the cached one.
fn publish(to: &watch::Sender<Option<NodeData>>, value: Option<NodeData>, loaded: &Loaded) {
    to.send_if_modified(|v| {
        let changed = *v != value;
        *v = value;
        changed
    });
    loaded.done();
}

async fn read(client: &Client, path: &str) -> Result<Option<NodeData>> {
    match retrying(client, || client.get_data(path)).await {
        Ok((data, stat)) => Ok(Some(NodeData { data, stat })),
        Err(Error::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn follow_persistent(
    client: &Client,
    path: &str,
    mut events: corral_client::PersistentWatch,
    to: &watch::Sender<Option<NodeData>>,
    loaded: Loaded,
) -> Result<()> {
    let mut state = client.state();
    state.borrow_and_update();
    loop {
        publish(to, read(client, path).await?, &loaded);
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some(_) => {
                        queued(&mut events);
                        break;
                    }
                    None => return Ok(()),
                },
                change = session_change(&mut state) => match change {
                    SessionChange::Reconnected => break,
                    SessionChange::Away => {}
                    SessionChange::Ended => return Ok(()),
                },
            }
        }
    }
}

async fn follow_one_shot(
    client: &Client,
    path: &str,
    to: &watch::Sender<Option<NodeData>>,
    loaded: Loaded,
) -> Result<()> {
    loop {
        let (value, changed) = match read_watched(client, path).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) if is_transient(&e) => {
                wait_connected(client).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        publish(to, value, &loaded);
        // Resolves on the next change, or with an error once the session is over.
        changed.await?;
    }
}

/// The node with a one-shot watch on it (a data watch if it exists, an exists watch if not);
/// `None` when it changed between the two reads (read again).
async fn read_watched(
    client: &Client,
    path: &str,
) -> Result<Option<(Option<NodeData>, WatchFuture)>> {
    match client.get_data_w(path).await {
        Ok((data, stat, w)) => Ok(Some((Some(NodeData { data, stat }), w))),
        Err(Error::NoNode) => match client.exists_w(path).await? {
            (None, w) => Ok(Some((None, w))),
            (Some(_), _) => Ok(None),
        },
        Err(e) => Err(e),
    }
}
