//! `DataTree::apply`: one logged transaction, checked and applied in ZooKeeper's order
//! (`PrepRequestProcessor.pRequest2Txn`, then `DataTree.processTxn`), because here the checks
//! and the change happen in one deterministic step on every replica.
//!
//! Rules kept:
//! - every check runs before the first change, so a failed op changes nothing but
//!   `last_zxid`, and fires nothing;
//! - a multi is all or nothing: its ops run in order against the live tree with the undo log
//!   on; the first failure rolls every change back;
//! - triggers come out in ZooKeeper's order: create -> NodeCreated(path),
//!   NodeChildrenChanged(parent); delete -> NodeDeleted(path), NodeChildrenChanged(parent);
//!   setData -> NodeDataChanged(path); setACL, check and sessions fire nothing by themselves;
//! - no input panics: every error is an `ErrorCode` value.

use corral_jute::{perms, Acl, ErrorCode, Id};

use crate::acl::{check_acl, fixup_acl};
use crate::ephemeral::{self, CreateMode, NodeKind, CONTAINER_OWNER};
use crate::node::{Node, StatPersisted};
use crate::path::{display_parent, split_raw, validate_path};
use crate::sessions::Session;
use crate::tree::{key, DataTree};
use crate::txn::{Applied, EventKind, OpResult, Trigger, Txn, TxnOp};

/// Paths ZooKeeper refuses to delete (`DataTree.isSpecialPath`).
const SPECIAL_PATHS: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

/// What every op of one transaction shares.
struct Ctx<'a> {
    zxid: i64,
    time_ms: i64,
    session_id: i64,
    auth: &'a [Id],
    triggers: Vec<Trigger>,
    quota_exceeded: Vec<crate::QuotaExceeded>,
}

impl Ctx<'_> {
    fn fire(&mut self, path: &str, kind: EventKind) {
        self.triggers.push(Trigger {
            path: path.to_string(),
            kind,
        });
    }
}

type OpOutcome = Result<OpResult, ErrorCode>;

impl DataTree {
    /// Applies `txn` as transaction `zxid`. Panics if `zxid <= last_zxid()`: replaying or
    /// reordering the log is a broken invariant, not an input error.
    pub fn apply(&mut self, zxid: i64, txn: &Txn) -> Applied {
        assert!(
            zxid > self.last_zxid,
            "zxid {zxid} not after last applied {}",
            self.last_zxid
        );
        self.last_zxid = zxid;
        let mut cx = Ctx {
            zxid,
            time_ms: txn.time_ms,
            session_id: txn.session_id,
            auth: &txn.auth,
            triggers: Vec::new(),
            quota_exceeded: Vec::new(),
        };
        let (result, multi_failure) = match &txn.op {
            TxnOp::Multi(ops) => self.multi(&mut cx, ops),
            op => (self.op(&mut cx, op), Vec::new()),
        };
        debug_assert!(result.is_ok() || cx.triggers.is_empty());
        Applied {
            zxid,
            result,
            multi_failure,
            triggers: cx.triggers,
            quota_exceeded: cx.quota_exceeded,
        }
    }

    fn op(&mut self, cx: &mut Ctx<'_>, op: &TxnOp) -> OpOutcome {
        match op {
            TxnOp::CreateSession { timeout_ms, passwd } => {
                self.create_session(cx, *timeout_ms, passwd)
            }
            TxnOp::CloseSession => self.close_session(cx),
            TxnOp::Create {
                path,
                data,
                acl,
                flags,
                ttl_ms,
            } => self.create(cx, path, data, acl, *flags, *ttl_ms),
            TxnOp::Delete { path, version } => self.delete(cx, path, *version),
            TxnOp::SetData {
                path,
                data,
                version,
            } => self.set_data(cx, path, data, *version),
            TxnOp::SetAcl { path, acl, version } => self.set_acl(cx, path, acl, *version),
            TxnOp::Check { path, version } => self.check(cx, path, *version),
            TxnOp::DeleteContainer { path } => self.delete_container(cx, path),
            // A nested multi cannot be encoded in ZooKeeper's protocol.
            TxnOp::Multi(_) => Err(ErrorCode::MarshallingError),
        }
    }

    /// Runs `ops` all or nothing. On failure: `Err(code)` and the per-op layout ZooKeeper
    /// reports (Ok before, the code at the failing op, RuntimeInconsistency after).
    fn multi(&mut self, cx: &mut Ctx<'_>, ops: &[TxnOp]) -> (OpOutcome, Vec<ErrorCode>) {
        self.undo = Some(Vec::new());
        let mut results = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let outcome = match op {
                TxnOp::Create { .. }
                | TxnOp::Delete { .. }
                | TxnOp::SetData { .. }
                | TxnOp::Check { .. } => self.op(cx, op),
                // `MultiOperationRecord` has no encoding for any other op.
                _ => Err(ErrorCode::MarshallingError),
            };
            match outcome {
                Ok(r) => results.push(Ok(r)),
                Err(code) => {
                    let log = self.undo.take().unwrap_or_default();
                    self.rollback(log);
                    cx.triggers.clear();
                    let mut layout = vec![ErrorCode::Ok; i];
                    layout.push(code);
                    layout.resize(ops.len(), ErrorCode::RuntimeInconsistency);
                    return (Err(code), layout);
                }
            }
        }
        self.undo = None;
        (Ok(OpResult::Multi(results)), Vec::new())
    }

    /// `sessionTracker.checkSession`: the session must be open. Session 0 is the server
    /// itself (container cleanup and other server work), which has no table entry.
    fn check_session(&self, cx: &Ctx<'_>) -> Result<(), ErrorCode> {
        if cx.session_id == 0 || self.sessions.contains(cx.session_id) {
            Ok(())
        } else {
            Err(ErrorCode::SessionExpired)
        }
    }

    fn create_session(&mut self, cx: &mut Ctx<'_>, timeout_ms: i32, passwd: &[u8]) -> OpOutcome {
        if cx.session_id == 0 {
            return Err(ErrorCode::BadArguments); // 0 means "the server"; no client may hold it
        }
        self.sessions.open(
            cx.session_id,
            Session {
                timeout_ms,
                passwd: passwd.to_vec(),
            },
        );
        Ok(OpResult::SessionCreated)
    }

    /// Deletes the session's ephemerals in path order, each firing like a delete, then forgets
    /// the session.
    fn close_session(&mut self, cx: &mut Ctx<'_>) -> OpOutcome {
        if !self.sessions.contains(cx.session_id) {
            return Err(ErrorCode::SessionExpired);
        }
        let doomed: Vec<String> = self
            .sessions
            .ephemerals(cx.session_id)
            .map(str::to_string)
            .collect();
        for path in &doomed {
            let (parent, _) = split_raw(path).expect("stored paths contain '/'");
            let parent = parent.to_string();
            self.delete_node(cx, path, &parent);
        }
        self.sessions.close(cx.session_id);
        Ok(OpResult::SessionClosed)
    }

    /// create, create2, createContainer and createTTL (`pRequest2TxnCreate`).
    fn create(
        &mut self,
        cx: &mut Ctx<'_>,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        flags: i32,
        ttl_ms: i64,
    ) -> OpOutcome {
        let mode = CreateMode::from_flag(flags).ok_or(ErrorCode::BadArguments)?;
        if mode.ttl && !self.extended_types_enabled {
            return Err(ErrorCode::Unimplemented);
        }
        if !ephemeral::validate_ttl(mode, ttl_ms) {
            return Err(ErrorCode::BadArguments);
        }
        if mode.ephemeral {
            // checkGlobalSession: an ephemeral needs a real session, never the server's 0.
            if !self.sessions.contains(cx.session_id) {
                return Err(ErrorCode::SessionExpired);
            }
        } else {
            self.check_session(cx)?;
        }
        // validatePathForCreate: only the shape needed to find the parent; the full check
        // comes after the sequence suffix is added.
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        let (raw_parent, _) = split_raw(path).ok_or(ErrorCode::BadArguments)?;
        let acl = fixup_acl(acl, cx.auth)?;
        let parent = self.node(raw_parent).ok_or(ErrorCode::NoNode)?;
        if !check_acl(parent.acl(), perms::CREATE, cx.auth) {
            return Err(ErrorCode::NoAuth);
        }
        let parent_cversion = parent.persisted().cversion;
        let path = if mode.sequential {
            format!("{path}{}", sequence_suffix(parent_cversion))
        } else {
            path.to_string()
        };
        validate_path(&path)?;
        if self.node(&path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if parent.kind() == NodeKind::Ephemeral {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let data_len = data.as_ref().map_or(0, Vec::len) as i64;
        self.check_quota(&path, data_len, 1, &mut cx.quota_exceeded)
            .map_err(|()| ErrorCode::QuotaExceeded)?;
        let (kind, owner) = if mode.container {
            (NodeKind::Container, CONTAINER_OWNER)
        } else if mode.ttl {
            (
                NodeKind::Ttl,
                ephemeral::ttl_owner(ttl_ms).expect("validated above"),
            )
        } else if mode.ephemeral {
            (NodeKind::Ephemeral, cx.session_id)
        } else {
            (NodeKind::Persistent, 0)
        };

        let zxid = cx.zxid;
        let new_cversion = parent_cversion.wrapping_add(1);
        // DataTree.createNode only moves cversion (and pzxid) forward; at i32 overflow it stays.
        let touch_parent = (new_cversion > parent_cversion).then_some(|s: &mut StatPersisted| {
            s.cversion = new_cversion;
            s.pzxid = zxid;
        });
        let node = Node::new(
            data.clone(),
            acl,
            StatPersisted::created(zxid, cx.time_ms, owner),
            kind,
        );
        // ZooKeeper's create answers with the stat taken before the quota bookkeeping (which
        // rewrites a new stats node's own data); inserting changes nothing in it.
        let stat = node.stat();
        self.insert_node_and_touch_parent(path.clone(), node, touch_parent);
        self.count_quota_create(&path, data_len);
        cx.fire(&path, EventKind::NodeCreated);
        cx.fire(display_parent(raw_parent), EventKind::NodeChildrenChanged);
        Ok(OpResult::Created { path, stat })
    }

    fn delete(&mut self, cx: &mut Ctx<'_>, path: &str, version: i32) -> OpOutcome {
        self.check_session(cx)?;
        let raw_parent = parent_for_delete(path)?;
        let parent = self.node(raw_parent).ok_or(ErrorCode::NoNode)?;
        if !check_acl(parent.acl(), perms::DELETE, cx.auth) {
            return Err(ErrorCode::NoAuth);
        }
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_version(node.persisted().version, version)?;
        if !node.children().is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        self.delete_node(cx, path, raw_parent);
        Ok(OpResult::Deleted)
    }

    /// The server's removal of an empty container or an expired empty TTL node. Unlike
    /// ZooKeeper (which deletes any non-ephemeral node it is asked to), it re-checks that the
    /// node is still a candidate at `time_ms`, because the log may apply it well after the
    /// candidate was picked; a node that no longer qualifies gets `BadVersion`, the code
    /// ZooKeeper uses for "not a container".
    fn delete_container(&mut self, cx: &mut Ctx<'_>, path: &str) -> OpOutcome {
        let raw_parent = parent_for_delete(path)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if !node.children().is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        let stat = node.persisted();
        let qualifies = match node.kind() {
            NodeKind::Container => true,
            NodeKind::Ttl => ttl_expired(stat, cx.time_ms),
            NodeKind::Persistent | NodeKind::Ephemeral => false,
        };
        if !qualifies {
            return Err(ErrorCode::BadVersion);
        }
        self.node(raw_parent).ok_or(ErrorCode::NoNode)?;
        self.delete_node(cx, path, raw_parent);
        Ok(OpResult::Deleted)
    }

    /// Removes a checked, childless node: parent pzxid moves to this zxid (only forward, as in
    /// `DataTree.deleteNode`); the parent's stored cversion does not change.
    fn delete_node(&mut self, cx: &mut Ctx<'_>, path: &str, raw_parent: &str) {
        let zxid = cx.zxid;
        let parent_key = key(raw_parent);
        if self.nodes[parent_key].persisted().pzxid < zxid {
            self.update_stat(parent_key, |s| s.pzxid = zxid);
        }
        let data_len = self.nodes[path].data_len() as i64;
        self.remove_node(path);
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, -data_len, -1);
        }
        cx.fire(path, EventKind::NodeDeleted);
        cx.fire(display_parent(raw_parent), EventKind::NodeChildrenChanged);
    }

    fn set_data(
        &mut self,
        cx: &mut Ctx<'_>,
        path: &str,
        data: &Option<Vec<u8>>,
        version: i32,
    ) -> OpOutcome {
        self.check_session(cx)?;
        validate_path(path)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if !check_acl(node.acl(), perms::WRITE, cx.auth) {
            return Err(ErrorCode::NoAuth);
        }
        let old_len = node.data_len() as i64;
        let bytes_diff = data.as_ref().map_or(0, Vec::len) as i64 - old_len;
        // ZooKeeper checks the quota after the ACL and before the version.
        self.check_quota(path, bytes_diff, 0, &mut cx.quota_exceeded)
            .map_err(|()| ErrorCode::QuotaExceeded)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        let new_version = check_version(node.persisted().version, version)?;
        let (zxid, time_ms) = (cx.zxid, cx.time_ms);
        self.set_node_data(path, data.clone(), |s| {
            s.version = new_version;
            s.mtime = time_ms;
            s.mzxid = zxid;
        });
        let stat = self.nodes[path].stat();
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, bytes_diff, 0);
        }
        cx.fire(path, EventKind::NodeDataChanged);
        Ok(OpResult::SetData { stat })
    }

    fn set_acl(&mut self, cx: &mut Ctx<'_>, path: &str, acl: &[Acl], version: i32) -> OpOutcome {
        self.check_session(cx)?;
        validate_path(path)?;
        let acl = fixup_acl(acl, cx.auth)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if !check_acl(node.acl(), perms::ADMIN, cx.auth) {
            return Err(ErrorCode::NoAuth);
        }
        let new_aversion = check_version(node.persisted().aversion, version)?;
        self.set_node_acl(path, acl, |s| s.aversion = new_aversion);
        Ok(OpResult::SetAcl {
            stat: self.nodes[path].stat(),
        })
    }

    fn check(&mut self, cx: &mut Ctx<'_>, path: &str, version: i32) -> OpOutcome {
        self.check_session(cx)?;
        validate_path(path)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if !check_acl(node.acl(), perms::READ, cx.auth) {
            return Err(ErrorCode::NoAuth);
        }
        check_version(node.persisted().version, version)?;
        Ok(OpResult::Checked)
    }
}

impl DataTree {
    /// `createNode`'s quota bookkeeping: a new stats node is filled with its subtree's usage
    /// (the limit node was indexed by `insert_node`), and the create counts toward the quota
    /// that covers it.
    fn count_quota_create(&mut self, path: &str, data_len: i64) {
        if path.starts_with(crate::quota::QUOTA_ROOT) {
            self.recount_quota(path);
        }
        if let Some(prefix) = self.max_prefix_with_quota(path) {
            self.update_quota_stat(&prefix, data_len, 1);
        }
    }
}

/// `getParentPathAndValidate`: the raw parent of a path to delete; `BadArguments` without a
/// `/`, with a NUL, or for a special path.
fn parent_for_delete(path: &str) -> Result<&str, ErrorCode> {
    if path.contains('\0') || SPECIAL_PATHS.contains(&path) {
        return Err(ErrorCode::BadArguments);
    }
    split_raw(path)
        .map(|(parent, _)| parent)
        .ok_or(ErrorCode::BadArguments)
}

/// `checkAndIncVersion`: -1 matches any version; the result is the next version (wrapping, as
/// Java's int does).
fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

/// `String.format("%010d", cversion)`: zero-padded to 10, the sign counting toward the width.
fn sequence_suffix(cversion: i32) -> String {
    format!("{cversion:010}")
}

/// `ContainerManager`: a TTL node expires when more than its TTL has passed since its mtime.
pub(crate) fn ttl_expired(stat: &StatPersisted, now_ms: i64) -> bool {
    let ttl = ephemeral::ttl_of(stat.ephemeral_owner);
    ttl != 0 && (now_ms as i128 - stat.mtime as i128) > ttl as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_suffix_formats_like_java() {
        assert_eq!(sequence_suffix(0), "0000000000");
        assert_eq!(sequence_suffix(42), "0000000042");
        assert_eq!(sequence_suffix(i32::MAX), "2147483647");
        // Java: String.format("%010d", -5) == "-000000005"
        assert_eq!(sequence_suffix(-5), "-000000005");
        assert_eq!(sequence_suffix(i32::MIN), "-2147483648");
    }

    #[test]
    fn version_check_wraps() {
        assert_eq!(check_version(3, -1), Ok(4));
        assert_eq!(check_version(3, 3), Ok(4));
        assert_eq!(check_version(3, 2), Err(ErrorCode::BadVersion));
        assert_eq!(check_version(i32::MAX, -1), Ok(i32::MIN));
    }
}
