//! [`DataTree`]: the znodes by path, the session table, the container and TTL indexes, and the
//! running totals (data size, digest). This file owns the only primitives that change nodes:
//! `insert_node` (and `insert_node_and_touch_parent`, which also changes the parent's stat in
//! the same lookup), `remove_node`, `update_stat`, `set_node_data`, `set_node_acl`. The
//! transaction logic (`apply.rs`) and the reads (`reads.rs`) are built on them.
//!
//! Invariants kept (each primitive maintains all of them, and records its inverse in the undo
//! log while a multi runs, so rolling back restores every one of them too):
//! - every node but `/` is listed in its parent's children, and every listed child exists;
//! - the ephemeral, container and TTL indexes list exactly the nodes of those kinds;
//! - `data_size` and `digest` equal a full recomputation (checked by `check_invariants`);
//! - `last_zxid` only grows.

use std::collections::BTreeSet;
use std::sync::Arc;

use corral_jute::Acl;

use crate::ephemeral::NodeKind;
use crate::node::{Node, StatPersisted};
use crate::path::split_raw;
use crate::sessions::{Session, Sessions};

/// The inverse of one primitive, kept while a multi runs.
#[derive(Debug, Clone)]
pub(crate) enum Undo {
    Inserted(String),
    Removed(String, Arc<Node>),
    Stat(String, StatPersisted),
    Data(String, Option<Box<[u8]>>, StatPersisted),
    Acl(String, Arc<[Acl]>, StatPersisted),
}

/// The replicated state: znodes and sessions. Deterministic: the same `apply` sequence yields
/// the same tree, results and triggers on every replica. A clone is cheap (see `nodes`).
#[derive(Debug, Clone)]
pub struct DataTree {
    /// A persistent B-tree by path: cloning the tree for a snapshot shares every node until
    /// one of the two copies changes it, so the snapshot is encoded off the core without a
    /// pause. Ordered by path, so a snapshot is written without sorting. Nodes sit behind an
    /// `Arc` because the map's chunks reserve room for every slot they may hold: a small entry
    /// keeps that slack small (a hash trie of whole nodes held twice the memory per znode); a
    /// change copies the one node (`Arc::make_mut`) only while a snapshot
    /// still shares it.
    pub(crate) nodes: imbl::OrdMap<Box<str>, Arc<Node>>,
    pub(crate) sessions: Sessions,
    pub(crate) containers: BTreeSet<String>,
    pub(crate) ttls: BTreeSet<String>,
    pub(crate) last_zxid: i64,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes are refused (`Unimplemented`) when false.
    pub(crate) extended_types_enabled: bool,
    /// Sum over nodes of path length (UTF-16 units, as Java counts) plus data length.
    pub(crate) data_size: u64,
    pub(crate) digest: u64,
    /// Some while a multi runs: the inverses of the changes made so far, oldest first.
    pub(crate) undo: Option<Vec<Undo>>,
    /// The real paths that have a quota (a limit node): ZooKeeper's `pTrie` (see `quota`).
    pub(crate) quota_paths: BTreeSet<String>,
    /// `zookeeper.enforceQuota`: hard quota limits refuse writes (`QuotaExceeded`) when true.
    pub(crate) enforce_quota: bool,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

/// The root's key. ZooKeeper also maps `""` to the root (`nodes.put("", root)`); `lookup` does.
pub(crate) const ROOT: &str = "/";

impl DataTree {
    /// A fresh tree as Apache ZooKeeper 3.8 standalone shows it (`DataTree()` plus
    /// `addConfigNode`): `/`, `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`, all with
    /// empty (not null) data and zeroed stats; all `world:anyone` ALL except
    /// `/zookeeper/config`, which is `world:anyone` READ with aversion -1 (set by
    /// `setACL(..., -1)`).
    pub fn new() -> DataTree {
        DataTree::with_options(true)
    }

    pub fn with_options(extended_types_enabled: bool) -> DataTree {
        let mut t = DataTree::empty(0, extended_types_enabled);
        let system = |acl| {
            Node::new(
                Some(Vec::new()),
                acl,
                StatPersisted::default(),
                NodeKind::Persistent,
            )
        };
        t.nodes.insert(ROOT.into(), Arc::new(system(Acl::open())));
        t.insert_node("/zookeeper".to_string(), system(Acl::open()));
        t.insert_node("/zookeeper/quota".to_string(), system(Acl::open()));
        let mut config = system(Acl::read_only());
        config.stat_mut().aversion = -1;
        t.insert_node("/zookeeper/config".to_string(), config);
        t.data_size += 1; // the root's own path
        t.digest = t.digest.wrapping_add(t.nodes[ROOT].digest(ROOT));
        t
    }

    /// No nodes at all (not even the root), no sessions: the start of every constructor.
    pub(crate) fn empty(last_zxid: i64, extended_types_enabled: bool) -> DataTree {
        DataTree {
            nodes: imbl::OrdMap::new(),
            sessions: Sessions::default(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            last_zxid,
            extended_types_enabled,
            data_size: 0,
            digest: 0,
            undo: None,
            quota_paths: BTreeSet::new(),
            enforce_quota: false,
        }
    }

    pub fn extended_types_enabled(&self) -> bool {
        self.extended_types_enabled
    }

    pub fn set_extended_types_enabled(&mut self, enabled: bool) {
        self.extended_types_enabled = enabled;
    }

    /// The zxid of the last applied transaction (0 for a fresh tree).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The node at `path`; `""` is the root, as in ZooKeeper's node map.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(key(path)).map(|n| &**n)
    }

    /// Every node with its path, in ascending byte order of path (so a parent comes before
    /// its children): snapshots are written in this order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (&**p, &**n))
    }

    /// The tree digest: equal on replicas that applied the same transactions. Maintained
    /// incrementally.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Recomputes the totals and indexes from scratch and asserts they match the maintained
    /// ones. O(n); for tests and after loading a snapshot.
    pub fn check_invariants(&self) {
        let mut digest = 0u64;
        let mut size = 0u64;
        let mut ephemerals = 0usize;
        for (path, node) in self.nodes() {
            digest = digest.wrapping_add(node.digest(path));
            size += node_size(path, node);
            if path != ROOT {
                let (parent, name) = split_raw(path).expect("stored paths contain '/'");
                let p = self
                    .nodes
                    .get(key(parent))
                    .expect("every node's parent exists");
                assert!(
                    p.children().contains(name),
                    "{path} missing from its parent"
                );
            }
            for c in node.children() {
                let child = if path == ROOT {
                    format!("/{c}")
                } else {
                    format!("{path}/{c}")
                };
                assert!(
                    self.nodes.contains_key(child.as_str()),
                    "{child} listed but absent"
                );
            }
            let owner = node.persisted().ephemeral_owner;
            match node.kind() {
                NodeKind::Ephemeral => {
                    ephemerals += 1;
                    assert!(self.sessions.ephemerals(owner).any(|p| p == path));
                    assert!(node.children().is_empty(), "ephemeral {path} has children");
                }
                NodeKind::Container => assert!(self.containers.contains(path)),
                NodeKind::Ttl => assert!(self.ttls.contains(path)),
                NodeKind::Persistent => {}
            }
        }
        assert_eq!(digest, self.digest, "digest drifted");
        assert_eq!(size, self.data_size, "data size drifted");
        assert_eq!(ephemerals, self.sessions.ephemeral_count());
        let limit_nodes = self
            .nodes
            .keys()
            .filter(|p| crate::quota::quota_node_target(p, crate::quota::LIMIT_NODE).is_some())
            .count();
        assert_eq!(limit_nodes, self.quota_paths.len(), "quota index drifted");
        assert!(self.undo.is_none());
    }

    // ---- rebuilding from a snapshot ----

    /// The start of a rebuild: a tree holding only `root` (whose children the following
    /// `restore_node` calls add), no sessions, at `last_zxid`.
    pub fn restore_root(root: Node, last_zxid: i64, extended_types_enabled: bool) -> DataTree {
        assert!(
            root.children().is_empty(),
            "restore_root takes a childless root"
        );
        let mut t = DataTree::empty(last_zxid, extended_types_enabled);
        t.data_size = node_size(ROOT, &root);
        t.digest = root.digest(ROOT);
        t.index(ROOT, &root, true);
        t.nodes.insert(ROOT.into(), Arc::new(root));
        t
    }

    /// Adds a node read from a snapshot (its `children` must be empty: they are rebuilt as
    /// they are restored). Refuses, with the reason, what `apply` could never have produced:
    /// an invalid path, a missing or ephemeral parent, a duplicate, children listed in `node`.
    pub fn restore_node(&mut self, path: String, node: Node) -> Result<(), String> {
        crate::restore::check_restored(&path, &node)?;
        if self.nodes.contains_key(path.as_str()) {
            return Err(format!("{path} appears twice"));
        }
        let (parent, _) = split_raw(&path).expect("validated paths contain '/'");
        match self.nodes.get(key(parent)) {
            None => return Err(format!("{path} has no parent")),
            Some(p) if p.kind() == NodeKind::Ephemeral => {
                return Err(format!("{path} is the child of an ephemeral"))
            }
            Some(_) => {}
        }
        self.insert_node(path, node);
        Ok(())
    }

    /// Adds a session read from a snapshot.
    pub fn restore_session(&mut self, id: i64, session: Session) {
        self.sessions.open(id, session);
    }

    /// The sessions that own at least one ephemeral, ascending (a restored tree checks each
    /// is open: ephemerals never outlive their session).
    pub fn ephemeral_owners(&self) -> Vec<i64> {
        self.sessions.owners()
    }

    // ---- primitives: the only code that changes nodes ----

    /// Adds `node` at `path` under its existing parent.
    pub(crate) fn insert_node(&mut self, path: String, node: impl Into<Arc<Node>>) {
        self.insert_node_and_touch_parent(path, node, None::<fn(&mut StatPersisted)>);
    }

    /// `insert_node`, and `touch` applied to the parent's stat as `update_stat` would (undo
    /// log and digest included, in that order), in the one lookup of the parent: a create
    /// moves its parent's cversion and pzxid.
    pub(crate) fn insert_node_and_touch_parent(
        &mut self,
        path: String,
        node: impl Into<Arc<Node>>,
        touch: Option<impl FnOnce(&mut StatPersisted)>,
    ) {
        let mut node = node.into();
        let (parent_path, name) = split_raw(&path).expect("insert_node needs an absolute path");
        let parent_path = key(parent_path);
        let parent = Arc::make_mut(
            self.nodes
                .get_mut(parent_path)
                .expect("insert_node needs the parent"),
        );
        if let Some(touch) = touch {
            change_stat(&mut self.digest, &mut self.undo, parent_path, parent, touch);
        }
        let fresh = parent.children_mut().insert(name);
        // Most nodes carry their parent's ACL: hold that list once (the node is still ours
        // alone here unless it comes back from the undo log, where it already was shared).
        if !Arc::ptr_eq(node.shared_acl(), parent.shared_acl()) && node.acl() == parent.acl() {
            let shared = parent.shared_acl().clone();
            Arc::make_mut(&mut node).replace_acl(shared);
        }
        // The parent's children and the map agree (an invariant), so a fresh name is a fresh
        // path; the map's own answer is checked below rather than by one more lookup here.
        assert!(fresh, "insert_node over {path}");
        self.index(&path, &node, true);
        self.index_quota_node(&path, true);
        self.data_size += node_size(&path, &node);
        self.digest = self.digest.wrapping_add(node.digest(&path));
        if let Some(log) = &mut self.undo {
            log.push(Undo::Inserted(path.clone()));
        }
        let replaced = self.nodes.insert(path.into_boxed_str(), node);
        assert!(
            replaced.is_none(),
            "insert_node over a node its parent did not list"
        );
    }

    /// Removes the childless node at `path`.
    pub(crate) fn remove_node(&mut self, path: &str) {
        let node = self.nodes.remove(path).expect("remove_node needs the node");
        assert!(
            node.children().is_empty(),
            "remove_node on {path} with children"
        );
        let (parent, name) = split_raw(path).expect("stored paths contain '/'");
        let parent = Arc::make_mut(
            self.nodes
                .get_mut(key(parent))
                .expect("every node's parent exists"),
        );
        parent.children_mut().remove(name);
        self.index(path, &node, false);
        self.index_quota_node(path, false);
        self.data_size -= node_size(path, &node);
        self.digest = self.digest.wrapping_sub(node.digest(path));
        if let Some(log) = &mut self.undo {
            log.push(Undo::Removed(path.to_string(), node));
        }
    }

    pub(crate) fn update_stat(&mut self, path: &str, f: impl FnOnce(&mut StatPersisted)) {
        let node = Arc::make_mut(
            self.nodes
                .get_mut(path)
                .expect("update_stat needs the node"),
        );
        change_stat(&mut self.digest, &mut self.undo, path, node, f);
    }

    pub(crate) fn set_node_data(
        &mut self,
        path: &str,
        data: Option<impl Into<Box<[u8]>>>,
        f: impl FnOnce(&mut StatPersisted),
    ) {
        let data = data.map(Into::into);
        let node = Arc::make_mut(
            self.nodes
                .get_mut(path)
                .expect("set_node_data needs the node"),
        );
        self.digest = self.digest.wrapping_sub(node.digest(path));
        let old_stat = *node.persisted();
        let new_len = data.as_ref().map_or(0, |d| d.len()) as u64;
        let old = node.replace_data(data);
        f(node.stat_mut());
        self.data_size = self.data_size - old.as_ref().map_or(0, |d| d.len()) as u64 + new_len;
        self.digest = self.digest.wrapping_add(node.digest(path));
        if let Some(log) = &mut self.undo {
            log.push(Undo::Data(path.to_string(), old, old_stat));
        }
    }

    pub(crate) fn set_node_acl(
        &mut self,
        path: &str,
        acl: impl Into<Arc<[Acl]>>,
        f: impl FnOnce(&mut StatPersisted),
    ) {
        let node = Arc::make_mut(
            self.nodes
                .get_mut(path)
                .expect("set_node_acl needs the node"),
        );
        self.digest = self.digest.wrapping_sub(node.digest(path));
        let old_stat = *node.persisted();
        let old = node.replace_acl(acl.into());
        f(node.stat_mut());
        self.digest = self.digest.wrapping_add(node.digest(path));
        if let Some(log) = &mut self.undo {
            log.push(Undo::Acl(path.to_string(), old, old_stat));
        }
    }

    /// Undoes `log` newest first. Runs with the undo log off, so it records nothing.
    pub(crate) fn rollback(&mut self, log: Vec<Undo>) {
        debug_assert!(self.undo.is_none());
        for u in log.into_iter().rev() {
            match u {
                Undo::Inserted(path) => self.remove_node(&path),
                Undo::Removed(path, node) => self.insert_node(path, node),
                Undo::Stat(path, stat) => self.update_stat(&path, |s| *s = stat),
                Undo::Data(path, data, stat) => self.set_node_data(&path, data, |s| *s = stat),
                Undo::Acl(path, acl, stat) => self.set_node_acl(&path, acl, |s| *s = stat),
            }
        }
    }

    pub(crate) fn index(&mut self, path: &str, node: &Node, add: bool) {
        let owner = node.persisted().ephemeral_owner;
        match (node.kind(), add) {
            (NodeKind::Ephemeral, true) => self.sessions.add_ephemeral(owner, path),
            (NodeKind::Ephemeral, false) => self.sessions.remove_ephemeral(owner, path),
            (NodeKind::Container, true) => _ = self.containers.insert(path.to_string()),
            (NodeKind::Container, false) => _ = self.containers.remove(path),
            (NodeKind::Ttl, true) => _ = self.ttls.insert(path.to_string()),
            (NodeKind::Ttl, false) => _ = self.ttls.remove(path),
            (NodeKind::Persistent, _) => {}
        }
    }
}

/// ZooKeeper's node map key for a path: `""` aliases the root.
pub(crate) fn key(path: &str) -> &str {
    if path.is_empty() {
        ROOT
    } else {
        path
    }
}

/// `DataTree.getNodeSize`: Java's `path.length()` (UTF-16 units) plus the data length.
pub(crate) fn node_size(path: &str, node: &Node) -> u64 {
    (path.encode_utf16().count() + node.data_len()) as u64
}

/// Applies `f` to the stat of `node` (the node at `path`), keeping the digest and, while a
/// multi runs, recording the old stat in the undo log: `update_stat` and a create's parent.
fn change_stat(
    digest: &mut u64,
    undo: &mut Option<Vec<Undo>>,
    path: &str,
    node: &mut Node,
    f: impl FnOnce(&mut StatPersisted),
) {
    *digest = digest.wrapping_sub(node.digest(path));
    if let Some(log) = undo {
        log.push(Undo::Stat(path.to_string(), *node.persisted()));
    }
    f(node.stat_mut());
    *digest = digest.wrapping_add(node.digest(path));
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_jute::Stat;

    #[test]
    fn fresh_tree_matches_zookeeper() {
        let t = DataTree::new();
        t.check_invariants();
        let root = t.exists("/").unwrap();
        // ZooKeeper shows the root's cversion as 2 * 0 - 1 = -1.
        assert_eq!(
            root,
            Stat {
                cversion: -1,
                num_children: 1,
                ..Stat::default()
            }
        );
        let zk = t.exists("/zookeeper").unwrap();
        assert_eq!((zk.cversion, zk.num_children), (-2, 2));
        let config = t.node("/zookeeper/config").unwrap();
        assert_eq!(config.acl(), Acl::read_only().as_slice());
        assert_eq!(config.stat().aversion, -1);
        assert_eq!(config.data(), Some(&[][..]));
        assert_eq!(t.node("").map(Node::stat), Some(root));
        assert_eq!((t.node_count(), t.approximate_data_size()), (5, 44));
        assert_eq!(t.last_zxid(), 0);
    }
}
