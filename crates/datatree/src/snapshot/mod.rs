//! corral's own snapshot format for the data tree: a versioned, checksummed file written in one
//! streaming pass and read back into a tree whose digest must equal the one stored.
//!
//! - [`write`]: `write_snapshot` to any `Write`, buffered, CRC32C computed on the way.
//! - [`read`]: `SnapshotReader` decodes record by record (the dump command streams with it);
//!   `read_snapshot` rebuilds a `DataTree` from it.
//! - [`files`]: the snapshot directory: temp file, fsync, rename, fsync of the directory;
//!   listing newest first, falling back past corrupt files, purging old ones.
//! - `direct`: the file written around the page cache (`O_DIRECT`) where the file system
//!   allows, so that a big snapshot costs the device time rather than the cores' time.
//! - [`error`]: `SnapshotError`, which names what is wrong and at which byte offset.
//!
//! Format V1 (every integer little-endian; `bytes` is a `u32` length then the bytes; `str` is
//! `bytes` holding UTF-8):
//!
//! ```text
//! header    magic "CORRALSN" (8) | version u32 | last_zxid i64 | node_count u64
//!           | session_count u64 | raft_meta bytes (opaque, filled by the raft layer)
//! node      path str | data i32 length (-1 = null) + bytes | acl u32 count of
//!           (perms i32, scheme str, id str) | czxid mzxid ctime mtime i64 | version cversion
//!           aversion i32 | ephemeral_owner pzxid i64 | kind u8 (0 persistent, 1 ephemeral,
//!           2 container, 3 ttl)
//! session   id i64 | timeout_ms i32 | passwd bytes
//! trailer   digest u64 (DataTree::digest) | checksum u32 (CRC32C of every byte before it)
//! ```
//!
//! Invariants kept:
//! - nodes are written in strictly ascending byte order of path (so a parent precedes its
//!   children, and replicas that applied the same Txns write byte-identical files); sessions
//!   in ascending id. The reader refuses any other order.
//! - reading never panics and never allocates more than the bytes left in the input: every
//!   count and length is checked against what remains (and a named limit) first.
//! - a loaded tree has the digest stored in the file (recomputed from its nodes), and passes
//!   `check_invariants` (run in debug builds).

mod direct;
mod error;
pub mod files;
pub mod read;
pub mod write;

pub use error::SnapshotError;
pub use files::{
    copy_snapshot_file, list_snapshots, load_newest_valid, purge, read_snapshot_file,
    receiving_path, remove_leftovers, snapshot_file_name, write_snapshot_file, LoadedSnapshot,
    Recovery, SkippedSnapshot, SnapshotFile, MIN_SNAP_RETAIN_COUNT,
};
pub use read::{read_snapshot, SnapshotHeader, SnapshotReader};
pub use write::write_snapshot;

/// The first bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"CORRALSN";

/// The largest opaque raft metadata blob accepted (it holds a log id and a membership).
pub const MAX_RAFT_META_BYTES: u64 = 16 << 20;

/// The largest single path, data, ACL id or password accepted, whatever the file's size.
pub const MAX_FIELD_BYTES: u64 = 256 << 20;

/// The format versions this code knows. Reading dispatches on it, so a later version can add
/// fields while files of earlier versions stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum FormatVersion {
    V1 = 1,
}

impl FormatVersion {
    /// The version new snapshots are written in.
    pub const CURRENT: FormatVersion = FormatVersion::V1;

    pub fn from_u32(v: u32) -> Option<FormatVersion> {
        match v {
            1 => Some(FormatVersion::V1),
            _ => None,
        }
    }
}

/// What a snapshot says about where it stands in the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotMeta {
    /// Every transaction up to this zxid (a Raft log index) is in the snapshot. It may exceed
    /// the tree's own `last_zxid` when the entries after it carried no Txn (membership, blank);
    /// the loaded tree takes this value.
    pub last_zxid: i64,
    /// The raft layer's last log id and membership, opaque here.
    pub raft_meta: Vec<u8>,
}
