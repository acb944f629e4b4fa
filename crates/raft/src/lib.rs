//! corral's Raft: the only crate that names openraft (shared ARCHITECTURE.md, Decisions).
//!
//! A tour, in the order data flows:
//! - [`types`]: the openraft type config: node ids and addresses, the logged payload (a
//!   server entry as bytes), the apply response (the zxid), in-memory snapshot data.
//! - [`log_store`]: the Raft log and vote on disk, openraft's `RaftLogStorage` over raft-log.
//!   Its header is the durability contract.
//! - `wal_types`, `wal_callback`: what the log store writes into raft-log and how raft-log's
//!   flush worker reports back.
//! - [`state_machine`]: a stand-in `RaftStateMachine` (last applied id and membership only),
//!   until the data-tree state machine replaces it.
//!
//! Not here yet (roadmap): the data-tree state machine, the snapshot store, the network,
//! membership and the watchdog.

pub mod log_store;
pub mod state_machine;
pub mod types;
mod wal_callback;
mod wal_types;

pub use log_store::{LogStore, LogStoreConfig};
pub use state_machine::StubStateMachine;
pub use types::{ApplyResponse, CorralNode, LogPayload, TypeConfig};
