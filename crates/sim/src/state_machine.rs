//! The simulated state machine: corral's real data tree, applying the real logged `Txn`s of
//! each committed batch (`corral_raft::batch`) at their real zxids.
//!
//! What differs from `corral_raft::StateMachine`: the tree lives here (corral keeps it in the
//! server's core task, behind an event channel), and there are no snapshots: the simulated log
//! is never purged, so a restarted node rebuilds its tree by replaying the log, as a corral
//! server does after its newest snapshot. Like corral's, the tree is volatile: a crash loses it.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use corral_datatree::{DataTree, OpResult, Txn};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

use crate::types::{Entry, LogId, Outcome, Outcomes, SimConfig, StorageError, StoredMembership};

/// What a node's state machine holds; shared with the simulation, which reads the tree.
#[derive(Default)]
pub struct Applied {
    pub tree: DataTree,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
}

/// One incarnation's state machine. Cheap to clone.
#[derive(Clone, Default)]
pub struct StateMachine(Arc<Mutex<Applied>>);

impl StateMachine {
    pub fn lock(&self) -> MutexGuard<'_, Applied> {
        self.0.lock().expect("state machine lock poisoned")
    }
}

fn damaged(index: u64, why: String) -> StorageError {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    StorageError::from(StorageIOError::read_log_at_index(index, &e))
}

fn no_snapshots() -> StorageError {
    let e = std::io::Error::other("the simulation never snapshots");
    StorageError::from(StorageIOError::write_snapshot(None, &e))
}

/// Never built: the simulation's snapshot policy is `Never` and its log is never purged.
pub struct NoSnapshot;

impl RaftSnapshotBuilder<SimConfig> for NoSnapshot {
    async fn build_snapshot(&mut self) -> Result<Snapshot<SimConfig>, StorageError> {
        Err(no_snapshots())
    }
}

impl RaftStateMachine<SimConfig> for StateMachine {
    type SnapshotBuilder = NoSnapshot;

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

    async fn get_snapshot_builder(&mut self) -> NoSnapshot {
        NoSnapshot
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Err(no_snapshots())
    }

    async fn install_snapshot(
        &mut self,
        _meta: &openraft::SnapshotMeta<u64, corral_raft::CorralNode>,
        _snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        Err(no_snapshots())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<SimConfig>>, StorageError> {
        Ok(None)
    }
}
