//! The state machine adapter: openraft's `RaftStateMachine`, with the data tree living in the
//! server's core task rather than here.
//!
//! Why the tree is not owned here: the core answers reads, fires watches and sends replies in
//! one order. If this adapter applied entries to a shared tree, a read could see a change
//! before the core had queued the watch event for it, breaking ZooKeeper's rule that a client
//! sees the event before the new data. So the adapter forwards; the core applies.
//!
//! Contract kept:
//! - Every item of every committed batch (see [`crate::batch`]) reaches the core as
//!   [`SmEvent::Apply`], in log order, exactly once per process, with its zxid. Blank and
//!   membership entries advance `last_applied` (and the membership) without reaching the core.
//! - A snapshot request reaches the core in the same channel, right after the last entry it
//!   covers, so the core answers with the tree exactly at `last_applied`: a clone, which costs
//!   nothing (the tree's node map is persistent). Encoding and writing the file (temp, fsync,
//!   rename) happen off the core, in the builder, while writes go on; openraft hears the
//!   snapshot is built only once the file is durable, and only then may the log be purged.
//! - A snapshot installed from a leader is made durable first, then loaded by the core.

use std::path::PathBuf;

use corral_datatree::DataTree;
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use tokio::sync::{mpsc, oneshot};

use crate::batch;
use crate::schedule::SnapshotSchedule;
use crate::snapshot_store::{RaftMeta, SnapshotStore};
use crate::types::{
    ApplyResponse, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

/// What the state machine asks of the server's core, in log order.
#[derive(Debug)]
pub enum SmEvent {
    /// One committed server entry, with its zxid.
    Apply { zxid: u64, payload: Vec<u8> },
    /// Send back a clone of the tree as it stands after every earlier `Apply`.
    Snapshot { reply: oneshot::Sender<DataTree> },
    /// Replace the tree with the snapshot in this (durable, verified-by-reader) file.
    Install {
        path: PathBuf,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The state machine adapter. See the module header.
pub struct StateMachine {
    applied: Option<LogId>,
    membership: StoredMembership,
    events: mpsc::UnboundedSender<SmEvent>,
    store: SnapshotStore,
    schedule: SnapshotSchedule,
    /// Makes snapshot ids unique among snapshots of the same log id.
    snapshots_built: u64,
}

impl StateMachine {
    /// A state machine that starts where the recovered snapshot (if any) left off.
    pub fn new(
        recovered: Option<RaftMeta>,
        events: mpsc::UnboundedSender<SmEvent>,
        store: SnapshotStore,
        schedule: SnapshotSchedule,
    ) -> StateMachine {
        let recovered = recovered.unwrap_or_default();
        StateMachine {
            applied: recovered.last_log_id,
            membership: recovered.last_membership,
            events,
            store,
            schedule,
            snapshots_built: 0,
        }
    }

    fn core_gone(&self) -> StorageError {
        let e = std::io::Error::other("the server core has stopped");
        StorageIOError::write_state_machine(&e).into()
    }
}

/// Builds one snapshot: waits for the core's tree, then encodes and writes it durably.
pub struct SnapshotBuilder {
    meta: SnapshotMeta,
    tree: Option<oneshot::Receiver<DataTree>>,
    store: SnapshotStore,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let rx = self.tree.take().ok_or_else(|| {
            let e = std::io::Error::other("snapshot builder used twice");
            StorageError::from(StorageIOError::write_snapshot(None, &e))
        })?;
        let tree = rx.await.map_err(|_| {
            let e = std::io::Error::other("the server core has stopped");
            StorageError::from(StorageIOError::write_snapshot(None, &e))
        })?;
        let path = self.store.save_until_written(tree, &self.meta).await;
        // openraft 0.9 keeps only the meta of a built snapshot (`sm::worker`); a follower's
        // bytes come from `get_current_snapshot`.
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(self.meta.signature()),
                &e,
            ))
        })?;
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Box::new(file),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            let index = entry.log_id.index;
            self.applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(payload) => {
                    let items = batch::decode_batch(&payload.0).map_err(|why| {
                        // raft-log checksums records: this is a foreign or broken writer.
                        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, why);
                        StorageError::from(StorageIOError::read_log_at_index(index, &e))
                    })?;
                    self.schedule.applied(items.len());
                    for (i, item) in items.into_iter().enumerate() {
                        let event = SmEvent::Apply {
                            zxid: batch::zxid_of(index, i),
                            payload: item.to_vec(),
                        };
                        self.events.send(event).map_err(|_| self.core_gone())?;
                    }
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                }
                EntryPayload::Blank => {}
            }
            responses.push(ApplyResponse {
                zxid: batch::zxid_of(index, 0),
            });
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        self.schedule.snapshot_started();
        self.snapshots_built += 1;
        let snapshot_id = match self.applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, self.snapshots_built),
            None => format!("none-{}", self.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id,
        };
        // Sent now, from the apply sequence, so the core's tree is exactly `last_applied`.
        let (reply, rx) = oneshot::channel();
        let tree = self
            .events
            .send(SmEvent::Snapshot { reply })
            .ok()
            .map(|()| rx);
        SnapshotBuilder {
            meta,
            tree,
            store: self.store.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError> {
        self.store.begin_receiving().await.map(Box::new)
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError> {
        let path = self.store.install(*snapshot, meta).await?;
        let (reply, rx) = oneshot::channel();
        self.events
            .send(SmEvent::Install { path, reply })
            .map_err(|_| self.core_gone())?;
        let loaded = rx.await.map_err(|_| self.core_gone())?;
        loaded.map_err(|why| {
            let e = std::io::Error::new(std::io::ErrorKind::InvalidData, why);
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e))
        })?;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        self.store.current().await
    }
}
