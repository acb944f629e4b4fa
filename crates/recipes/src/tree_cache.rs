//! [`TreeCache`]: a whole subtree's data and Stats, kept current in the background and read
//! locally (Curator's `CuratorCache` / `TreeCache`).
//!
//! It sets one persistent-recursive watch (`addWatch`) on the root, then loads the tree level
//! by level with `multiRead` ([`LOAD_BATCH`] nodes, two reads each, per request). Each batch
//! of events is applied in order: a deletion removes the node and what is below it; a
//! creation or data change is read again (again with `multiRead`), and a node found gone by
//! that read is removed. Because the watch is set before the load, every change after the
//! load's reads arrives as an event, and each event is followed by a read of the node's
//! current state, so the cache converges on the server's tree. After a reconnect it loads
//! everything again (a persistent watch does not replay what changed while away).
//!
//! On a server without persistent watches (`Unimplemented`) it keeps a one-shot data watch
//! and child watch on every node instead, setting each again when it fires; the client
//! re-registers those after a reconnect and the server fires what changed meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use corral_client::{
    AddWatchMode, Client, Error, EventType, OpResult, PersistentWatch, ReadOp, Result, WatchFuture,
    WatchedEvent,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cache::{
    persistent_watch, queued, session_change, spawn_follower, CacheWatches, Loaded, NodeData,
    SessionChange,
};
use crate::nodes::join;
use crate::sessions::retrying;

/// Most nodes read by one `multiRead` (two ops each: data and children).
pub const LOAD_BATCH: usize = 64;

type Nodes = BTreeMap<String, NodeData>;

/// A cached subtree. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::TreeCache;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let services = TreeCache::start(&zk, "/app/services").await?;
/// for name in services.children("/app/services") {
///     let node = services.get(&format!("/app/services/{name}")).unwrap();
///     println!("{name}: {:?}", String::from_utf8_lossy(&node.data));
/// }
/// # Ok(())
/// # }
/// ```
pub struct TreeCache {
    nodes: Arc<RwLock<Nodes>>,
    version: watch::Receiver<u64>,
    persistent: bool,
    task: JoinHandle<()>,
}

impl TreeCache {
    /// Starts caching the tree under `root` (which need not exist); returns once it is loaded.
    pub async fn start(client: &Client, root: &str) -> Result<TreeCache> {
        TreeCache::start_with(client, root, CacheWatches::Auto).await
    }

    /// As `start`, with one-shot watches only if `watches` says so.
    pub async fn start_with(
        client: &Client,
        root: &str,
        watches: CacheWatches,
    ) -> Result<TreeCache> {
        let stream =
            persistent_watch(client, root, AddWatchMode::PersistentRecursive, watches).await?;
        let persistent = stream.is_some();
        let (version_tx, version) = watch::channel(0);
        let tree = Tree {
            nodes: Arc::default(),
            version: version_tx,
        };
        let nodes = tree.nodes.clone();
        let (client, r) = (client.clone(), root.to_string());
        let task = spawn_follower(root, move |loaded| async move {
            match stream {
                Some(s) => follow_recursive(&client, &r, s, &tree, loaded).await,
                None => follow_one_shot(&client, &r, &tree, loaded).await,
            }
        })
        .await?;
        Ok(TreeCache {
            nodes,
            version,
            persistent,
            task,
        })
    }

    /// A cached node.
    pub fn get(&self, path: &str) -> Option<NodeData> {
        self.nodes.read().unwrap().get(path).cloned()
    }

    /// The names of a cached node's children, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let nodes = self.nodes.read().unwrap();
        below(&nodes, path)
            .filter_map(|p| p[prefix_len(path)..].split('/').next().map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Every cached node.
    pub fn snapshot(&self) -> BTreeMap<String, NodeData> {
        self.nodes.read().unwrap().clone()
    }

    /// How many nodes are cached.
    pub fn len(&self) -> usize {
        self.nodes.read().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bumped after every change applied to the cache.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.clone()
    }

    /// Waits until `f` holds for the cached nodes (checked after each change).
    pub async fn wait_for(
        &self,
        mut f: impl FnMut(&BTreeMap<String, NodeData>) -> bool,
    ) -> Result<()> {
        let mut changes = self.version.clone();
        loop {
            if f(&self.nodes.read().unwrap()) {
                return Ok(());
            }
            changes.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    /// True if the cache follows a persistent-recursive watch (false: one-shot watches).
    pub fn uses_persistent_watch(&self) -> bool {
        self.persistent
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn prefix_len(path: &str) -> usize {
    if path == "/" {
        1
    } else {
        path.len() + 1
    }
}

/// The cached paths strictly below `path`.
fn below<'a>(nodes: &'a Nodes, path: &str) -> impl Iterator<Item = &'a String> + 'a {
    let prefix = if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    nodes
        .range(prefix.clone()..)
        .map(|(k, _)| k)
        .take_while(move |k| k.starts_with(&prefix))
}

/// The cache's side of the task: the nodes and the change counter.
struct Tree {
    nodes: Arc<RwLock<Nodes>>,
    version: watch::Sender<u64>,
}

impl Tree {
    fn change(&self, f: impl FnOnce(&mut Nodes)) {
        f(&mut self.nodes.write().unwrap());
        self.version.send_modify(|v| *v += 1);
    }
}

fn remove_subtree(nodes: &mut Nodes, path: &str) {
    let gone: Vec<String> = below(nodes, path).cloned().collect();
    for p in gone {
        nodes.remove(&p);
    }
    nodes.remove(path);
}

async fn follow_recursive(
    client: &Client,
    root: &str,
    mut events: PersistentWatch,
    tree: &Tree,
    loaded: Loaded,
) -> Result<()> {
    let mut state = client.state();
    state.borrow_and_update();
    loop {
        let all = load_all(client, root).await?;
        tree.change(|nodes| *nodes = all);
        loaded.done();
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some(ev) => {
                        let mut batch = vec![ev];
                        batch.extend(queued(&mut events));
                        apply(client, tree, batch).await?;
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

/// Reads `root` and everything below it, a level at a time.
async fn load_all(client: &Client, root: &str) -> Result<Nodes> {
    let mut out = Nodes::new();
    let mut level = vec![root.to_string()];
    while !level.is_empty() {
        let mut next = Vec::new();
        for chunk in level.chunks(LOAD_BATCH) {
            let ops: Vec<ReadOp> = chunk
                .iter()
                .flat_map(|p| [ReadOp::GetData(p.clone()), ReadOp::GetChildren(p.clone())])
                .collect();
            let results = retrying(client, || client.multi_read(ops.clone())).await?;
            for (path, pair) in chunk.iter().zip(results.chunks(2)) {
                // A node gone meanwhile is left out; its deletion event follows.
                if let [OpResult::GetData { data, stat }, OpResult::GetChildren { children }] = pair
                {
                    let node = NodeData {
                        data: data.clone(),
                        stat: stat.clone(),
                    };
                    out.insert(path.clone(), node);
                    next.extend(children.iter().map(|c| join(path, c)));
                }
            }
        }
        level = next;
    }
    Ok(out)
}

/// Applies a batch of events from the recursive watch: deletions at once, then one read of
/// every created or changed node.
async fn apply(client: &Client, tree: &Tree, batch: Vec<WatchedEvent>) -> Result<()> {
    let mut stale = BTreeSet::new();
    tree.change(|nodes| {
        for ev in batch {
            match ev.event_type {
                EventType::NodeDeleted => remove_subtree(nodes, &ev.path),
                EventType::NodeCreated | EventType::NodeDataChanged => {
                    stale.insert(ev.path);
                }
                _ => {}
            }
        }
    });
    let stale: Vec<String> = stale.into_iter().collect();
    for chunk in stale.chunks(LOAD_BATCH) {
        let ops: Vec<ReadOp> = chunk.iter().map(|p| ReadOp::GetData(p.clone())).collect();
        let results = retrying(client, || client.multi_read(ops.clone())).await?;
        tree.change(|nodes| {
            for (path, r) in chunk.iter().zip(results) {
                match r {
                    OpResult::GetData { data, stat } => {
                        nodes.insert(path.clone(), NodeData { data, stat });
                    }
                    _ => remove_subtree(nodes, path),
                }
            }
        });
    }
    Ok(())
}

/// Which one-shot watch fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Child,
    Exists,
}

type Fired = mpsc::UnboundedSender<(Kind, WatchedEvent)>;

/// Hands the watch's event to the cache task when it fires.
fn forward(kind: Kind, w: WatchFuture, to: &Fired) {
    let to = to.clone();
    tokio::spawn(async move {
        if let Ok(ev) = w.await {
            let _ = to.send((kind, ev));
        }
    });
}

async fn follow_one_shot(client: &Client, root: &str, tree: &Tree, loaded: Loaded) -> Result<()> {
    let (fired, mut events) = mpsc::unbounded_channel();
    let mut state = client.state();
    state.borrow_and_update();
    load_watched(client, root, root, tree, &fired).await?;
    loaded.done();
    loop {
        let (kind, ev) = tokio::select! {
            ev = events.recv() => ev.expect("the task holds a sender"),
            change = session_change(&mut state) => match change {
                SessionChange::Ended => return Ok(()),
                _ => continue,
            },
        };
        let path = ev.path.as_str();
        match (kind, ev.event_type) {
            (Kind::Data, EventType::NodeDataChanged) => {
                match retrying(client, || client.get_data_w(path)).await {
                    Ok((data, stat, w)) => {
                        tree.change(|n| drop(n.insert(path.to_string(), NodeData { data, stat })));
                        forward(Kind::Data, w, &fired);
                    }
                    Err(Error::NoNode) => {} // its deletion event follows
                    Err(e) => return Err(e),
                }
            }
            (Kind::Data, EventType::NodeDeleted) => {
                tree.change(|n| remove_subtree(n, path));
                if path == root {
                    load_watched(client, root, root, tree, &fired).await?;
                }
            }
            (Kind::Child, EventType::NodeChildrenChanged) => {
                let (children, w) = match retrying(client, || client.get_children_w(path)).await {
                    Ok(r) => r,
                    Err(Error::NoNode) => continue,
                    Err(e) => return Err(e),
                };
                forward(Kind::Child, w, &fired);
                let now: BTreeSet<String> = children.iter().map(|c| join(path, c)).collect();
                let known: BTreeSet<String> = {
                    let nodes = tree.nodes.read().unwrap();
                    let depth = prefix_len(path);
                    below(&nodes, path)
                        .filter(|p| !p[depth..].contains('/'))
                        .cloned()
                        .collect()
                };
                tree.change(|n| known.difference(&now).for_each(|p| remove_subtree(n, p)));
                for p in now.difference(&known) {
                    load_watched(client, root, p, tree, &fired).await?;
                }
            }
            (Kind::Exists, EventType::NodeCreated) => {
                load_watched(client, root, root, tree, &fired).await?;
            }
            _ => {}
        }
    }
}

/// Reads `top` and everything below it, leaving a data and a child watch on every node (and
/// an exists watch on the root when it is absent).
async fn load_watched(
    client: &Client,
    root: &str,
    top: &str,
    tree: &Tree,
    fired: &Fired,
) -> Result<()> {
    let mut stack = vec![top.to_string()];
    while let Some(p) = stack.pop() {
        let (data, stat, w) = match retrying(client, || client.get_data_w(&p)).await {
            Ok(r) => r,
            Err(Error::NoNode) if p == root => {
                match retrying(client, || client.exists_w(root)).await? {
                    (None, w) => forward(Kind::Exists, w, fired),
                    (Some(_), _) => stack.push(p), // created meanwhile: read it again
                }
                continue;
            }
            // Gone meanwhile: the parent's child watch says so.
            Err(Error::NoNode) => continue,
            Err(e) => return Err(e),
        };
        forward(Kind::Data, w, fired);
        tree.change(|n| drop(n.insert(p.clone(), NodeData { data, stat })));
        match retrying(client, || client.get_children_w(&p)).await {
            Ok((children, w)) => {
                forward(Kind::Child, w, fired);
                stack.extend(children.iter().map(|c| join(&p, c)));
            }
            Err(Error::NoNode) => {} // its data watch reports the deletion
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
