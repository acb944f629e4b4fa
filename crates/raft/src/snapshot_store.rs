//! The snapshot store: snapshot files in the data directory, in the data tree's own format,
//! with openraft's metadata carried in the header's opaque `raft_meta` field.
//!
//! Rules kept:
//! - A snapshot is reported built only once its file is durable. A write that fails (a full
//!   disk) is retried with a growing pause until it succeeds; writes of clients go on
//!   meanwhile, and the log is simply not purged.
//! - The newest `retain` files are kept (at least three, as ZooKeeper's purge). The log is
//!   purged only up to the second newest snapshot, so that if the newest file turns out
//!   corrupt at the next start, the one before it plus the log still reach the present.
//! - The current snapshot is the file this process last wrote, installed or started from;
//!   openraft gets it as an open file, read only when a follower needs the bytes.
//! - A snapshot streamed from a leader goes to a temp file of its own (one per transfer); only
//!   once its header agrees with the metadata sent with it is it written durably under its
//!   final name (temp, fsync, rename, as every snapshot file).

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_datatree::snapshot::{self, SnapshotHeader, SnapshotReader};
use corral_datatree::DataTree;
use openraft::storage::Snapshot;
use openraft::StorageIOError;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::batch;
use crate::timings::{Timing, Timings};
use crate::types::{
    CorralNode, LogId, Membership, NodeId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// The first pause after a failed snapshot write; it doubles up to the maximum.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// openraft's snapshot metadata, as stored in a snapshot file's `raft_meta` (postcard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftMeta {
    pub last_log_id: Option<LogId>,
    pub last_membership: StoredMembership,
    pub snapshot_id: String,
}

impl RaftMeta {
    pub fn of(meta: &SnapshotMeta) -> RaftMeta {
        RaftMeta {
            last_log_id: meta.last_log_id,
            last_membership: meta.last_membership.clone(),
            snapshot_id: meta.snapshot_id.clone(),
        }
    }

    /// Decodes a file's `raft_meta`. An empty one (a snapshot made outside Raft, such as an
    /// import) means no log id and no membership; see [`RaftMeta::outside_raft`] for what a
    /// server starts from then.
    pub fn decode(bytes: &[u8]) -> Result<RaftMeta, String> {
        if bytes.is_empty() {
            return Ok(RaftMeta::default());
        }
        postcard::from_bytes(bytes).map_err(|e| format!("unreadable raft metadata: {e}"))
    }

    /// What a snapshot made outside Raft (empty `raft_meta`, such as `import-zookeeper`'s)
    /// at `last_zxid` stands for: as if member `id`'s one-member group had logged everything
    /// up to the entry whose zxids cover `last_zxid`. The log then continues after that entry,
    /// so every new zxid is above every imported one (a client that saw the old server's
    /// zxids is not refused), and the group needs no initialization. Nothing for a snapshot
    /// at zxid 0 (an empty tree): the group is initialized as on a first start.
    pub fn outside_raft(last_zxid: i64, id: NodeId, node: CorralNode) -> RaftMeta {
        if last_zxid <= 0 {
            return RaftMeta::default();
        }
        let index = last_zxid as u64 >> batch::ZXID_ITEM_BITS;
        let log_id = LogId::new(openraft::CommittedLeaderId::new(0, id), index);
        let members = Membership::new(
            vec![std::collections::BTreeSet::from([id])],
            std::collections::BTreeMap::from([(id, node)]),
        );
        RaftMeta {
            last_log_id: Some(log_id),
            last_membership: StoredMembership::new(Some(log_id), members),
            snapshot_id: format!("outside-raft-{index}"),
        }
    }

    pub fn to_datatree_meta(&self) -> snapshot::SnapshotMeta {
        snapshot::SnapshotMeta {
            last_zxid: self
                .last_log_id
                .map_or(0, |id| batch::last_zxid_of(id.index)) as i64,
            raft_meta: postcard::to_stdvec(self).expect("postcard encodes into a Vec"),
        }
    }

    fn to_snapshot_meta(&self) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: self.last_log_id,
            last_membership: self.last_membership.clone(),
            snapshot_id: self.snapshot_id.clone(),
        }
    }
}

/// The snapshot directory. Clones share one store.
#[derive(Clone)]
pub struct SnapshotStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    retain: usize,
    current: Mutex<Option<PathBuf>>,
    /// The file of the snapshot transfer under way, and how many were begun.
    receiving: Mutex<Option<PathBuf>>,
    transfers: AtomicU64,
    /// What a file with empty `raft_meta` stands for (`RaftMeta::outside_raft` of the file
    /// the server started from; only that one can be such a file).
    outside_raft: Mutex<RaftMeta>,
    /// Where to ask for the log to be purged up to an index.
    purge_log: mpsc::UnboundedSender<u64>,
    /// Where each snapshot file's write time goes (the server's `snapshottime`).
    timings: Timings,
}

impl SnapshotStore {
    /// `current` is the file the server started from, if any.
    pub fn new(
        dir: PathBuf,
        retain: usize,
        current: Option<PathBuf>,
        purge_log: mpsc::UnboundedSender<u64>,
        timings: Timings,
    ) -> SnapshotStore {
        SnapshotStore {
            inner: Arc::new(Inner {
                dir,
                retain,
                current: Mutex::new(current),
                receiving: Mutex::new(None),
                transfers: AtomicU64::new(0),
                outside_raft: Mutex::new(RaftMeta::default()),
                purge_log,
                timings,
            }),
        }
    }

    /// Sets what a snapshot file with empty `raft_meta` stands for.
    pub fn set_outside_raft(&self, meta: RaftMeta) {
        *self
            .inner
            .outside_raft
            .lock()
            .expect("snapshot store mutex") = meta;
    }

    /// A file's metadata: decoded, or for an empty one, the outside-Raft stand-in.
    fn file_meta(&self, bytes: &[u8]) -> Result<RaftMeta, String> {
        if bytes.is_empty() {
            return Ok(self
                .inner
                .outside_raft
                .lock()
                .expect("snapshot store mutex")
                .clone());
        }
        RaftMeta::decode(bytes)
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn set_current(&self, path: PathBuf) {
        *self.inner.current.lock().expect("snapshot store mutex") = Some(path);
    }

    /// Encodes and writes a snapshot of `tree`, retrying until it is on disk; returns its path.
    ///
    /// Everything after the encoding happens on the writer's thread too: dropping `tree` frees
    /// every node the live tree has replaced since the snapshot was taken (under `set 64x16`,
    /// tens of thousands of nodes and their data), and removing an old file of hundreds of MB
    /// is the file system's work; on a runtime worker either would hold up the tasks queued
    /// behind it.
    pub async fn save_until_written(&self, mut tree: DataTree, meta: &SnapshotMeta) -> PathBuf {
        let file_meta = RaftMeta::of(meta).to_datatree_meta();
        let zxid = file_meta.last_zxid;
        let mut pause = RETRY_FIRST;
        loop {
            let store = self.clone();
            let file_meta = file_meta.clone();
            let written = on_background_thread(move || {
                let began = std::time::Instant::now();
                match snapshot::write_snapshot_file(&tree, &file_meta, &store.inner.dir) {
                    Ok(path) => {
                        let took = began.elapsed();
                        store.inner.timings.record(Timing::Snapshot, took);
                        tracing::info!(
                            file = %path.display(),
                            nodes = tree.node_count(),
                            "snapshot written in {took:?}"
                        );
                        drop(tree);
                        store.set_current(path.clone());
                        store.purge_older();
                        Ok(path)
                    }
                    Err(e) => Err(Box::new((tree, e))),
                }
            })
            .await;
            match written {
                Ok(path) => return path,
                Err(failed) => {
                    let (returned, e) = *failed;
                    tree = returned;
                    tracing::warn!(
                        "snapshot at zxid {zxid:#x} not written ({e}); retrying in {pause:?}"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// A fresh file for a snapshot streamed from a leader (see `snapshot::receiving_path`);
    /// the previous transfer's file, if any, is removed.
    pub async fn begin_receiving(&self) -> Result<tokio::fs::File, StorageError> {
        let dir = self.inner.dir.clone();
        let n = self.inner.transfers.fetch_add(1, Ordering::Relaxed);
        let path = snapshot::receiving_path(&dir, n);
        let previous = self
            .inner
            .receiving
            .lock()
            .expect("snapshot store mutex")
            .replace(path.clone());
        if let Some(previous) = previous {
            let _ = std::fs::remove_file(previous);
        }
        // Read back too: `install` checks the header and copies from this handle.
        tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(|e| StorageError::from(StorageIOError::write_snapshot(None, &e)))
    }

    /// Makes a snapshot received from a leader durable under its final name, once its header
    /// agrees with `meta`; returns its path. `file` is usually the one `begin_receiving` made,
    /// but openraft may hand over any snapshot's file, so it is copied rather than renamed;
    /// the transfer's file is removed.
    pub async fn install(
        &self,
        file: tokio::fs::File,
        meta: &SnapshotMeta,
    ) -> Result<PathBuf, StorageError> {
        let mut file = file.into_std().await;
        let dir = self.inner.dir.clone();
        let expected = meta.last_log_id;
        // Err: the header is bad (a read error of the snapshot); Ok(Err): the copy failed (a
        // write error: a full disk, say).
        let copied = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            file.seek(SeekFrom::Start(0))?;
            let header = read_header(&file)?;
            let stored = RaftMeta::decode(&header.meta.raft_meta).map_err(invalid)?;
            if stored.last_log_id != expected {
                return Err(invalid(
                    "snapshot bytes disagree with the snapshot metadata",
                ));
            }
            Ok(snapshot::copy_snapshot_file(
                &mut file,
                header.meta.last_zxid,
                &dir,
            ))
        })
        .await
        .expect("installing a snapshot file does not panic");
        let signature = Some(meta.signature());
        let path = copied
            .map_err(|e| StorageError::from(StorageIOError::read_snapshot(signature.clone(), &e)))?
            .map_err(|e| StorageError::from(StorageIOError::write_snapshot(signature, &e)))?;
        let received = self
            .inner
            .receiving
            .lock()
            .expect("snapshot store mutex")
            .take();
        if let Some(received) = received {
            let _ = std::fs::remove_file(received);
        }
        self.set_current(path.clone());
        self.purge_older();
        Ok(path)
    }

    /// The current snapshot: its metadata from the file's header, and the open file (read
    /// only if a follower needs it; openraft also asks at start, for the metadata alone).
    pub async fn current(&self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let Some(path) = self
            .inner
            .current
            .lock()
            .expect("snapshot store mutex")
            .clone()
        else {
            return Ok(None);
        };
        let read = |e: std::io::Error| StorageError::from(StorageIOError::read_snapshot(None, &e));
        let (header, file) = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(path)?;
            read_header(&file).map(|header| (header, file))
        })
        .await
        .expect("reading a file header does not panic")
        .map_err(read)?;
        let meta = self
            .file_meta(&header.meta.raft_meta)
            .map_err(|e| read(invalid(e)))?;
        Ok(Some(Snapshot {
            meta: meta.to_snapshot_meta(),
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        }))
    }

    /// Deletes snapshots beyond the retained ones and asks for the log to be purged up to the
    /// second newest. Failures only leave more on disk, so they are logged and left.
    fn purge_older(&self) {
        match snapshot::purge(&self.inner.dir, self.inner.retain) {
            Ok(removed) => {
                for path in removed {
                    tracing::info!(file = %path.display(), "old snapshot removed");
                }
            }
            Err(e) => tracing::warn!("removing old snapshots failed: {e}"),
        }
        match snapshot::list_snapshots(&self.inner.dir) {
            Ok(files) => {
                if let Some(previous) = files.get(1) {
                    // The file is named by a zxid; the log is purged by index (the entry whose
                    // zxids cover it, also for a snapshot made outside Raft).
                    let index = previous.zxid as u64 >> batch::ZXID_ITEM_BITS;
                    let _ = self.inner.purge_log.send(index);
                }
            }
            Err(e) => tracing::warn!("listing snapshots failed: {e}"),
        }
    }
}

/// Runs `work` on a thread of its own at a low scheduling priority and awaits its result.
///
/// Writing a snapshot takes a core for a while every `snapCount` txns; at normal priority it
/// competes with the threads that serve requests, and on two cores each of their wake-ups
/// then waits. At `SNAPSHOT_NICE` more than theirs it takes the time they leave idle first. A
/// thread of its own rather than the runtime's blocking pool: an unprivileged thread cannot
/// raise its priority again, and the pool's threads run other work afterwards. If no thread
/// can be started (a process or cgroup limit), the pool runs it, at normal priority.
async fn on_background_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    // The work waits in a slot the thread takes it from, so that it is still here to hand to
    // the pool if the thread never starts (`spawn` drops its closure then).
    let slot = Arc::new(Mutex::new(Some(work)));
    let (done, result) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("snapshot-write".into())
        .spawn({
            let slot = slot.clone();
            move || {
                lower_priority();
                let work = slot.lock().expect("snapshot work slot").take();
                if let Some(work) = work {
                    let _ = done.send(work());
                }
            }
        });
    match spawned {
        Ok(_) => result.await.expect("the snapshot writer does not panic"),
        Err(e) => {
            tracing::warn!("no thread for the snapshot writer ({e}); using the blocking pool");
            let work = slot.lock().expect("snapshot work slot").take();
            let work = work.expect("a thread that never started did not take the work");
            tokio::task::spawn_blocking(work)
                .await
                .expect("the snapshot writer does not panic")
        }
    }
}

/// How much the snapshot writer's nice value is above the process's: a tenth of a normal
/// thread's share when both want a core. In an A/B (`set 64x16` over a million znodes, 3
/// rounds) 10 gave p99 26-33 ms where 0 gave 34-40 and 19 gave 26-34; a snapshot still
/// finishes under a saturating load.
const SNAPSHOT_NICE: i32 = 10;

/// Lowers the calling thread's priority by `SNAPSHOT_NICE` (relative: a server started at
/// nice 10 must not get a writer at 10, level with it), at most to 19. Best effort: a
/// failure only leaves it where it was.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        let lowered = getpriority_process(me)
            .and_then(|now| setpriority_process(me, (now + SNAPSHOT_NICE).min(19)));
        if let Err(e) = lowered {
            tracing::debug!("snapshot writer keeps its priority: {e}");
        }
    }
}

/// The header of the snapshot in `file`, read from where the file stands (its start); leaves
/// the file's position at its start.
fn read_header(mut file: &std::fs::File) -> std::io::Result<SnapshotHeader> {
    let len = file.metadata()?.len();
    let header = SnapshotReader::open(std::io::BufReader::new(file), len)
        .map_err(invalid)?
        .header()
        .clone();
    file.seek(SeekFrom::Start(0))?;
    Ok(header)
}

fn invalid(why: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_purged_up_to_the_index_of_the_second_newest_snapshot() {
        let dir = std::env::temp_dir().join(format!("corral-purge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for index in [5, 9] {
            let name = snapshot::snapshot_file_name(batch::last_zxid_of(index) as i64);
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        SnapshotStore::new(dir.clone(), 3, None, tx, Timings::default()).purge_older();
        assert_eq!(rx.try_recv().unwrap(), 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outside_raft_meta_leaves_the_log_above_the_imported_zxids() {
        let node = CorralNode::default();
        assert_eq!(
            RaftMeta::outside_raft(0, 1, node.clone()),
            RaftMeta::default()
        );
        for last_zxid in [1_i64, 0xffff, 0x1_0000, 0x5_0000_0042] {
            let meta = RaftMeta::outside_raft(last_zxid, 1, node.clone());
            let index = meta.last_log_id.expect("a log id").index;
            // The snapshot covers the imported zxids; the next entry's zxids are above them.
            assert!(batch::last_zxid_of(index) >= last_zxid as u64);
            assert!(batch::zxid_of(index + 1, 0) > last_zxid as u64);
            let voters: Vec<u64> = meta.last_membership.membership().voter_ids().collect();
            assert_eq!(voters, [1]);
            assert!(meta.to_datatree_meta().last_zxid >= last_zxid);
        }
    }

    /// Raising one's own nice value needs no privilege, so this runs anywhere.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_writer_is_lowered_relative_to_where_its_thread_stood() {
        use rustix::process::{getpriority_process, setpriority_process};
        let seen = std::thread::spawn(|| {
            let me = Some(rustix::thread::gettid());
            let start = getpriority_process(me).unwrap().max(3);
            setpriority_process(me, start).unwrap();
            lower_priority();
            (start, getpriority_process(me).unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(
            seen.1,
            (seen.0 + SNAPSHOT_NICE).min(19),
            "(before, after) {seen:?}"
        );
    }
}
