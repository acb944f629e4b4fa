//! The simulated disk under one node's Raft log: openraft's `RaftLogStorage` with crash
//! semantics.
//!
//! Contract (the same one `corral_raft::log_store` keeps over raft-log, see its header):
//! - Writes (votes, appends, truncations, purges, the committed id) are applied in call order
//!   and are readable at once; they become durable in that order, when a simulated fsync (a
//!   seeded delay) completes.
//! - `append` calls openraft back only once its entries are durable; `save_vote` and
//!   `truncate` return only once durable; `save_committed` and `purge` do not wait.
//! - A crash keeps every durable write and a seeded prefix of the unsynced ones (a write that
//!   reached the platter before the power went), and drops the rest. The node then restarts
//!   from exactly that image.
//! - A store belongs to one incarnation of its node: after a crash, the old incarnation's
//!   store refuses every call, so a zombie task cannot write to the restarted node's disk.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend};

use crate::runtime;
use crate::types::{Entry, LogId, SimConfig, SnapshotMeta, StorageError, Vote};

/// The longest a simulated fsync takes, in virtual milliseconds.
pub const FSYNC_MAX_MS: u64 = 3;

/// What the log holds after some writes.
#[derive(Debug, Clone, Default)]
struct Image {
    vote: Option<Vote>,
    committed: Option<LogId>,
    purged: Option<LogId>,
    entries: BTreeMap<u64, Entry>,
}

#[derive(Debug, Clone)]
enum Write {
    Vote(Vote),
    Committed(Option<LogId>),
    Append(Vec<Entry>),
    /// Removes this index and every later one.
    Truncate(u64),
    Purge(LogId),
}

impl Image {
    fn apply(&mut self, w: &Write) {
        match w {
            Write::Vote(v) => self.vote = Some(*v),
            Write::Committed(c) => self.committed = *c,
            Write::Append(es) => {
                for e in es {
                    self.entries.insert(e.log_id.index, e.clone());
                }
            }
            Write::Truncate(i) => {
                self.entries.split_off(i);
            }
            Write::Purge(id) => {
                self.purged = Some(*id);
                self.entries = self.entries.split_off(&(id.index + 1));
            }
        }
    }

    fn state(&self) -> LogState<SimConfig> {
        let last = self.entries.values().next_back().map(|e| e.log_id);
        LogState {
            last_purged_log_id: self.purged,
            last_log_id: last.or(self.purged),
        }
    }
}

struct DiskState {
    durable: Image,
    /// What reads see: `durable` with every pending write applied.
    cache: Image,
    /// Writes not yet synced, oldest first, with the append callback to fire once synced.
    pending: VecDeque<(Write, Option<LogFlushed<SimConfig>>)>,
    /// Writes ever made; `pending` holds the last `pending.len()` of them.
    written: u64,
    /// Bumped by each crash: the incarnation allowed to use the disk.
    incarnation: u64,
    /// The newest snapshot, durable as soon as saved (corral writes a temp file, fsyncs and
    /// renames it before it tells openraft the snapshot is built).
    snapshot: Option<StoredSnapshot>,
}

/// A snapshot as the disk keeps it: openraft's meta and the data tree's snapshot bytes.
#[derive(Debug, Clone)]
pub struct StoredSnapshot {
    pub meta: SnapshotMeta,
    pub bytes: Vec<u8>,
}

/// One node's disk; survives the node's crashes. Cheap to clone.
#[derive(Clone)]
pub struct Disk(Arc<Mutex<DiskState>>);

impl Default for Disk {
    fn default() -> Self {
        Disk(Arc::new(Mutex::new(DiskState {
            durable: Image::default(),
            cache: Image::default(),
            pending: VecDeque::new(),
            written: 0,
            incarnation: 0,
            snapshot: None,
        })))
    }
}

impl Disk {
    fn lock(&self) -> MutexGuard<'_, DiskState> {
        self.0.lock().expect("disk lock poisoned")
    }

    /// Power loss: keeps a seeded prefix of the unsynced writes; returns (kept, lost).
    pub fn crash(&self) -> (usize, usize) {
        let mut d = self.lock();
        let kept = runtime::gen_range(0..=d.pending.len());
        let lost = d.pending.len() - kept;
        for _ in 0..kept {
            let (w, _) = d.pending.pop_front().expect("counted");
            d.durable.apply(&w);
        }
        // Dropping the callbacks of lost writes: the dead incarnation never hears of them.
        d.pending.clear();
        d.cache = d.durable.clone();
        d.incarnation += 1;
        (kept, lost)
    }

    /// The incarnation that may use the disk now.
    pub fn incarnation(&self) -> u64 {
        self.lock().incarnation
    }

    pub fn snapshot(&self) -> Option<StoredSnapshot> {
        self.lock().snapshot.clone()
    }

    /// Keeps `snapshot` if it is newer than the one kept; `false` if `incarnation` has crashed.
    pub fn save_snapshot(&self, incarnation: u64, snapshot: StoredSnapshot) -> bool {
        let mut d = self.lock();
        if d.incarnation != incarnation {
            return false;
        }
        let kept = d.snapshot.as_ref().and_then(|s| s.meta.last_log_id);
        if snapshot.meta.last_log_id >= kept {
            d.snapshot = Some(snapshot);
        }
        true
    }

    /// Every entry readable now, by index: its log id and its payload as text (a batch's
    /// bytes in hex), for comparing logs across nodes.
    pub fn entries(&self) -> BTreeMap<u64, (LogId, String)> {
        let d = self.lock();
        d.cache
            .entries
            .iter()
            .map(|(&i, e)| {
                let payload = match &e.payload {
                    EntryPayload::Normal(p) => p.0.iter().map(|b| format!("{b:02x}")).collect(),
                    other => format!("{other:?}"),
                };
                (i, (e.log_id, payload))
            })
            .collect()
    }

    /// The log store of the incarnation that starts now (after `crash`, or at first start).
    pub fn open(&self) -> LogStore {
        LogStore {
            disk: self.clone(),
            incarnation: self.lock().incarnation,
        }
    }

    /// Makes every write up to the `upto`-th durable, firing their callbacks in order.
    fn sync(&self, incarnation: u64, upto: u64) {
        let mut callbacks = Vec::new();
        {
            let mut d = self.lock();
            if d.incarnation != incarnation {
                return;
            }
            while (d.written - d.pending.len() as u64) < upto {
                let (w, cb) = d.pending.pop_front().expect("counted");
                d.durable.apply(&w);
                callbacks.extend(cb);
            }
        }
        for cb in callbacks {
            cb.log_io_completed(Ok(()));
        }
    }
}

/// One incarnation's view of its disk: openraft's log storage. See the module header.
#[derive(Clone)]
pub struct LogStore {
    disk: Disk,
    incarnation: u64,
}

/// A call from an incarnation that has crashed.
struct Gone;

impl From<Gone> for StorageError {
    fn from(_: Gone) -> StorageError {
        let e = io::Error::other("this incarnation of the node has crashed");
        StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, e)
    }
}

impl LogStore {
    /// Queues `w`; returns its sequence number, or an error if this incarnation is dead.
    fn write(&self, w: Write, cb: Option<LogFlushed<SimConfig>>) -> Result<u64, Gone> {
        let mut d = self.disk.lock();
        if d.incarnation != self.incarnation {
            return Err(Gone);
        }
        d.cache.apply(&w);
        d.pending.push_back((w, cb));
        d.written += 1;
        Ok(d.written)
    }

    /// Syncs everything up to `seq` after a seeded fsync delay.
    async fn fsync(&self, seq: u64) {
        let ms = runtime::gen_range(0..=FSYNC_MAX_MS);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.disk.sync(self.incarnation, seq);
    }

    fn read<T>(&self, f: impl FnOnce(&Image) -> T) -> Result<T, Gone> {
        let d = self.disk.lock();
        if d.incarnation != self.incarnation {
            return Err(Gone);
        }
        Ok(f(&d.cache))
    }
}

impl RaftLogReader<SimConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self.read(|img| img.entries.range(range).map(|(_, e)| e.clone()).collect())?)
    }
}

impl RaftLogStorage<SimConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<SimConfig>, StorageError> {
        Ok(self.read(Image::state)?)
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let seq = self.write(Write::Vote(*vote), None)?;
        self.fsync(seq).await;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.read(|img| img.vote)?)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.write(Write::Committed(committed), None)?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.read(|img| img.committed)?)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<SimConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let seq = self.write(Write::Append(entries.into_iter().collect()), Some(callback))?;
        let store = self.clone();
        tokio::spawn(async move { store.fsync(seq).await });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let seq = self.write(Write::Truncate(log_id.index), None)?;
        self.fsync(seq).await;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(Write::Purge(log_id), None)?;
        Ok(())
    }
}
