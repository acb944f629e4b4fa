//! The snapshot directory: `snapshot.<zxid in hex>` files (ZooKeeper's naming), each written
//! to a `.tmp` name, fsynced, renamed into place, and made durable by an fsync of the directory.
//!
//! Invariant kept: a file with a final name is complete as far as this process knows (a crash
//! leaves at most a `.tmp`, which listing ignores and `remove_leftovers` deletes at start,
//! as it does a leader's snapshot cut short while being received); a corrupt final file is
//! skipped on load, never repaired or deleted here.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::tree::DataTree;

use super::direct::{SnapshotFileReader, SnapshotFileWriter};
use super::{read_snapshot, write_snapshot, SnapshotError, SnapshotMeta};

const PREFIX: &str = "snapshot.";
const TMP_SUFFIX: &str = ".tmp";
const RECEIVING_PREFIX: &str = "snapshot.receiving-";
/// The read size when copying a received snapshot.
const COPY_READ_BYTES: usize = 1 << 20;

/// ZooKeeper's `autopurge.snapRetainCount` floor: fewer is raised to this.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;

/// One snapshot file found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub zxid: i64,
    pub path: PathBuf,
}

/// A snapshot read back and verified.
#[derive(Debug)]
pub struct LoadedSnapshot {
    pub path: PathBuf,
    pub meta: SnapshotMeta,
    pub tree: DataTree,
}

/// A newer snapshot passed over because it could not be loaded.
#[derive(Debug)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub error: SnapshotError,
}

/// What recovery found: the newest valid snapshot (none if there is none) and the newer ones
/// it skipped, newest first.
#[derive(Debug)]
pub struct Recovery {
    pub loaded: Option<LoadedSnapshot>,
    pub skipped: Vec<SkippedSnapshot>,
}

/// `snapshot.<zxid in lower-case hex>`, as ZooKeeper names them.
pub fn snapshot_file_name(zxid: i64) -> String {
    format!("{PREFIX}{:x}", zxid as u64)
}

/// Writes the snapshot durably into `dir` and returns its path.
pub fn write_snapshot_file(
    tree: &DataTree,
    meta: &SnapshotMeta,
    dir: &Path,
) -> io::Result<PathBuf> {
    write_durably(dir, meta.last_zxid, |file| {
        write_snapshot(tree, meta, file).map(|_| ()) // it buffers itself
    })
}

/// Where a snapshot streamed from a leader is written before it is adopted: a temp name that
/// listing ignores, one per transfer (`n`), so that a write still in flight from an abandoned
/// transfer cannot land in the next one.
pub fn receiving_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{RECEIVING_PREFIX}{n}{TMP_SUFFIX}"))
}

/// Copies a snapshot file received from a leader (read from its start) durably into `dir`,
/// as `write_snapshot_file` writes one; returns its path.
pub fn copy_snapshot_file(received: &mut File, last_zxid: i64, dir: &Path) -> io::Result<PathBuf> {
    // Read in large pieces: the destination is not a `File`, so no in-kernel copy applies.
    let mut received = io::BufReader::with_capacity(COPY_READ_BYTES, received);
    write_durably(dir, last_zxid, |file| {
        io::copy(&mut received, file).map(|_| ())
    })
}

/// Removes the temp files a crash left in `dir` (a write or a transfer cut short). Only for
/// when nothing is writing there: at start. Returns the paths removed.
pub fn remove_leftovers(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(PREFIX) && name.ends_with(TMP_SUFFIX) {
            fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Temp file (written around the page cache where possible: `direct`), fsync, rename, fsync
/// of the directory. A failure leaves no final name behind (the temp file is removed, best
/// effort: a full disk must not keep it).
fn write_durably(
    dir: &Path,
    last_zxid: i64,
    fill: impl FnOnce(&mut SnapshotFileWriter) -> io::Result<()>,
) -> io::Result<PathBuf> {
    let name = snapshot_file_name(last_zxid);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let path = dir.join(name);
    let written = (|| {
        let mut file = SnapshotFileWriter::create(&tmp)?;
        fill(&mut file)?;
        file.finish()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    Ok(path)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads and verifies one snapshot file (direct where possible, read ahead: `direct`).
pub fn read_snapshot_file(path: &Path) -> Result<(SnapshotMeta, DataTree), SnapshotError> {
    let (file, len) =
        SnapshotFileReader::open(path).map_err(|source| SnapshotError::Io { offset: 0, source })?;
    read_snapshot(file, len) // it buffers itself
}

/// The snapshot files in `dir`, newest (highest zxid) first. Temp files and other names are
/// ignored.
pub fn list_snapshots(dir: &Path) -> io::Result<Vec<SnapshotFile>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(hex) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        if let Ok(zxid) = u64::from_str_radix(hex, 16) {
            found.push(SnapshotFile {
                zxid: zxid as i64,
                path: entry.path(),
            });
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.zxid));
    Ok(found)
}

/// Loads the newest snapshot that reads back valid, skipping (and reporting) newer ones that
/// do not.
pub fn load_newest_valid(dir: &Path) -> io::Result<Recovery> {
    let mut skipped = Vec::new();
    for f in list_snapshots(dir)? {
        match read_snapshot_file(&f.path) {
            Ok((meta, tree)) => {
                return Ok(Recovery {
                    loaded: Some(LoadedSnapshot {
                        path: f.path,
                        meta,
                        tree,
                    }),
                    skipped,
                })
            }
            Err(error) => skipped.push(SkippedSnapshot {
                path: f.path,
                error,
            }),
        }
    }
    Ok(Recovery {
        loaded: None,
        skipped,
    })
}

/// Deletes all but the newest `retain_count` snapshots (at least `MIN_SNAP_RETAIN_COUNT`, as
/// ZooKeeper's purge keeps) and returns the paths deleted.
pub fn purge(dir: &Path, retain_count: usize) -> io::Result<Vec<PathBuf>> {
    let keep = retain_count.max(MIN_SNAP_RETAIN_COUNT);
    let mut removed = Vec::new();
    for f in list_snapshots(dir)?.into_iter().skip(keep) {
        fs::remove_file(&f.path)?;
        removed.push(f.path);
    }
    Ok(removed)
}
