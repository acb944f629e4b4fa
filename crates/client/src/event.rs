//! What watches and the session report: ZooKeeper's event types and the session's states.

use corral_jute::event_type;

/// `Watcher.Event.EventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    None,
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
    DataWatchRemoved,
    ChildWatchRemoved,
    PersistentWatchRemoved,
}

impl EventType {
    pub fn from_i32(v: i32) -> Option<EventType> {
        Some(match v {
            event_type::NONE => EventType::None,
            event_type::NODE_CREATED => EventType::NodeCreated,
            event_type::NODE_DELETED => EventType::NodeDeleted,
            event_type::NODE_DATA_CHANGED => EventType::NodeDataChanged,
            event_type::NODE_CHILDREN_CHANGED => EventType::NodeChildrenChanged,
            event_type::DATA_WATCH_REMOVED => EventType::DataWatchRemoved,
            event_type::CHILD_WATCH_REMOVED => EventType::ChildWatchRemoved,
            event_type::PERSISTENT_WATCH_REMOVED => EventType::PersistentWatchRemoved,
            _ => return None,
        })
    }
}

/// A change to a znode, as a watch reports it. `path` is relative to the chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    pub event_type: EventType,
    pub path: String,
}

/// The session as the client sees it (`Watcher.Event.KeeperState`, reduced to what a caller
/// acts on). Read it from [`Client::state`](crate::Client::state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// A connection is up and the session is live on it (`SyncConnected`).
    Connected,
    /// The connection dropped; the client is trying the servers with the same session
    /// (ZooKeeper's `Disconnected`, Curator's "suspended"). Watches are kept.
    Disconnected,
    /// A server refused to resume the session: its ephemerals and watches are gone. Terminal.
    Expired,
    /// The server rejected the credentials of `add_auth`. Terminal.
    AuthFailed,
    /// `close` was called (or every handle dropped). Terminal.
    Closed,
}

impl SessionState {
    /// True for the states a session never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }
}
