//! The deterministic state machine: no tokio, no clock, no RNG.
//!
//! - [`txn`]: what is logged (`Txn`) and what applying it yields (`Applied`: result + triggers).
//! - `tree`: [`DataTree`], the znodes, the session table and ephemerals; `apply` and reads.
//!
//! API contract the server relies on (implementations must keep it):
//! - `DataTree::new()` holds `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config` as a
//!   fresh Apache ZooKeeper 3.8 standalone server shows them.
//! - `apply(zxid, &txn)` requires `zxid > last_zxid()` (asserted), is deterministic, and
//!   performs every tree-dependent check in ZooKeeper's order.

pub mod txn;

pub use txn::{Applied, EventKind, OpResult, Trigger, Txn, TxnOp};
