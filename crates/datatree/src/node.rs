//! One znode: its data (null stays null), ACL, the persisted stat fields and the names of its
//! children.
//!
//! Invariants kept: `cversion` counts child creations only (ZooKeeper's `StatPersisted`); the
//! client-visible cversion is derived as `2 * cversion - num_children`, which also counts
//! deletions. `data_hash` always hashes `data`, so the node's digest never rehashes data on a
//! stat-only change.
//!
//! Layout (a million znodes must fit in a few hundred MiB): data is a boxed slice (no spare
//! capacity), and the ACL list is shared (`Arc<[Acl]>`): the tree hands a child its parent's
//! list when they are equal, and the snapshot reader reuses the previous node's, so the usual
//! handful of distinct lists is held once, as ZooKeeper's `ReferenceCountedACLCache` does.

use std::sync::Arc;

use corral_jute::{Acl, Stat};

use crate::children::Children;
use crate::digest::Hasher;
use crate::ephemeral::NodeKind;

/// The stat fields ZooKeeper stores (`StatPersisted`); the rest of `Stat` is derived.
///
/// Packed to 4-byte alignment: its 60 bytes then take 60 in a [`Node`], not 64, and the node
/// (112 bytes, 128 with its `Arc`'s counts) stays in mimalloc's 128-byte class rather than
/// the 160-byte one: 32 bytes a znode. Fields are read by value (a reference to a packed
/// field does not compile); x86_64 and aarch64 load unaligned words at no cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, packed(4))]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    /// Number of child creations (not deletions); the sequence suffix of a child is this value.
    pub cversion: i32,
    pub aversion: i32,
    /// As stored: session id, `i64::MIN` for a container, `0xFF..|ttl` for a TTL node.
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

impl StatPersisted {
    /// `DataTree.createStat`: a new node's stat.
    pub fn created(zxid: i64, time_ms: i64, ephemeral_owner: i64) -> StatPersisted {
        StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    data: Option<Box<[u8]>>,
    acl: Arc<[Acl]>,
    stat: StatPersisted,
    kind: NodeKind,
    children: Children,
    data_hash: u64,
}

impl Node {
    pub fn new(data: Option<Vec<u8>>, acl: Vec<Acl>, stat: StatPersisted, kind: NodeKind) -> Node {
        Node::with_shared_acl(data, acl.into(), stat, kind)
    }

    /// A node whose ACL list is shared with others (see the module header).
    pub fn with_shared_acl(
        data: Option<Vec<u8>>,
        acl: Arc<[Acl]>,
        stat: StatPersisted,
        kind: NodeKind,
    ) -> Node {
        let data_hash = hash_data(data.as_deref());
        Node {
            data: data.map(Vec::into_boxed_slice),
            acl,
            stat,
            kind,
            children: Children::new(),
            data_hash,
        }
    }

    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    /// The ACL list as shared, so an equal list elsewhere can point at the same one.
    pub fn shared_acl(&self) -> &Arc<[Acl]> {
        &self.acl
    }

    pub fn persisted(&self) -> &StatPersisted {
        &self.stat
    }

    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// Child names, sorted (ZooKeeper's order is a hash set's; sorted is a valid instance and
    /// deterministic).
    pub fn children(&self) -> &Children {
        &self.children
    }

    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.len())
    }

    /// The `Stat` clients see (`DataNode.copyStat`).
    pub fn stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: match self.kind {
                NodeKind::Ephemeral => s.ephemeral_owner,
                _ => 0,
            },
            data_length: self.data_len() as i32,
            num_children,
            pzxid: s.pzxid,
        }
    }

    pub(crate) fn stat_mut(&mut self) -> &mut StatPersisted {
        &mut self.stat
    }

    /// Replaces the data, returning the old value.
    pub(crate) fn replace_data(&mut self, data: Option<Box<[u8]>>) -> Option<Box<[u8]>> {
        self.data_hash = hash_data(data.as_deref());
        std::mem::replace(&mut self.data, data)
    }

    pub(crate) fn replace_acl(&mut self, acl: Arc<[Acl]>) -> Arc<[Acl]> {
        std::mem::replace(&mut self.acl, acl)
    }

    pub(crate) fn children_mut(&mut self) -> &mut Children {
        &mut self.children
    }

    /// This node's contribution to the tree digest: path, data, ACL, stat and kind.
    pub(crate) fn digest(&self, path: &str) -> u64 {
        let s = &self.stat;
        let mut h = Hasher::new(0x6e6f6465)
            .bytes(path.as_bytes())
            .word(self.data_hash);
        h = h.word(self.acl.len() as u64);
        for a in self.acl.iter() {
            h = h
                .word(a.perms as u32 as u64)
                .bytes(a.id.scheme.as_bytes())
                .bytes(a.id.id.as_bytes());
        }
        for w in [
            s.czxid,
            s.mzxid,
            s.ctime,
            s.mtime,
            s.ephemeral_owner,
            s.pzxid,
        ] {
            h = h.word(w as u64);
        }
        for w in [s.version, s.cversion, s.aversion] {
            h = h.word(w as u32 as u64);
        }
        h.word(self.kind as u64).finish()
    }
}

/// Null and empty data hash differently: ZooKeeper keeps them apart.
fn hash_data(data: Option<&[u8]>) -> u64 {
    match data {
        None => Hasher::new(0).finish(),
        Some(d) => Hasher::new(1).bytes(d).finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_stat_derives_cversion_and_owner() {
        let mut n = Node::new(
            Some(b"abc".to_vec()),
            Acl::open(),
            StatPersisted::created(5, 7, 0),
            NodeKind::Persistent,
        );
        n.children_mut().insert("x");
        n.stat_mut().cversion = 3; // three creates, one child left: two deletes
        let s = n.stat();
        assert_eq!((s.cversion, s.num_children, s.data_length), (5, 1, 3));
        assert_eq!(
            (s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime),
            (5, 5, 5, 7, 7)
        );
        let c = Node::new(
            None,
            Acl::open(),
            StatPersisted::created(1, 1, i64::MIN),
            NodeKind::Container,
        );
        assert_eq!(c.stat().ephemeral_owner, 0, "containers show owner 0");
        assert_eq!(c.stat().data_length, 0);
        let e = Node::new(
            None,
            Acl::open(),
            StatPersisted::created(1, 1, 42),
            NodeKind::Ephemeral,
        );
        assert_eq!(e.stat().ephemeral_owner, 42);
    }

    /// A million znodes are a million of these behind an `Arc` (two counts, 16 bytes):
    /// past 128 bytes each would take mimalloc's next class, 160 (see `StatPersisted`).
    #[test]
    fn a_node_and_its_arc_counts_fit_in_128_bytes() {
        assert!(
            std::mem::size_of::<Node>() + 16 <= 128,
            "Node is {} bytes",
            std::mem::size_of::<Node>()
        );
    }

    #[test]
    fn digest_separates_null_and_empty_data() {
        let a = Node::new(None, vec![], StatPersisted::default(), NodeKind::Persistent);
        let b = Node::new(
            Some(vec![]),
            vec![],
            StatPersisted::default(),
            NodeKind::Persistent,
        );
        assert_ne!(a.digest("/x"), b.digest("/x"));
        assert_ne!(a.digest("/x"), a.digest("/y"));
    }
}
