//! The deterministic state machine: no tokio, no clock, no RNG, no IO.
//!
//! - [`txn`]: what is logged (`Txn`) and what applying it yields (`Applied`: result + triggers).
//! - [`txn_codec`]: the bytes of a logged Txn (versioned, pinned by golden bytes).
//! - [`path`]: path syntax (`PathUtils.validatePath`), parent and basename.
//! - [`acl`]: digest ids, the ACL check, and `fixupACL`.
//! - [`ephemeral`]: create modes and what an `ephemeral_owner` encodes (container, TTL).
//! - [`node`]: one znode and the `Stat` clients see.
//! - [`sessions`]: the session table and each owner's ephemerals.
//! - `tree`: [`DataTree`], its indexes and the primitives that change nodes (with the undo log
//!   that makes a multi all or nothing).
//! - `apply`: `DataTree::apply`, every check in ZooKeeper's order, then the change.
//! - `reads`: the reads, with ZooKeeper's error codes and ACL checks.
//! - [`restore`]: `Restorer`, the bulk rebuild of a tree from nodes in path order.
//! - [`quota`]: `/zookeeper/quota`'s limit and stats nodes, the usage the tree keeps in them,
//!   and the `enforceQuota` check.
//! - `digest`: the hash behind `DataTree::digest`.
//! - `dense`: filling a persistent B-tree from sorted items so that its leaves end up full.
//! - [`snapshot`]: the versioned snapshot file format, its directory and recovery.
//!
//! API contract the server relies on (implementations must keep it):
//! - `DataTree::new()` holds `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config` as a
//!   fresh Apache ZooKeeper 3.8 standalone server shows them.
//! - `apply(zxid, &txn)` requires `zxid > last_zxid()` (asserted), is deterministic, and
//!   performs every tree-dependent check in ZooKeeper's order.

pub mod acl;
mod apply;
pub mod children;
mod dense;
mod digest;
pub mod ephemeral;
pub mod node;
pub mod path;
pub mod quota;
mod reads;
pub mod restore;
pub mod sessions;
pub mod snapshot;
mod tree;
pub mod txn;
pub mod txn_codec;

pub use acl::{check_acl, digest_id, fixup_acl};
pub use ephemeral::NodeKind;
pub use node::{Node, StatPersisted};
pub use path::validate_path;
pub use quota::{QuotaExceeded, StatsTrack};
pub use sessions::Session;
pub use tree::DataTree;
pub use txn::{Applied, EventKind, OpResult, Trigger, Txn, TxnOp};
