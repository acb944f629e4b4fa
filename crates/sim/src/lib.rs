//! Deterministic simulation of corral's replicated state machine.
//!
//! One run puts 3 or 5 openraft nodes in this process, on a simulated network
//! ([`network`]) and simulated disks ([`disk`]), applying corral's real logged `Txn`s to real
//! data trees ([`state_machine`]). Clients ([`workload`]) drive registers and a counter while
//! a nemesis ([`nemesis`]) crashes and restarts nodes, partitions them and makes the network
//! lossy and slow. Then everything heals and the run is checked ([`run`]):
//! - every register's history is linearizable ([`checker`]; a lost acknowledged write fails
//!   it, since the final reads come after every write);
//! - the counter holds every acknowledged increment, and no more than were attempted;
//! - every node's tree is the same once healed (same applied log id, same digest);
//! - log matching: one log id never names two different entries ([`cluster`]; openraft 0.9
//!   as corral builds it lets two nodes lead in one term, each under its own leader id).
//!
//! # Determinism
//!
//! A run is a function of its seed: the same seed gives the same trace of events, byte for
//! byte (`tests/determinism.rs`). What makes it so:
//! - one thread: a tokio current-thread runtime; its scheduler has no randomness;
//! - virtual time: the clock is paused and jumps to the next timer when every task waits, so
//!   timeouts, delays and elections happen at the same virtual instants every time, however
//!   slow the machine;
//! - one seeded generator ([`runtime`]) for every choice: message delays and losses, fsync
//!   delays, which unsynced writes survive a crash, faults, the workload, and openraft's own
//!   election timeouts (openraft draws them from `AsyncRuntime::thread_rng`, which the
//!   simulation's runtime seeds);
//! - ordered maps everywhere (no `HashMap` iteration order).
//!
//! What stays outside the seed: tokio randomizes the branch order of a `select!` without
//! `biased` (seeding it needs `--cfg tokio_unstable`). openraft 0.9.25 has two such: the
//! replication backoff after an `Unreachable` error, which the simulated network never
//! returns, and `Raft::wait`, which the simulation never calls. The simulation's own code has
//! none. So the trace comparison holds for every run; if openraft gains another, that test
//! is the one to fail.
//!
//! # What is real and what is simulated
//!
//! Real: openraft (its engine, replication, elections, snapshot transfer, the
//! `RaftLogStorage` and `RaftStateMachine` contracts), corral's batch layout and zxids
//! (`corral_raft::batch`), the `Txn` encoding, the data tree's `apply` and its snapshot
//! format. Simulated: the log store (an in-memory log with corral's durability contract and
//! crash semantics, in place of raft-log), the state machine adapter (the tree in memory,
//! the newest snapshot on the simulated disk, in place of `corral_raft::StateMachine`, the
//! server's core and the snapshot files), the peer transport. Not covered: corral's server
//! (sessions, watches, the proposer's batching of many entries), membership changes, a
//! member's data directory deleted or damaged (`tests/faults` does those against real
//! processes).
//!
//! Why not `corral_raft`'s own adapters: they are typed on its `TypeConfig`, whose runtime
//! draws election timeouts from an unseeded generator, and they do real IO off the runtime
//! (raft-log's flush thread and fsyncs, snapshot files written on blocking threads), which a
//! single-threaded virtual-time run cannot order. The simulated ones keep the same contracts,
//! written down in `disk` and `state_machine` next to the ones in `corral_raft`.

//! # Limits
//!
//! The linearizability search is exponential in the worst case; a key whose search passes
//! `checker::MAX_STEPS` is reported as unchecked (counted in the summary line), not failed.
//! The default runs (40 operations per client) almost never hit it: 1 key in 10,000 seeds;
//! with `CORRAL_SIM_OPS=150`, 10 keys in 600 seeds. Operations whose answer is unknown are
//! what makes the search wide.

pub mod checker;
pub mod cluster;
pub mod disk;
pub mod history;
pub mod nemesis;
pub mod network;
pub mod runtime;
pub mod state_machine;
pub mod trace;
pub mod types;
pub mod workload;

mod run;

pub use run::{run, Failure, Options, Report};

/// Bugs the simulation can plant, to prove its checks catch them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Reads any node's tree without a read index: a follower or a deposed leader answers
    /// from its stale state.
    StaleRead,
    /// Acknowledges a write once a node accepted the proposal, before it is committed.
    AckBeforeCommit,
    /// Waits only for openraft's read index before reading (what `ensure_linearizable`
    /// does): not linearizable after a leader restarts in its own term (see `workload`).
    BareReadIndex,
    /// Takes a write's `ForwardToLeader` for "not applied" and retries it elsewhere: the
    /// entry may have been truncated on that node yet commit from another (see `workload`).
    RetryForwarded,
}
