//! The simulation's openraft type config: corral's payload (a batch of logged `Txn`s, the
//! bytes `corral_raft::batch` lays out) and node type, a reply that carries each item's
//! outcome (the workload needs a compare-and-set's answer), and the seeded runtime.

use std::io::Cursor;

use corral_raft::{CorralNode, LogPayload};
use serde::{Deserialize, Serialize};

use crate::runtime::SimRuntime;

openraft::declare_raft_types!(
    /// corral's Raft types with the simulation's runtime.
    pub SimConfig:
        D            = LogPayload,
        R            = Outcomes,
        NodeId       = u64,
        Node         = CorralNode,
        Entry        = openraft::Entry<SimConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = SimRuntime,
);

/// What applying one batch answered, item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes(pub Vec<Outcome>);

/// One item's answer: the node's new data version, or a ZooKeeper error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Version(i32),
    Error(i32),
}

pub type NodeId = u64;
pub type Raft = openraft::Raft<SimConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<SimConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, CorralNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, CorralNode>;
pub type Snapshot = openraft::storage::Snapshot<SimConfig>;
