//! corral's Raft: the only crate that names openraft (shared ARCHITECTURE.md, Decisions).
//!
//! A tour, in the order data flows:
//! - [`node`]: a member as the server sees it: start (recovery and one-time initialization),
//!   wait until ready, propose payloads.
//! - [`batch`]: many server entries in one Raft entry (group commit), and their zxids.
//! - [`types`]: the openraft type config: node ids and addresses, the logged payload (a
//!   server entry as bytes), the apply response (the zxid), in-memory snapshot data.
//! - [`log_store`]: the Raft log and vote on disk, openraft's `RaftLogStorage` over raft-log.
//!   Its header is the durability contract.
//! - `wal_types`, `wal_callback`: what the log store writes into raft-log and how raft-log's
//!   flush worker reports back.
//! - [`state_machine`]: openraft's `RaftStateMachine`, forwarding committed payloads and
//!   snapshot requests to the server's core in log order ([`SmEvent`]).
//! - [`schedule`]: when to snapshot (every `snapCount` txns, jittered as ZooKeeper).
//! - [`snapshot_store`]: snapshot files (the data tree's format, openraft's metadata in the
//!   header), their retention, and when the log may be purged.
//! - [`timings`]: fsync and snapshot durations handed to the server's metrics.
//! - [`network`]: Raft RPCs over `corral_peer` between an ensemble's members (and the
//!   peerless network of a standalone member).
//! - [`membership`]: `reconfig`'s membership changes (learners first, then joint consensus).
//! - [`status`]: role, leader, quorum freshness and membership, as the server needs them.
//! - `watchdog`: what openraft 0.9 does not do: stand again after a long leaderless spell,
//!   add configured observers as learners.
//! - [`dump`]: the log's chunk files read record by record without opening the log, as plain
//!   values (`corral admin dump-log`, and the damage check before the log opens).
//!

pub mod batch;
pub mod dump;
pub mod log_store;
pub mod membership;
pub mod network;
pub mod node;
pub mod schedule;
pub mod snapshot_store;
pub mod state_machine;
pub mod status;
pub mod timings;
pub mod types;
mod wal_callback;
mod wal_types;
mod watchdog;

pub use log_store::{LogStore, LogStoreConfig};
pub use membership::{ChangeError, MembershipChange};
pub use node::{EnsembleConfig, NodeConfig, NodeError, RaftNode, Recovered, DEFAULT_SNAP_COUNT};
pub use snapshot_store::{RaftMeta, SnapshotStore};
pub use state_machine::{SmEvent, StateMachine};
pub use status::{RaftRole, Status, StatusWatch};
pub use timings::{Timing, Timings};
pub use types::{ApplyResponse, CorralNode, LogPayload, TypeConfig};
