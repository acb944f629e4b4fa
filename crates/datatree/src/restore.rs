//! [`Restorer`]: rebuilds a [`DataTree`] in bulk from nodes that arrive in ascending byte
//! order of path, as a snapshot holds them. Restarting with a million znodes is mostly this.
//!
//! Why not `restore_node` per node: each call looks the parent up in the persistent map,
//! copies the parent's children set into a B-tree one name at a time and inserts into the map
//! by full lookup. Here, a node's parent is found among the nodes already pushed (usually the
//! previous node or the previous node's parent: no search), children sets are built once
//! from sorted names (dense B-tree nodes), and the map is filled in path order, alternately
//! (`dense`: its leaves end up full).
//!
//! Invariants kept: what it refuses is what `restore_node` refuses (an invalid path, a
//! missing or ephemeral parent, a duplicate, children listed in a node), plus anything out of
//! order; the finished tree has every index, total and digest a node-by-node rebuild has.

use std::sync::Arc;

use crate::children::Children;
use crate::ephemeral::NodeKind;
use crate::node::Node;
use crate::path::split_raw;
use crate::tree::{key, node_size, DataTree, ROOT};

/// Collects nodes in path order, then builds the tree in `finish`.
pub struct Restorer {
    last_zxid: i64,
    extended_types_enabled: bool,
    /// Every node so far, strictly ascending by path; the root first.
    nodes: Vec<(Box<str>, Arc<Node>)>,
    /// (index of the parent in `nodes`, child name) for every node but the root, in arrival
    /// order: the children sets are built from it in `finish`.
    links: Vec<(u32, String)>,
    /// The parent of the last node pushed: siblings arrive together, so it is usually the
    /// next node's parent too.
    last_parent: usize,
    /// The tree's totals, kept as nodes arrive (neither depends on children): this work then
    /// runs alongside the reading of the next nodes (`snapshot::read_snapshot`).
    data_size: u64,
    digest: u64,
}

impl Restorer {
    /// Starts a rebuild at `root`, which must have no children listed, at `last_zxid`.
    pub fn new(root: Node, last_zxid: i64, extended_types_enabled: bool) -> Restorer {
        assert!(
            root.children().is_empty(),
            "a restore takes a childless root"
        );
        Restorer {
            last_zxid,
            extended_types_enabled,
            data_size: node_size(ROOT, &root),
            digest: root.digest(ROOT),
            nodes: vec![(ROOT.into(), Arc::new(root))],
            links: Vec::new(),
            last_parent: 0,
        }
    }

    /// Room for `n` more nodes (a snapshot's header says how many follow).
    pub fn reserve(&mut self, n: usize) {
        self.nodes.reserve(n);
        self.links.reserve(n);
    }

    /// Adds the node at `path`, which must sort after every path pushed so far. Refuses, with
    /// the reason, what `apply` could never have produced.
    pub fn push(&mut self, path: String, node: Node) -> Result<(), String> {
        check_restored(&path, &node)?;
        let (prev, _) = self.nodes.last().expect("the root is first");
        if path.as_str() <= &**prev {
            let what = if path.as_str() == &**prev {
                "appears twice"
            } else {
                "is out of order"
            };
            return Err(format!("{path} {what}"));
        }
        let (parent, name) = split_raw(&path).expect("validated paths contain '/'");
        let Some(p) = self.find(key(parent)) else {
            return Err(format!("{path} has no parent"));
        };
        let parent_node = &self.nodes[p].1;
        if parent_node.kind() == NodeKind::Ephemeral {
            return Err(format!("{path} is the child of an ephemeral"));
        }
        let mut node = Arc::new(node);
        // Hold the parent's ACL list once when the child's is equal (the usual case).
        if !Arc::ptr_eq(node.shared_acl(), parent_node.shared_acl())
            && node.acl() == parent_node.acl()
        {
            let shared = parent_node.shared_acl().clone();
            Arc::get_mut(&mut node)
                .expect("a node just wrapped")
                .replace_acl(shared);
        }
        self.last_parent = p;
        self.data_size += node_size(&path, &node);
        self.digest = self.digest.wrapping_add(node.digest(&path));
        self.links.push((p as u32, name.to_string()));
        self.nodes.push((path.into_boxed_str(), node));
        Ok(())
    }

    /// The index of the node at `path` among those pushed: the previous node, the previous
    /// node's parent, or else a binary search (the nodes are sorted).
    fn find(&self, path: &str) -> Option<usize> {
        let last = self.nodes.len() - 1;
        for i in [last, self.last_parent] {
            if &*self.nodes[i].0 == path {
                return Some(i);
            }
        }
        self.nodes.binary_search_by(|(p, _)| (**p).cmp(path)).ok()
    }

    /// Links every node into its parent's children and builds the tree: map and indexes, with
    /// the totals kept by `push`. Sessions are added afterwards (`DataTree::restore_session`).
    pub fn finish(self) -> DataTree {
        let Restorer {
            last_zxid,
            extended_types_enabled,
            mut nodes,
            mut links,
            data_size,
            digest,
            ..
        } = self;
        // Group the names by parent, keeping arrival (hence name) order within a parent.
        links.sort_by_key(|(p, _)| *p);
        let mut links = links.into_iter().peekable();
        while let Some((p, first)) = links.next() {
            let mut names = vec![first];
            while let Some((_, name)) = links.next_if(|(q, _)| *q == p) {
                names.push(name);
            }
            let children = Children::from_sorted(names);
            *Arc::get_mut(&mut nodes[p as usize].1)
                .expect("nodes are not shared before the tree exists")
                .children_mut() = children;
        }
        let mut t = DataTree::empty(last_zxid, extended_types_enabled);
        t.data_size = data_size;
        t.digest = digest;
        for (path, node) in &nodes {
            t.index(path, node, true);
            t.index_quota_node(path, true);
        }
        crate::dense::insert_alternately(nodes, |(path, node)| {
            t.nodes.insert(path, node);
        });
        t
    }
}

/// What any restored node must satisfy on its own: a valid path that is not the root's, and
/// no children listed (they are rebuilt from the nodes that follow).
pub(crate) fn check_restored(path: &str, node: &Node) -> Result<(), String> {
    crate::path::validate_path(path).map_err(|_| format!("invalid path {path:?}"))?;
    if path == ROOT {
        return Err("a second root".to_string());
    }
    if !node.children().is_empty() {
        return Err(format!("{path} arrives with children"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::StatPersisted;
    use corral_jute::Acl;

    fn leaf(acl: Vec<Acl>, kind: NodeKind, owner: i64) -> Node {
        Node::new(
            Some(b"v".to_vec()),
            acl,
            StatPersisted::created(1, 1, owner),
            kind,
        )
    }

    fn session() -> crate::Session {
        crate::Session {
            timeout_ms: 30_000,
            passwd: vec![0; 16],
        }
    }

    /// The nodes of `t` as a snapshot holds them: in path order, without children.
    fn unlinked(t: &DataTree) -> Vec<(String, Node)> {
        t.nodes()
            .map(|(p, n)| {
                let mut n = n.clone();
                n.children_mut().clear();
                (p.to_string(), n)
            })
            .collect()
    }

    #[test]
    fn rebuilds_what_node_by_node_restore_builds() {
        let mut t = DataTree::new();
        // Siblings that sort between a parent and its children ('-' < '/'), a deep chain,
        // an ACL unlike the parent's, and every kind.
        for (p, acl) in [
            ("/a", Acl::open()),
            ("/a-b", Acl::open()),
            ("/a/b", Acl::read_only()),
            ("/a/b/c", Acl::read_only()),
            ("/a/b/c/d", Acl::open()),
            ("/a/c", Acl::open()),
        ] {
            t.insert_node(p.to_string(), leaf(acl, NodeKind::Persistent, 0));
        }
        t.restore_session(7, session());
        t.insert_node("/a-b/e".into(), leaf(Acl::open(), NodeKind::Ephemeral, 7));
        let container = crate::ephemeral::CONTAINER_OWNER;
        t.insert_node(
            "/k".into(),
            leaf(Acl::open(), NodeKind::Container, container),
        );
        t.check_invariants();

        let mut nodes = unlinked(&t).into_iter();
        let (_, root) = nodes.next().expect("the root");
        let mut r = Restorer::new(root, t.last_zxid(), true);
        for (p, n) in nodes {
            r.push(p, n).unwrap();
        }
        let mut rebuilt = r.finish();
        rebuilt.restore_session(7, session());
        rebuilt.check_invariants();
        assert_eq!(rebuilt.digest(), t.digest());
        assert_eq!(rebuilt.approximate_data_size(), t.approximate_data_size());
        let listing = |t: &DataTree| -> Vec<(String, Vec<String>)> {
            t.nodes()
                .map(|(p, n)| {
                    (
                        p.to_string(),
                        n.children().iter().map(str::to_string).collect(),
                    )
                })
                .collect()
        };
        assert_eq!(listing(&rebuilt), listing(&t));
        // Equal ACL lists are held once: /a/b/c shares /a/b's, /a/c shares /a's.
        let acl_of = |p: &str| rebuilt.node(p).unwrap().shared_acl().clone();
        assert!(Arc::ptr_eq(&acl_of("/a/b"), &acl_of("/a/b/c")));
        assert!(Arc::ptr_eq(&acl_of("/a"), &acl_of("/a/c")));
    }

    #[test]
    fn refuses_what_apply_could_not_have_made() {
        let root = || leaf(Acl::open(), NodeKind::Persistent, 0);
        let persistent = || leaf(Acl::open(), NodeKind::Persistent, 0);
        let refused = |paths: &[&str], last: Node| {
            let mut r = Restorer::new(root(), 0, true);
            let (last_path, firsts) = paths.split_last().unwrap();
            for p in firsts {
                r.push(p.to_string(), persistent()).unwrap();
            }
            r.push(last_path.to_string(), last).unwrap_err()
        };
        assert!(refused(&["/a", "/a"], persistent()).contains("twice"));
        assert!(refused(&["/b", "/a"], persistent()).contains("out of order"));
        assert!(refused(&["/a/b"], persistent()).contains("no parent"));
        assert!(refused(&["a"], persistent()).contains("invalid path"));
        assert!(refused(&["/"], persistent()).contains("second root"));
        let mut with_child = persistent();
        with_child.children_mut().insert("x");
        assert!(refused(&["/a"], with_child).contains("with children"));
        let mut r = Restorer::new(root(), 0, true);
        r.push("/e".into(), leaf(Acl::open(), NodeKind::Ephemeral, 9))
            .unwrap();
        let err = r.push("/e/x".into(), persistent()).unwrap_err();
        assert!(err.contains("child of an ephemeral"), "{err}");
    }
}
