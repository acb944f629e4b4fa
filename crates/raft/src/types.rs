//! The openraft type config: which types corral's Raft carries.
//!
//! - `NodeId` is `u64`: ZooKeeper's `server.N` id (myid), so an operator's numbering carries over.
//! - `Node` is [`CorralNode`]: the addresses other servers and clients use to reach a member.
//! - `D` is [`LogPayload`]: a batch of serialized server entries (`crate::batch`), kept as
//!   bytes so this crate does not depend on the server's `Entry` type.
//! - `R` is [`ApplyResponse`]: only the zxid. The reply a client sees comes from the local apply
//!   in `pipeline::commit`, not from openraft's write response (ARCHITECTURE.md, "One write").
//! - `SnapshotData` is a `tokio::fs::File`: the snapshot file itself, which openraft reads in
//!   chunks when a follower needs it, and the temp file a follower streams a leader's
//!   snapshot into. Nothing holds a whole snapshot in memory; openraft asks for the current
//!   snapshot at every start, only for its metadata (the file's header).

use std::fmt;

use serde::{Deserialize, Serialize};

openraft::declare_raft_types!(
    /// corral's Raft types. Named only inside `crates/raft`.
    pub TypeConfig:
        D            = LogPayload,
        R            = ApplyResponse,
        NodeId       = u64,
        Node         = CorralNode,
        Entry        = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A member's addresses, as `zoo.cfg`'s `server.N=host:peerPort;clientPort` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorralNode {
    /// `host:port` for server-to-server traffic (Raft RPCs, forwarded writes).
    pub peer_addr: String,
    /// `host:port` clients connect to; told to clients and operators, never dialled by peers.
    pub client_addr: String,
}

impl fmt::Display for CorralNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer={} client={}", self.peer_addr, self.client_addr)
    }
}

/// One server entry, serialized by the server. Opaque to Raft and to the log store.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPayload(pub Vec<u8>);

impl fmt::Debug for LogPayload {
    // Entries can be large; logs and test failures need the size, not the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogPayload({} bytes)", self.0.len())
    }
}

/// What applying an entry answers to the proposer: the zxid of its first item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyResponse {
    /// `crate::batch::zxid_of(index, 0)`.
    pub zxid: u64,
}

pub type NodeId = u64;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type EntryPayload = openraft::EntryPayload<TypeConfig>;
pub type Membership = openraft::Membership<NodeId, CorralNode>;
pub type StoredMembership = openraft::StoredMembership<NodeId, CorralNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, CorralNode>;
pub type Snapshot = openraft::storage::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
