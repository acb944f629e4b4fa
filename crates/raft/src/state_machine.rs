//! A stand-in state machine: it records what openraft needs (the last applied log id and the
//! last membership) and nothing else, so the log store can be tested under openraft's storage
//! suite before the real state machine exists. The real one wraps the data tree, applies each
//! payload with `datatree::apply` and publishes the results in order; it replaces this file.
//!
//! Contract kept (openraft `RaftStateMachine`):
//! - `apply` answers one response per entry, in order, and advances `last_applied` to each.
//! - A membership entry becomes the last membership, stamped with its log id.
//! - `build_snapshot` captures `(last_applied, last_membership)` as bytes and makes that the
//!   current snapshot; `install_snapshot` replaces the state with the snapshot's bytes and keeps
//!   the snapshot as the current one.
//! - Nothing here is durable; the real state machine persists snapshots as files.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};

use crate::types::{
    ApplyResponse, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// What the stub remembers, and what its snapshots hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Applied {
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
}

#[derive(Default)]
struct Inner {
    applied: Applied,
    current: Option<(SnapshotMeta, Vec<u8>)>,
    /// Makes snapshot ids unique among snapshots of the same log id.
    snapshots_built: u64,
}

/// The stand-in state machine. Clones share one state (the builder is a clone).
#[derive(Clone, Default)]
pub struct StubStateMachine {
    inner: Arc<Mutex<Inner>>,
}

impl StubStateMachine {
    pub fn new() -> StubStateMachine {
        StubStateMachine::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("state machine mutex poisoned")
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StubStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let mut inner = self.lock();
        let bytes = postcard::to_stdvec(&inner.applied)
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        inner.snapshots_built += 1;
        let last = inner.applied.last_applied;
        let snapshot_id = match last {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, inner.snapshots_built),
            None => format!("none-{}", inner.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: inner.applied.last_membership.clone(),
            snapshot_id,
        };
        inner.current = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StubStateMachine {
    type SnapshotBuilder = StubStateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let inner = self.lock();
        Ok((
            inner.applied.last_applied,
            inner.applied.last_membership.clone(),
        ))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.lock();
        let mut responses = Vec::new();
        for entry in entries {
            debug_assert!(
                Some(entry.log_id) > inner.applied.last_applied,
                "entries are applied in log order, once"
            );
            inner.applied.last_applied = Some(entry.log_id);
            if let EntryPayload::Membership(m) = entry.payload {
                inner.applied.last_membership = StoredMembership::new(Some(entry.log_id), m);
            }
            responses.push(ApplyResponse {
                zxid: entry.log_id.index,
            });
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
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
        let bytes = snapshot.into_inner();
        let applied: Applied = postcard::from_bytes(&bytes)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        // The bytes and the metadata travel separately; disagreeing, neither can be trusted.
        if applied.last_applied != meta.last_log_id
            || applied.last_membership != meta.last_membership
        {
            let e = std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "snapshot bytes disagree with the snapshot metadata",
            );
            return Err(StorageIOError::read_snapshot(Some(meta.signature()), &e).into());
        }
        let mut inner = self.lock();
        inner.applied = applied;
        inner.current = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let inner = self.lock();
        Ok(inner.current.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}
