//! The disk guard: refuses client writes while the disk holding the log or the snapshots is
//! nearly full, and lets them through again once space returns, by itself.
//!
//! Why a reserve rather than waiting for a write to fail: a failed log write stops Raft for
//! good (openraft treats storage errors as fatal), and the server exits (see
//! `RaftNode::stopped`); it has to be restarted once space is back. Below
//! `min_free_bytes` this server answers writes with `SystemError` while reads go on; session
//! close and expiry still pass (they free space and are small), and the reserve holds them and
//! the snapshot that comes after.
//!
//! Free space is read with `statvfs` at most every `CHECK_EVERY` or every `CHECK_BYTES` of
//! proposed data, whichever comes first, so the check costs nothing per request.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHECK_EVERY: Duration = Duration::from_millis(100);
const CHECK_BYTES: u64 = 1 << 20;

pub struct DiskGuard {
    dirs: Vec<PathBuf>,
    min_free_bytes: u64,
    checked_at: Option<Instant>,
    bytes_since_check: u64,
    full: bool,
}

impl DiskGuard {
    pub fn new(dirs: Vec<PathBuf>, min_free_bytes: u64) -> DiskGuard {
        DiskGuard {
            dirs,
            min_free_bytes,
            checked_at: None,
            bytes_since_check: 0,
            full: false,
        }
    }

    /// Counts bytes handed to the log, so a burst of large writes is checked sooner.
    pub fn proposed(&mut self, bytes: usize) {
        self.bytes_since_check += bytes as u64;
    }

    /// Whether a client write may be proposed now.
    pub fn allows_write(&mut self) -> bool {
        let stale = self
            .checked_at
            .is_none_or(|at| at.elapsed() >= CHECK_EVERY || self.bytes_since_check >= CHECK_BYTES);
        if stale {
            self.check();
        }
        !self.full
    }

    fn check(&mut self) {
        self.checked_at = Some(Instant::now());
        self.bytes_since_check = 0;
        let short = self.dirs.iter().find_map(|dir| match free_bytes(dir) {
            Ok(free) if free < self.min_free_bytes => Some((dir.clone(), free)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("cannot read the free space of {}: {e}", dir.display());
                None
            }
        });
        match (&short, self.full) {
            (Some((dir, free)), false) => tracing::warn!(
                "disk nearly full: {free} bytes free in {} (reserve {} bytes); refusing writes \
                 until space returns",
                dir.display(),
                self.min_free_bytes
            ),
            (None, true) => tracing::info!("disk space is back; accepting writes"),
            _ => {}
        }
        self.full = short.is_some();
    }
}

/// Bytes available to this (unprivileged) process on the file system holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_larger_than_the_disk_refuses_and_zero_allows() {
        let dir = std::env::temp_dir();
        assert!(free_bytes(&dir).unwrap() > 0);
        assert!(!DiskGuard::new(vec![dir.clone()], u64::MAX).allows_write());
        assert!(DiskGuard::new(vec![dir], 0).allows_write());
    }
}
