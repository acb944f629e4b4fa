//! What a member of an ensemble does beyond a standalone server.
//!
//! - [`members`]: zoo.cfg's `server.N` lines and the `myid` file.
//! - [`peers`]: connections to the other members, by id.
//! - [`handler`]: what the peer port answers: Raft RPCs, writes forwarded by followers and
//!   observers (logged in the order they arrive), and session touches for the leader.
//! - [`role`]: leader, follower or observer, and whether this member may serve clients
//!   (it knows a leader that hears from a quorum); the core is told on every change.
//! - [`reconfig`]: `reconfig` requests carried out by the leader; `/zookeeper/config`'s text.
//! - [`touch`]: followers send the ids of sessions they heard from to the leader, per tick.

pub mod handler;
pub mod members;
pub mod peers;
pub mod reconfig;
pub mod role;
pub mod touch;
