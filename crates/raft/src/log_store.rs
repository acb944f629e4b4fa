//! The Raft log and vote on disk: openraft's `RaftLogStorage` over raft-log (Databend's WAL).
//!
//! Contract (what openraft relies on, and what this adapter guarantees):
//!
//! - `append` returns once the entries are readable and calls openraft back only once they are
//!   durable: written and fsynced. Concurrent appends share one fsync (group commit): raft-log's
//!   flush worker batches every flush request queued while it syncs.
//! - `save_vote` returns only once the vote is durable.
//! - Writes are applied in call order, votes and entries alike: one mutex orders them into
//!   raft-log's buffer, and raft-log's single flush worker writes them in that order.
//! - `truncate(id)` removes `id` and every later entry, and returns once that is durable, so a
//!   conflicting entry cannot come back after a crash. `purge(id)` removes `id` and every
//!   earlier entry; the log never has a hole, and after a purge past the last entry the log is
//!   empty with `last_log_id == last_purged_log_id`.
//! - At open, a torn tail (a record cut short or zero-filled by a crash mid-write) is cut off
//!   and logged; entries before it were acknowledged only if they were fsynced, so nothing
//!   acknowledged is lost. A damaged record that is not at the tail fails the open, naming
//!   the file and the offset; so does a damaged length field at the tail, which raft-log alone
//!   would take for a torn write (see `check_tail`).
//! - `force_sync = false` (zoo.cfg `forceSync=no`) skips the fsyncs: callbacks fire once the
//!   data is in the OS page cache. A machine crash can then lose acknowledged writes; open
//!   logs a warning saying so.
//!
//! `save_committed` is best effort, as openraft allows: it is written without an fsync and
//! rides along with the next synced flush.
//!
//! The store is a cheap clone of a shared handle; the clone is also the log reader that
//! replication tasks use. raft-log's calls are synchronous and short (buffer appends, channel
//! sends; reads of entries evicted from its cache hit the disk), so a std mutex guards it and is
//! never held across an await.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend};
use raft_log::api::raft_log_writer::RaftLogWriter;
use tokio::sync::oneshot;

use crate::dump::{self, DamageKind};
use crate::timings::Timings;
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};
use crate::wal_callback::WalCallback;
use crate::wal_types::{WalLogId, WalPayload, WalTypes, WalVote};

/// raft-log deletes a chunk file only once every entry in it is purged, so the chunk size
/// bounds the disk a purged log still holds. It also bounds memory at start: opening the log
/// decodes each chunk whole and caches every entry of the newest one (below). ZooKeeper
/// preallocates 64 MiB log files; 16 MiB chunks held a million-znode restart's cached log
/// to ~30 MB where 64 MiB ones held ~60 MB.
pub const DEFAULT_CHUNK_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Recent entries kept in memory (for applying them, and for followers slightly behind; older
/// ones are read back from the chunk files). It is resident memory: at 256 MiB, an idle
/// server kept as much of its log as that in RAM after a write burst. ZooKeeper's leader keeps
/// its last 500 proposals.
pub const DEFAULT_CACHE_MAX_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct LogStoreConfig {
    /// The directory holding the log's chunk files; created if missing. raft-log locks it, so a
    /// second store on the same directory fails to open.
    pub dir: PathBuf,
    /// zoo.cfg `forceSync`: fsync before acknowledging. Off only for tests and throwaway data.
    pub force_sync: bool,
    pub chunk_max_bytes: usize,
    pub cache_max_bytes: usize,
    /// Where each synced flush's duration goes (the server's `fsynctime`).
    pub timings: Timings,
}

impl LogStoreConfig {
    pub fn new(dir: impl Into<PathBuf>) -> LogStoreConfig {
        LogStoreConfig {
            dir: dir.into(),
            force_sync: true,
            chunk_max_bytes: DEFAULT_CHUNK_MAX_BYTES,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            timings: Timings::default(),
        }
    }
}

/// corral's Raft log store. See the module header for its contract.
#[derive(Clone)]
pub struct LogStore {
    log: Arc<Mutex<raft_log::RaftLog<WalTypes>>>,
    force_sync: bool,
    timings: Timings,
}

impl LogStore {
    /// Opens (or creates) the log in `config.dir`, replaying it and cutting off a torn tail.
    pub fn open(config: &LogStoreConfig) -> io::Result<LogStore> {
        std::fs::create_dir_all(&config.dir)?;
        let dir = config
            .dir
            .to_str()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "log dir is not UTF-8"))?;

        let mut raft_log_config = raft_log::Config::new(dir);
        // The torn-tail rule of the contract; raft-log's default, stated so it cannot drift.
        raft_log_config.wal.truncate_incomplete_record = Some(true);
        raft_log_config.wal.chunk_max_size = Some(config.chunk_max_bytes);
        raft_log_config.log_cache_capacity = Some(config.cache_max_bytes);
        // The WAL's flush worker waits up to 1 ms by default to gather writes into one fsync.
        // The server already gathers every queued write into one entry (`crate::batch`), so the
        // wait would only add a millisecond to every write.
        raft_log_config.wal.flush_batch_wait = Some(std::time::Duration::ZERO);

        check_tail(&config.dir)?;
        // raft-log reports a truncation through the `log` facade only; compare file sizes so
        // our own log says it too, whoever installed a logger.
        let sizes_before = chunk_file_sizes(&config.dir)?;
        let log = raft_log::RaftLog::<WalTypes>::open(Arc::new(raft_log_config))
            .map_err(|e| locate_damage(&config.dir, e))?;
        let sizes_after = chunk_file_sizes(&config.dir)?;
        for (name, before) in &sizes_before {
            let after = sizes_after.get(name).copied().unwrap_or(0);
            if after < *before {
                tracing::warn!(
                    file = %name,
                    cut_bytes = before - after,
                    "raft log: torn tail cut off at open (a write interrupted by a crash)"
                );
            }
        }

        let state = log.log_state();
        tracing::info!(
            dir = %config.dir.display(),
            vote = ?state.vote().map(|v| v.0),
            last_purged = ?state.purged().map(|id| id.0),
            last = ?state.last().map(|id| id.0),
            committed = ?state.committed().map(|id| id.0),
            "raft log opened"
        );
        if !config.force_sync {
            tracing::warn!(
                "forceSync=no: the raft log is not fsynced; a machine crash can lose \
                 acknowledged writes"
            );
        }

        Ok(LogStore {
            log: Arc::new(Mutex::new(log)),
            force_sync: config.force_sync,
            timings: config.timings.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, raft_log::RaftLog<WalTypes>> {
        // A panic while holding the log leaves its state unknown: stop rather than serve it.
        self.log.lock().expect("raft log mutex poisoned")
    }

    /// Queues a flush and waits for the flush worker to finish it.
    async fn flush_and_wait(&self, sync: bool) -> io::Result<()> {
        let rx = {
            let (tx, rx) = oneshot::channel();
            self.lock().flush(sync, Some(WalCallback::Wait(tx)))?;
            rx
        };
        rx.await
            .map_err(|_| io::Error::other("raft log flush worker dropped the callback"))?
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let from = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => u64::MAX,
        };
        // raft-log reads a BTreeMap range, which panics on a reversed range.
        if from >= to {
            return Ok(Vec::new());
        }
        let log = self.lock();
        let mut entries = Vec::new();
        for res in log.read(from, to) {
            let (id, payload) = res.map_err(|e| read_err(ErrorSubject::Logs, e))?;
            entries.push(Entry {
                log_id: id.0,
                payload: payload.0,
            });
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let log = self.lock();
        let state = log.log_state();
        // raft-log moves `last` up to `purged` when a purge passes the last entry, which is
        // exactly openraft's rule for an empty log.
        Ok(LogState {
            last_purged_log_id: state.purged().map(|id| id.0),
            last_log_id: state.last().map(|id| id.0),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.lock()
            .save_vote(WalVote(*vote))
            .map_err(|e| write_err(ErrorSubject::Vote, e))?;
        self.flush_and_wait(self.force_sync)
            .await
            .map_err(|e| write_err(ErrorSubject::Vote, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().log_state().vote().map(|v| v.0))
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let Some(committed) = committed else {
            return Ok(());
        };
        let mut log = self.lock();
        // raft-log refuses a committed id beyond its last entry. openraft can report one while
        // installing a snapshot, before it purges the log up to the snapshot; recording the
        // last entry instead is safe, because a smaller committed id only means re-applying
        // less at startup.
        let last = log.log_state().last().copied();
        let committed = match last {
            Some(last) if WalLogId(committed) > last => last,
            Some(_) => WalLogId(committed),
            None => return Ok(()),
        };
        if log.log_state().committed() >= Some(&committed) {
            return Ok(());
        }
        log.commit(committed)
            .map_err(|e| write_err(ErrorSubject::Store, e))?;
        // Best effort (see the module header): hand it to the OS now, fsync with the next append.
        log.flush(false, None)
            .map_err(|e| write_err(ErrorSubject::Store, e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().log_state().committed().map(|id| id.0))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut log = self.lock();
        // An entry at or below the purge point is already covered by the purged prefix (the
        // state machine has it), and raft-log would refuse it as a reversal. openraft does not
        // send such entries; its storage suite does, right after a startup purge.
        let purged = log.log_state().purged().copied();
        let entries = entries.into_iter().filter(|e| {
            let covered = purged.is_some_and(|p| e.log_id.index <= p.0.index);
            if covered {
                tracing::warn!(log_id = %e.log_id, "raft log: append below the purge point dropped");
            }
            !covered
        });
        log.append(entries.map(|e| (WalLogId(e.log_id), WalPayload(e.payload))))
            .map_err(|e| write_err(ErrorSubject::Logs, e))?;
        // Returns at once; raft-log's worker fsyncs (grouping concurrent flushes) and then
        // calls back.
        let timed = self
            .force_sync
            .then(|| (std::time::Instant::now(), self.timings.clone()));
        log.flush(self.force_sync, Some(WalCallback::Append(callback, timed)))
            .map_err(|e| write_err(ErrorSubject::Logs, e))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::info!(since = %log_id, "raft log: truncate");
        self.lock()
            .truncate(log_id.index)
            .map_err(|e| write_err(ErrorSubject::Log(log_id), e))?;
        // Truncations are rare (a follower's conflicting tail); waiting keeps the removed
        // entries from reappearing after a crash.
        self.flush_and_wait(self.force_sync)
            .await
            .map_err(|e| write_err(ErrorSubject::Log(log_id), e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::info!(upto = %log_id, "raft log: purge");
        let mut log = self.lock();
        log.purge(WalLogId(log_id))
            .map_err(|e| write_err(ErrorSubject::Log(log_id), e))?;
        // Always a synced flush, even with forceSync=no: raft-log deletes fully purged chunk
        // files only after the purge record is fsynced. Nobody needs to wait for it: a purge
        // lost in a crash only leaves more log behind.
        log.flush(true, None)
            .map_err(|e| write_err(ErrorSubject::Log(log_id), e))
    }
}

/// Refuses a newest chunk that raft-log would cut at a damaged record rather than at a torn
/// write. raft-log cuts the newest chunk at the first record that ends past the end of the
/// file; a damaged length field looks the same, and cutting there would drop every committed
/// entry after it. So the chunk is read first, and an ending with a valid record after it
/// stops the open. raft-log also drops a newest chunk whose first record is incomplete, and
/// then treats the one before as the newest: the check goes back as far.
fn check_tail(dir: &Path) -> io::Result<()> {
    for path in dump::chunk_files(dir)?.iter().rev() {
        let chunk = dump::read_chunk(path)?;
        if let Some(damage) = &chunk.damage {
            if matches!(damage.kind, DamageKind::Corrupt { .. }) {
                return Err(damaged(&chunk.path, damage));
            }
        }
        if !chunk.records.is_empty() {
            return Ok(());
        }
    }
    Ok(())
}

/// raft-log's error for a record it cannot read names the chunk as `ChunkId(00_000_...)` and
/// not the file; find the first damaged record and name its file and offset.
fn locate_damage(dir: &Path, err: io::Error) -> io::Error {
    // Other failures (the directory locked by another process, a read error) are not damage.
    let unreadable = matches!(
        err.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    );
    let files = match dump::chunk_files(dir) {
        Ok(files) if unreadable => files,
        _ => return err,
    };
    for path in files {
        if let Ok(chunk) = dump::read_chunk(&path) {
            if let Some(damage) = &chunk.damage {
                let located = damaged(&chunk.path, damage);
                return io::Error::new(err.kind(), format!("{located} ({err})"));
            }
        }
    }
    err
}

fn damaged(path: &Path, damage: &dump::Damage) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: {damage}; committed entries may be in or after it, so the log is not cut \
             there (`corral admin dump-log` shows the records before it)",
            path.display()
        ),
    )
}

/// The size of each chunk file in `dir`, by name.
fn chunk_file_sizes(dir: &Path) -> io::Result<BTreeMap<String, u64>> {
    let mut sizes = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wal") {
            sizes.insert(name, entry.metadata()?.len());
        }
    }
    Ok(sizes)
}

fn write_err(subject: ErrorSubject<u64>, e: io::Error) -> StorageError {
    StorageError::from_io_error(subject, ErrorVerb::Write, e)
}

fn read_err(subject: ErrorSubject<u64>, e: io::Error) -> StorageError {
    StorageError::from_io_error(subject, ErrorVerb::Read, e)
}
