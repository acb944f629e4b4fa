//! `corral admin import-zookeeper ZK_DATADIR [--log-dir ZK_DATALOGDIR] [--to CORRAL_DATADIR]`:
//! turns an Apache ZooKeeper 3.x data directory into a corral one, offline.
//!
//! 1. The newest ZooKeeper snapshot in `<dataDir>/version-2` that reads back valid (its
//!    checksum seals verified), as ZooKeeper's `FileSnap` picks it; newer damaged ones are
//!    skipped and named.
//! 2. The txns of `<dataLogDir>/version-2/log.*` after the snapshot's zxid, applied the way
//!    ZooKeeper's restore applies them (`tree`).
//! 3. The result, as corral's `DataTree` (same paths, data, ACLs, stats; the sessions with
//!    their timeouts and ZooKeeper's derived passwords), written as one corral snapshot at the
//!    last imported zxid, with no Raft metadata, in `<to>/snapshots/`.
//!
//! - [`input`]: the bounds-checked jute reader; errors name the file and byte offset.
//! - [`snap`], [`txnlog`]: the two file formats.
//! - [`tree`]: ZooKeeper's restore semantics, and the conversion to corral's tree.

pub mod input;
pub mod snap;
pub mod tree;
pub mod txnlog;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use corral_datatree::snapshot::{list_snapshots, write_snapshot_file, SnapshotMeta};

use self::tree::ZkTree;

/// ZooKeeper keeps its files in this subdirectory of dataDir and dataLogDir.
const ZK_SUBDIR: &str = "version-2";
/// corral's snapshot subdirectory of dataDir (`server::recovery::SNAPSHOT_SUBDIR`).
const SNAPSHOT_SUBDIR: &str = "snapshots";
/// corral's log subdirectory of dataLogDir.
const LOG_SUBDIR: &str = "log";

/// What an import did, for the operator.
#[derive(Debug, Default)]
pub struct Summary {
    pub snapshot: Option<PathBuf>,
    pub snapshot_zxid: i64,
    pub logs: Vec<PathBuf>,
    pub txns_applied: usize,
    /// Ops whose effect was already in the (fuzzy) snapshot, ignored as ZooKeeper ignores them.
    pub already_applied: usize,
    pub last_zxid: i64,
    pub nodes: usize,
    pub sessions: usize,
    pub written: PathBuf,
    /// Lines worth reading: skipped snapshots, torn log tails, ignored txn effects.
    pub notes: Vec<String>,
}

/// `dir` itself if it holds ZooKeeper files, else its `version-2`.
fn zk_dir(dir: &Path) -> PathBuf {
    let sub = dir.join(ZK_SUBDIR);
    if sub.is_dir() {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// The files named `<prefix>.<hex zxid>` in `dir`, ascending by zxid; other names that start
/// with `<prefix>.` (compressed snapshots: `.gz`, `.snappy`) are noted as passed over.
fn zk_files(
    dir: &Path,
    prefix: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<(i64, PathBuf)>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(z) = txnlog::zxid_in_name(name, prefix) {
            found.push((z, entry.path()));
        } else if name.starts_with(&format!("{prefix}.")) {
            notes.push(format!(
                "passed over {} (compressed or not ZooKeeper's; only plain files are read)",
                entry.path().display()
            ));
        }
    }
    found.sort();
    Ok(found)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Rebuilds ZooKeeper's tree from `snap_dir` and `log_dir` (each a dataDir / dataLogDir or
/// its `version-2`).
pub fn load(snap_dir: &Path, log_dir: &Path, summary: &mut Summary) -> Result<ZkTree, String> {
    let snap_dir = zk_dir(snap_dir);
    let log_dir = zk_dir(log_dir);
    let snapshots = zk_files(&snap_dir, "snapshot", &mut summary.notes)?;
    let logs = zk_files(&log_dir, "log", &mut summary.notes)?;
    let mut zk = None;
    for (zxid, path) in snapshots.iter().rev() {
        match snap::read_snapshot(path, &read(path)?, *zxid) {
            Ok(t) => {
                summary.snapshot = Some(path.clone());
                summary.snapshot_zxid = *zxid;
                zk = Some(t);
                break;
            }
            Err(e) => summary
                .notes
                .push(format!("skipped snapshot (unreadable): {e}")),
        }
    }
    let mut zk = match zk {
        Some(t) => t,
        None if snapshots.is_empty() && logs.is_empty() => {
            return Err(format!(
                "no ZooKeeper snapshot or txn log in {} / {}",
                snap_dir.display(),
                log_dir.display()
            ))
        }
        // As ZooKeeper's restore: logs without a snapshot mean something is broken.
        None => {
            let mut msg = format!(
                "no valid ZooKeeper snapshot in {} ({} found)",
                snap_dir.display(),
                snapshots.len()
            );
            for n in &summary.notes {
                let _ = write!(msg, "; {n}");
            }
            if !logs.is_empty() {
                msg.push_str("; refusing to import from the txn logs alone");
            }
            return Err(msg);
        }
    };
    let from = summary.snapshot_zxid;
    // `FileTxnLog.getLogFiles`: the newest log starting at or before the snapshot, and all
    // later ones.
    let first = logs.iter().rposition(|(z, _)| *z <= from).unwrap_or(0);
    for (_, path) in &logs[first..] {
        let log = txnlog::read_log(path, &read(path)?).map_err(|e| e.to_string())?;
        summary.logs.push(path.clone());
        if let Some(at) = log.torn_at {
            summary.notes.push(format!(
                "{}: torn record at byte {at} ignored (the end of the log, as ZooKeeper reads it)",
                path.display()
            ));
        }
        for t in &log.txns {
            if t.zxid <= from {
                continue;
            }
            if t.zxid <= zk.last_zxid {
                summary.notes.push(format!(
                    "{}: byte {}: zxid {:#x} after {:#x} (applied anyway, as ZooKeeper does)",
                    path.display(),
                    t.offset,
                    t.zxid,
                    zk.last_zxid
                ));
            }
            summary.already_applied += zk.apply(t.session, t.zxid, t.time, &t.op).len();
            summary.txns_applied += 1;
        }
    }
    Ok(zk)
}

/// The whole import. Refuses to write over an existing corral data directory.
pub fn import(zk_data: &Path, zk_log: &Path, to: &Path) -> Result<Summary, String> {
    let snapshots = to.join(SNAPSHOT_SUBDIR);
    if snapshots.is_dir()
        && !list_snapshots(&snapshots)
            .map_err(|e| format!("{}: {e}", snapshots.display()))?
            .is_empty()
    {
        return Err(format!(
            "{} already holds corral snapshots; import into an empty directory",
            snapshots.display()
        ));
    }
    let log = to.join(LOG_SUBDIR);
    if log.is_dir()
        && fs::read_dir(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} holds a corral log; import into an empty directory",
            log.display()
        ));
    }
    let mut summary = Summary::default();
    let mut zk = load(zk_data, zk_log, &mut summary)?;
    for owner in zk.orphan_owners() {
        // Ephemerals whose session is gone would live forever in ZooKeeper; here they get a
        // session that expires unless a client resumes it.
        summary.notes.push(format!(
            "ephemerals of session {owner:#x}, which is not open, kept with a 30 s session"
        ));
        zk.sessions.insert(owner, 30_000);
    }
    let tree = zk
        .to_datatree()
        .map_err(|e| format!("the imported tree: {e}"))?;
    fs::create_dir_all(&snapshots).map_err(|e| format!("{}: {e}", snapshots.display()))?;
    let meta = SnapshotMeta {
        last_zxid: zk.last_zxid,
        raft_meta: Vec::new(),
    };
    summary.written = write_snapshot_file(&tree, &meta, &snapshots)
        .map_err(|e| format!("{}: {e}", snapshots.display()))?;
    summary.last_zxid = zk.last_zxid;
    summary.nodes = tree.node_count();
    summary.sessions = tree.session_ids().len();
    Ok(summary)
}

/// The command line: `ZK_DATADIR [--log-dir DIR] [--to DIR]`.
pub fn run(args: &[String]) -> Result<String, String> {
    let mut data = None;
    let mut log = None;
    let mut to = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--log-dir" => &mut log,
            "--to" => &mut to,
            s if s.starts_with('-') => return Err(format!("unknown flag {s}")),
            _ => {
                if data.replace(PathBuf::from(a)).is_some() {
                    return Err("one ZooKeeper data directory, please".into());
                }
                continue;
            }
        };
        *slot = Some(PathBuf::from(
            it.next().ok_or_else(|| format!("{a} needs a directory"))?,
        ));
    }
    let data = data.ok_or("which ZooKeeper data directory?")?;
    let log = log.unwrap_or_else(|| data.clone());
    let to = to.unwrap_or_else(|| data.clone());
    let s = import(&data, &log, &to)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "snapshot: {} (zxid {:#x})",
        s.snapshot
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string()),
        s.snapshot_zxid
    );
    for l in &s.logs {
        let _ = writeln!(out, "log: {}", l.display());
    }
    for n in &s.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(
        out,
        "imported {} znodes and {} sessions at zxid {:#x} ({} txns replayed, {} ops already in \
         the snapshot) into {}",
        s.nodes,
        s.sessions,
        s.last_zxid,
        s.txns_applied,
        s.already_applied,
        s.written.display()
    );
    Ok(out)
}

#[cfg(test)]
mod tests;
