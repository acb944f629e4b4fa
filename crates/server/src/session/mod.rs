//! Sessions on this server: deadlines (`tracker`) and live connections (`registry`).

pub mod registry;
pub mod tracker;

pub use registry::{Conn, Queued, Registry, Session};
pub use tracker::SessionTracker;
