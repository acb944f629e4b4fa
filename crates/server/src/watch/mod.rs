//! Watches: the registry of watchers and the encoding of the events they receive.

pub mod event;
pub mod manager;

pub use manager::{ConnId, Fired, WatchKind, WatchManager};
