//! Named bounds on every queue and buffer of the server.

/// Requests a connection may have in flight before the server stops reading from it
/// (ZooKeeper's `globalOutstandingLimit` default is 1000).
pub const MAX_OUTSTANDING_PER_CONNECTION: usize = 1000;
/// Bytes of replies and events queued for one connection before it is judged too slow
/// to read and closed.
pub const MAX_OUTBOX_BYTES: usize = 64 * 1024 * 1024;
/// Messages waiting for the core before connections wait to hand theirs over.
pub const CORE_QUEUE_LEN: usize = 4096;
/// Bytes a connection reads from its socket at once.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Time a new connection has to send its first frame.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Length of a session password, as ZooKeeper's.
pub const SESSION_PASSWD_BYTES: usize = 16;
