//! The simulated state machine: corral's real data tree, applying the real logged `Txn`s of
//! each committed batch (`corral_raft::batch`) at their real zxids, and snapshots in the data
//! tree's real snapshot format.
//!
//! What differs from `corral_raft::StateMachine`: the tree lives here (corral keeps it in the
//! server's core task, behind an event channel), and a snapshot is kept on the simulated disk
//! instead of in files. As in corral, the tree is volatile: a crash loses it, and the next
//! incarnation starts from the disk's snapshot and replays the log after it.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use corral_datatree::snapshot::{read_snapshot, write_snapshot};
use corral_datatree::{DataTree, OpResult, Txn};
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

use crate::disk::{Disk, StoredSnapshot};
use crate::types::{
    Entry, LogId, Outcome, Outcomes, SimConfig, Snapshot, SnapshotMeta, StorageError,
    StoredMembership,
};

/// What a node's state machine holds; shared with the simulation, which reads the tree.
#[derive(Default)]
pub struct Applied {
    pub tree: DataTree,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

/// One incarnation's state machine. Cheap to clone.
#[derive(Clone)]
pub struct StateMachine {
    applied: Arc<Mutex<Applied>>,
    disk: Disk,
    incarnation: u64,
    snapshots_built: Arc<Mutex<u64>>,
}

impl StateMachine {
    /// The state machine of the incarnation starting now: the disk's snapshot, if any.
    pub fn open(disk: &Disk) -> StateMachine {
        let applied = match disk.snapshot() {
            Some(s) => {
                let tree = decode(&s).expect("a snapshot this simulation wrote reads back");
                Applied {
                    tree,
                    last_applied: s.meta.last_log_id,
                    membership: s.meta.last_membership.clone(),
                }
            }
            None => Applied::default(),
        };
        StateMachine {
            applied: Arc::new(Mutex::new(applied)),
            disk: disk.clone(),
            incarnation: disk.incarnation(),
            snapshots_built: Arc::default(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Applied> {
        self.applied.lock().expect("state machine lock poisoned")
    }
}

fn damaged(index: u64, why: String) -> StorageError {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    StorageError::from(StorageIOError::read_log_at_index(index, &e))
}

fn snapshot_error(why: String) -> StorageError {
    let e = std::io::Error::other(why);
    StorageError::from(StorageIOError::write_snapshot(None, &e))
}

fn decode(s: &StoredSnapshot) -> Result<DataTree, String> {
    let (_, tree) = read_snapshot(&s.bytes[..], s.bytes.len() as u64).map_err(|e| e.to_string())?;
    Ok(tree)
}

fn encode(tree: &DataTree, last: Option<LogId>) -> Vec<u8> {
    let meta = corral_datatree::snapshot::SnapshotMeta {
        last_zxid: last.map_or(0, |id| corral_raft::batch::last_zxid_of(id.index) as i64),
        raft_meta: Vec::new(),
    };
    let mut bytes = Vec::new();
    write_snapshot(tree, &meta, &mut bytes).expect("writing to memory");
    bytes
}

impl RaftSnapshotBuilder<SimConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (meta, bytes) = {
            let a = self.lock();
            let mut built = self.snapshots_built.lock().expect("counter lock");
            *built += 1;
            let id = match a.last_applied {
                Some(id) => format!("{}-{}-{}", id.leader_id, id.index, built),
                None => format!("none-{built}"),
            };
            let meta = SnapshotMeta {
                last_log_id: a.last_applied,
                last_membership: a.membership.clone(),
                snapshot_id: id,
            };
            (meta, encode(&a.tree, a.last_applied))
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            bytes: bytes.clone(),
        };
        if !self.disk.save_snapshot(self.incarnation, stored) {
            return Err(snapshot_error("this incarnation has crashed".into()));
        }
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<SimConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let a = self.lock();
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcomes>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut a = self.lock();
        let mut replies = Vec::new();
        for entry in entries {
            let index = entry.log_id.index;
            assert!(
                a.last_applied.is_none_or(|l| l.index < index),
                "entry {index} applied out of order"
            );
            a.last_applied = Some(entry.log_id);
            let mut outcomes = Vec::new();
            match entry.payload {
                EntryPayload::Normal(payload) => {
                    let items = corral_raft::batch::decode_batch(&payload.0)
                        .map_err(|why| damaged(index, why))?;
                    for (i, item) in items.into_iter().enumerate() {
                        let txn = Txn::from_log_bytes(item)
                            .map_err(|e| damaged(index, format!("{e:?}")))?;
                        let zxid = corral_raft::batch::zxid_of(index, i) as i64;
                        outcomes.push(match a.tree.apply(zxid, &txn).result {
                            Ok(OpResult::SetData { stat }) => Outcome::Version(stat.version),
                            Ok(OpResult::Created { stat, .. }) => Outcome::Version(stat.version),
                            Ok(_) => Outcome::Version(-1),
                            Err(code) => Outcome::Error(code.as_i32()),
                        });
                    }
                }
                EntryPayload::Membership(m) => {
                    a.membership = StoredMembership::new(Some(entry.log_id), m);
                }
                EntryPayload::Blank => {}
            }
            replies.push(Outcomes(outcomes));
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let stored = StoredSnapshot {
            meta: meta.clone(),
            bytes: snapshot.into_inner(),
        };
        let tree = decode(&stored).map_err(snapshot_error)?;
        // Durable first, then loaded (as corral's state machine does).
        if !self.disk.save_snapshot(self.incarnation, stored) {
            return Err(snapshot_error("this incarnation has crashed".into()));
        }
        let mut a = self.lock();
        a.tree = tree;
        a.last_applied = meta.last_log_id;
        a.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.disk.snapshot().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.bytes)),
        }))
    }
}
