//! ZooKeeper's own tree, as its restore rebuilds it: a snapshot's nodes and sessions, then
//! the logged transactions applied the way `FileTxnSnapLog.processTransaction` and
//! `DataTree.processTxn` apply them. A ZooKeeper txn is already the outcome of every check
//! (the created path with its sequence suffix, the new version, the parent's new cversion), so
//! applying one only changes the tree; and because snapshots are fuzzy, an effect already
//! present (NodeExists on create, NoNode on delete or setData) is ignored as ZooKeeper ignores
//! it, with its cversion/pzxid fix-up for a create that meets an existing node.
//!
//! Paths are kept as ZooKeeper keys them: the root is `""`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use corral_datatree::ephemeral::{ttl_of, ttl_owner, CONTAINER_OWNER};
use corral_datatree::node::{Node, StatPersisted};
use corral_datatree::sessions::Session;
use corral_datatree::{DataTree, NodeKind};
use corral_jute::{Acl, OpCode};

use super::txnlog::{Op, TxnOp};

/// One znode as ZooKeeper holds it (`DataNode`): `stat.cversion` counts child creations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkNode {
    pub data: Option<Vec<u8>>,
    pub acl: Vec<Acl>,
    pub stat: StatPersisted,
    pub children: BTreeSet<String>,
}

#[derive(Debug, Default)]
pub struct ZkTree {
    pub nodes: HashMap<String, ZkNode>,
    /// Session id -> timeout in ms (`sessionsWithTimeouts`).
    pub sessions: BTreeMap<i64, i32>,
    /// The ephemerals of each owner (`DataTree.ephemerals`).
    pub(super) ephemerals: HashMap<i64, BTreeSet<String>>,
    /// The zxid the tree is at: the snapshot's, then each applied txn's.
    pub last_zxid: i64,
}

/// How ZooKeeper files a node by its owner (`EphemeralType.get`).
pub fn kind_of(owner: i64) -> NodeKind {
    if owner == 0 {
        NodeKind::Persistent
    } else if owner == CONTAINER_OWNER {
        NodeKind::Container
    } else if (owner as u64) >> 56 == 0xff && ttl_owner(ttl_of(owner)) == Some(owner) {
        NodeKind::Ttl
    } else {
        NodeKind::Ephemeral
    }
}

fn split(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    Some((&path[..i], &path[i + 1..]))
}

/// Why an op did not apply (ZooKeeper's KeeperException codes, as restore ignores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NoNode,
    NodeExists,
}

impl ZkTree {
    /// Adds a node read from a snapshot (`DataTree.deserialize`): its parent must be there.
    pub fn insert_from_snapshot(&mut self, path: String, node: ZkNode) -> Result<(), String> {
        if self.nodes.contains_key(&path) {
            return Err(format!("node {path:?} appears twice"));
        }
        if !path.is_empty() {
            let (parent, name) = split(&path).ok_or_else(|| format!("path {path:?}"))?;
            let p = self
                .nodes
                .get_mut(parent)
                .ok_or_else(|| format!("node {path:?} has no parent"))?;
            p.children.insert(name.to_string());
            self.index(&path, node.stat.ephemeral_owner);
        }
        self.nodes.insert(path, node);
        Ok(())
    }

    fn index(&mut self, path: &str, owner: i64) {
        if kind_of(owner) == NodeKind::Ephemeral {
            self.ephemerals
                .entry(owner)
                .or_default()
                .insert(path.to_string());
        }
    }

    /// `FileTxnSnapLog.processTransaction` for one logged txn at `zxid`, `time` by `session`.
    /// Returns the ops that did not apply (fuzzy-snapshot leftovers ZooKeeper also ignores).
    pub fn apply(&mut self, session: i64, zxid: i64, time: i64, op: &Op) -> Vec<Skip> {
        let mut skipped = Vec::new();
        match &op.txn {
            TxnOp::CreateSession { timeout_ms } => {
                self.sessions.insert(session, *timeout_ms);
            }
            TxnOp::CloseSession { paths } => {
                self.sessions.remove(&session);
                let mut doomed: Vec<String> = paths.clone().unwrap_or_default();
                let local = self.ephemerals.remove(&session).unwrap_or_default();
                let extra: Vec<String> =
                    local.into_iter().filter(|p| !doomed.contains(p)).collect();
                doomed.extend(extra);
                for p in doomed {
                    if let Err(s) = self.delete(&p, zxid) {
                        skipped.push(s);
                    }
                }
            }
            TxnOp::Multi(ops) => {
                // A multi that failed was logged with an ErrorTxn among its ops; then no op of
                // it applies (`processTxn` turns the rest into errors).
                if ops.iter().any(|o| matches!(o.txn, TxnOp::Error { .. })) {
                    return skipped;
                }
                for sub in ops {
                    skipped.extend(self.apply_one(session, zxid, time, sub).err());
                }
            }
            _ => skipped.extend(self.apply_one(session, zxid, time, op).err()),
        }
        if zxid > self.last_zxid {
            self.last_zxid = zxid;
        }
        skipped
    }

    fn apply_one(&mut self, session: i64, zxid: i64, time: i64, op: &Op) -> Result<(), Skip> {
        match &op.txn {
            TxnOp::Create {
                path,
                data,
                acl,
                owner,
                parent_cversion,
            } => {
                let owner = owner.unwrap_or(session);
                let r = self.create(path, data, acl, owner, *parent_cversion, zxid, time);
                if r == Err(Skip::NodeExists) && op.code == OpCode::Create {
                    // `handleTxnPostProcessing`: the node was created (by another session)
                    // after its parent was serialized; bring the parent's cversion along.
                    if let Some((parent, _)) = split(path) {
                        if let Some(p) = self.nodes.get_mut(parent) {
                            let cv = if *parent_cversion == -1 {
                                p.stat.cversion + 1
                            } else {
                                *parent_cversion
                            };
                            if cv > p.stat.cversion {
                                p.stat.cversion = cv;
                                p.stat.pzxid = zxid;
                            }
                        }
                    }
                }
                r
            }
            TxnOp::Delete { path } => self.delete(path, zxid),
            TxnOp::SetData {
                path,
                data,
                version,
            } => {
                let n = self.nodes.get_mut(path.as_str()).ok_or(Skip::NoNode)?;
                n.data = data.clone();
                n.stat.mtime = time;
                n.stat.mzxid = zxid;
                n.stat.version = *version;
                Ok(())
            }
            TxnOp::SetAcl { path, acl, version } => {
                let n = self.nodes.get_mut(path.as_str()).ok_or(Skip::NoNode)?;
                n.stat.aversion = *version;
                n.acl = acl.clone();
                Ok(())
            }
            TxnOp::Check { .. } | TxnOp::Error { .. } => Ok(()),
            // Not inside a multi (the decoder refuses them there).
            TxnOp::CreateSession { .. } | TxnOp::CloseSession { .. } | TxnOp::Multi(_) => Ok(()),
        }
    }

    /// `DataTree.createNode`.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
    ) -> Result<(), Skip> {
        let (parent, name) = split(path).ok_or(Skip::NoNode)?;
        let p = self.nodes.get_mut(parent).ok_or(Skip::NoNode)?;
        if p.children.contains(name) {
            return Err(Skip::NodeExists);
        }
        let cv = if parent_cversion == -1 {
            p.stat.cversion + 1
        } else {
            parent_cversion
        };
        // A create replayed over a snapshot that already counted it must not go back.
        if cv > p.stat.cversion {
            p.stat.cversion = cv;
            p.stat.pzxid = zxid;
        }
        p.children.insert(name.to_string());
        self.index(path, owner);
        self.nodes.insert(
            path.to_string(),
            ZkNode {
                data: data.clone(),
                acl: acl.to_vec(),
                stat: StatPersisted::created(zxid, time, owner),
                children: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves even if the child is already gone.
    fn delete(&mut self, path: &str, zxid: i64) -> Result<(), Skip> {
        let (parent, name) = split(path).ok_or(Skip::NoNode)?;
        let p = self.nodes.get_mut(parent).ok_or(Skip::NoNode)?;
        p.children.remove(name);
        if zxid > p.stat.pzxid {
            p.stat.pzxid = zxid;
        }
        let node = self.nodes.remove(path).ok_or(Skip::NoNode)?;
        // Whatever was under it goes too (a fuzzy snapshot cannot leave orphans behind).
        for c in &node.children {
            let _ = self.delete(&format!("{path}/{c}"), zxid);
        }
        let owner = node.stat.ephemeral_owner;
        if let Some(set) = self.ephemerals.get_mut(&owner) {
            set.remove(path);
            if set.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
        Ok(())
    }

    /// Ephemeral owners with no session in the table (ZooKeeper would keep such nodes with
    /// no session to expire them).
    pub fn orphan_owners(&self) -> Vec<i64> {
        self.ephemerals
            .keys()
            .copied()
            .filter(|o| !self.sessions.contains_key(o))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The same tree as corral's `DataTree`, at `last_zxid`. Sessions get ZooKeeper's
    /// password for their id (`ZooKeeperServer.generatePasswd`), so clients can reconnect.
    pub fn to_datatree(&self) -> Result<DataTree, String> {
        let mut paths: Vec<&String> = self.nodes.keys().collect();
        // Byte order: a parent is a prefix of its children, so it comes first; "" is first.
        paths.sort_unstable();
        let mut it = paths.into_iter();
        let root = match it.next() {
            Some(p) if p.is_empty() => &self.nodes[p],
            _ => return Err("the ZooKeeper tree has no root".into()),
        };
        let extended = DataTree::new().extended_types_enabled();
        let mut tree = DataTree::restore_root(corral_node(root), self.last_zxid, extended);
        for p in it {
            tree.restore_node(p.clone(), corral_node(&self.nodes[p]))?;
        }
        // ZooKeeper recounts quota usage when it loads a (fuzzy) snapshot; so does the import.
        tree.recount_quotas();
        for (&id, &timeout_ms) in &self.sessions {
            tree.restore_session(
                id,
                Session {
                    timeout_ms,
                    passwd: zookeeper_password(id).to_vec(),
                },
            );
        }
        Ok(tree)
    }
}

fn corral_node(n: &ZkNode) -> Node {
    Node::new(
        n.data.clone(),
        n.acl.clone(),
        n.stat,
        kind_of(n.stat.ephemeral_owner),
    )
}

/// `ZooKeeperServer.generatePasswd(id)`: 16 bytes of `new java.util.Random(id ^ 0xB3415C00)`.
/// ZooKeeper stores no password: it derives it from the session id, so the same bytes let a
/// client that held the session re-attach to corral.
pub fn zookeeper_password(id: i64) -> [u8; 16] {
    const MULT: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;
    let mut seed = ((id ^ 0xB341_5C00) as u64 ^ MULT) & MASK;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(4) {
        seed = seed.wrapping_mul(MULT).wrapping_add(0xB) & MASK;
        let mut rnd = (seed >> 16) as u32; // next(32)
        for b in chunk {
            *b = rnd as u8;
            rnd >>= 8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_bytes() {
        // new java.util.Random(0 ^ 0xB3415C00).nextBytes(16) starts with nextInt() of that seed.
        // Reference: new Random(42).nextInt() == -1170105035.
        let seed = |s: i64| {
            let mut seed = (s as u64 ^ 0x5_DEEC_E66D) & ((1 << 48) - 1);
            seed = seed.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1 << 48) - 1);
            (seed >> 16) as u32 as i32
        };
        assert_eq!(seed(42), -1_170_105_035);
        let p = zookeeper_password(42 ^ 0xB341_5C00);
        assert_eq!(
            i32::from_le_bytes(p[..4].try_into().unwrap()),
            -1_170_105_035
        );
    }

    #[test]
    fn kinds_by_owner() {
        assert_eq!(kind_of(0), NodeKind::Persistent);
        assert_eq!(kind_of(i64::MIN), NodeKind::Container);
        assert_eq!(kind_of(ttl_owner(5000).unwrap()), NodeKind::Ttl);
        assert_eq!(kind_of(0x0100_0000_0000_0001), NodeKind::Ephemeral);
    }
}
