//! What can be wrong with a snapshot, each naming the byte offset where it was found.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("read error at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("not a corral snapshot: magic {found:02x?} at byte 0")]
    BadMagic { found: [u8; 8] },
    #[error("unsupported snapshot format version {version} at byte {offset}")]
    UnsupportedVersion { version: u32, offset: u64 },
    #[error("truncated at byte {offset}: {what} needs {needed} bytes, {left} left")]
    Truncated {
        offset: u64,
        what: &'static str,
        needed: u64,
        left: u64,
    },
    #[error("corrupt at byte {offset}: {what}")]
    Corrupt { offset: u64, what: String },
    #[error(
        "checksum mismatch at byte {offset}: stored {stored:#010x}, computed {computed:#010x}"
    )]
    Checksum {
        offset: u64,
        stored: u32,
        computed: u32,
    },
    #[error(
        "digest mismatch at byte {offset}: stored {stored:#018x}, rebuilt tree {computed:#018x}"
    )]
    Digest {
        offset: u64,
        stored: u64,
        computed: u64,
    },
}

impl SnapshotError {
    /// The byte offset the error names (0 for a bad magic).
    pub fn offset(&self) -> u64 {
        match self {
            SnapshotError::BadMagic { .. } => 0,
            SnapshotError::Io { offset, .. }
            | SnapshotError::UnsupportedVersion { offset, .. }
            | SnapshotError::Truncated { offset, .. }
            | SnapshotError::Corrupt { offset, .. }
            | SnapshotError::Checksum { offset, .. }
            | SnapshotError::Digest { offset, .. } => *offset,
        }
    }
}
