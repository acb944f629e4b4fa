//! Reads, with the error codes and ACL checks of ZooKeeper's `FinalRequestProcessor`: the node
//! is looked up first (`NoNode`), then the permission is checked (`NoAuth`). Watches are the
//! server's; nothing here registers one. Paths are not validated (ZooKeeper's read path does
//! not either; `""` finds the root, as ZooKeeper's node map does).

use corral_jute::{perms, Acl, ErrorCode, Id, Stat};

use crate::acl::check_acl;
use crate::apply::ttl_expired;
use crate::children::Children;
use crate::ephemeral::NodeKind;
use crate::node::Node;
use crate::sessions::Session;
use crate::tree::{DataTree, ROOT};

impl DataTree {
    /// `getData`: needs READ.
    pub fn get_data(&self, path: &str, auth: &[Id]) -> Result<(Option<&[u8]>, Stat), ErrorCode> {
        let node = self.readable(path, perms::READ, auth)?;
        Ok((node.data(), node.stat()))
    }

    /// `exists` as Apache ZooKeeper 3.8.0-3.8.3 answers it (and as the Debian 3.8.0 reference
    /// server was observed to): the stat of `path`, with no ACL check.
    pub fn exists(&self, path: &str) -> Option<Stat> {
        self.node(path).map(Node::stat)
    }

    /// `exists` as ZooKeeper 3.8.4+ answers it (ZOOKEEPER-2590): a NUL in the path is
    /// `BadArguments`; an existing node needs READ; a missing node is `Ok(None)`. The server
    /// chooses between this and [`DataTree::exists`].
    pub fn exists_checked(&self, path: &str, auth: &[Id]) -> Result<Option<Stat>, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        match self.node(path) {
            None => Ok(None),
            Some(n) if check_acl(n.acl(), perms::READ, auth) => Ok(Some(n.stat())),
            Some(_) => Err(ErrorCode::NoAuth),
        }
    }

    /// `getChildren`/`getChildren2`: needs READ. Names are sorted.
    pub fn get_children(&self, path: &str, auth: &[Id]) -> Result<(Vec<String>, Stat), ErrorCode> {
        let (names, stat) = self.children_of(path, auth)?;
        Ok((names.iter().map(str::to_string).collect(), stat))
    }

    /// `get_children` without copying the names: the server encodes its reply from them.
    pub fn children_of(&self, path: &str, auth: &[Id]) -> Result<(&Children, Stat), ErrorCode> {
        let node = self.readable(path, perms::READ, auth)?;
        Ok((node.children(), node.stat()))
    }

    /// `getACL`: needs READ or ADMIN (ZOOKEEPER-1392). Without ADMIN the digest ids come back
    /// redacted to `user:x`, as ZooKeeper 3.8 does.
    pub fn get_acl(&self, path: &str, auth: &[Id]) -> Result<(Vec<Acl>, Stat), ErrorCode> {
        let node = self.readable(path, perms::READ | perms::ADMIN, auth)?;
        let acl = if check_acl(node.acl(), perms::ADMIN, auth) {
            node.acl().to_vec()
        } else {
            node.acl().iter().map(redact).collect()
        };
        Ok((acl, node.stat()))
    }

    /// `getAllChildrenNumber`: needs READ; the number of descendants. For `/` ZooKeeper
    /// answers "all nodes but the root", which excludes nothing else: the same count.
    pub fn get_all_children_number(&self, path: &str, auth: &[Id]) -> Result<i32, ErrorCode> {
        let node = self.readable(path, perms::READ, auth)?;
        if path == ROOT {
            return Ok(self.nodes.len() as i32 - 1);
        }
        if path.is_empty() {
            // ZooKeeper counts the keys starting with "/": every node including the root.
            return Ok(self.nodes.len() as i32);
        }
        let mut count = 0i32;
        let mut stack: Vec<String> = node
            .children()
            .iter()
            .map(|c| format!("{path}/{c}"))
            .collect();
        while let Some(p) = stack.pop() {
            count += 1;
            if let Some(n) = self.nodes.get(p.as_str()) {
                stack.extend(n.children().iter().map(|c| format!("{p}/{c}")));
            }
        }
        Ok(count)
    }

    /// `getEphemerals`: the session's ephemeral paths, sorted; all of them when `prefix` is
    /// blank or `/`, else those that start with `prefix` as a string (so `/a` also matches
    /// `/ab`, as in ZooKeeper).
    pub fn get_ephemerals(&self, session_id: i64, prefix: &str) -> Vec<String> {
        // Java's String.trim() drops every char <= ' '.
        let trimmed = prefix.trim_matches(|c: char| c <= ' ');
        let all = trimmed.is_empty() || trimmed == "/";
        self.sessions
            .ephemerals(session_id)
            .filter(|p| all || p.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    pub fn session(&self, id: i64) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// Open session ids, ascending.
    pub fn session_ids(&self) -> Vec<i64> {
        self.sessions.ids()
    }

    /// `ContainerManager.getCandidates`: empty containers that have had a child (stored
    /// cversion > 0), then empty TTL nodes unmodified for longer than their TTL at `now_ms`;
    /// each group in path order. The caller proposes a `DeleteContainer` for each.
    pub fn expirable_nodes(&self, now_ms: i64) -> Vec<String> {
        let containers = self.containers.iter().filter(|p| {
            let n = &self.nodes[p.as_str()];
            n.children().is_empty() && n.persisted().cversion > 0
        });
        let ttls = self.ttls.iter().filter(|p| {
            let n = &self.nodes[p.as_str()];
            n.kind() == NodeKind::Ttl
                && n.children().is_empty()
                && ttl_expired(n.persisted(), now_ms)
        });
        containers.chain(ttls).cloned().collect()
    }

    /// ZooKeeper's `getNodeCount` (mntr's `zk_znode_count`): its node map holds the root twice
    /// (under `""` and `/`), so a fresh tree counts 5; this returns the same number.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// `approximateDataSize`: the sum of path lengths and data lengths (44 for a fresh tree).
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    /// The number of ephemeral nodes over all sessions.
    pub fn ephemeral_count(&self) -> usize {
        self.sessions.ephemeral_count()
    }

    fn readable(&self, path: &str, perm: i32, auth: &[Id]) -> Result<&Node, ErrorCode> {
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if check_acl(node.acl(), perm, auth) {
            Ok(node)
        } else {
            Err(ErrorCode::NoAuth)
        }
    }
}

/// `id.replaceAll(":.*", ":x")` on digest ids: keep the user, hide the hash.
fn redact(a: &Acl) -> Acl {
    let mut a = a.clone();
    if a.id.scheme == "digest" {
        if let Some(i) = a.id.id.find(':') {
            a.id.id.truncate(i);
            a.id.id.push_str(":x");
        }
    }
    a
}
