//! openraft's own storage test suite, run against the raft-log store and the real state
//! machine adapter, each test on a fresh temporary directory. A small thread stands in for the
//! server's core: it answers snapshot requests with an (empty) tree, which the adapter writes
//! in the snapshot format, and loads installed snapshots back, so the files the adapter
//! writes are checked too.

use corral_datatree::snapshot::read_snapshot_file;
use corral_datatree::DataTree;
use corral_raft::schedule::SnapshotSchedule;
use corral_raft::{
    LogStore, LogStoreConfig, SmEvent, SnapshotStore, StateMachine, TypeConfig, DEFAULT_SNAP_COUNT,
};
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use tempfile::TempDir;
use tokio::sync::mpsc;

struct TempDirStores {
    force_sync: bool,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for TempDirStores {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = LogStoreConfig::new(dir.path().join("log"));
        config.force_sync = self.force_sync;
        let store = LogStore::open(&config).expect("open log store");
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots).expect("snapshot dir");
        let (purge_tx, _purge_rx) = mpsc::unbounded_channel();
        let snapshot_store = SnapshotStore::new(snapshots, 3, None, purge_tx, Default::default());
        let (events, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || stand_in_core(rx));
        let (snapshot_tx, _snapshot_rx) = mpsc::unbounded_channel();
        let schedule = SnapshotSchedule::new(DEFAULT_SNAP_COUNT, snapshot_tx);
        let sm = StateMachine::new(None, events, snapshot_store, schedule);
        Ok((dir, store, sm))
    }
}

fn stand_in_core(mut rx: mpsc::UnboundedReceiver<SmEvent>) {
    while let Some(event) = rx.blocking_recv() {
        match event {
            SmEvent::Apply { .. } => {}
            SmEvent::Snapshot { reply } => {
                let _ = reply.send(DataTree::new());
            }
            SmEvent::Install { path, reply } => {
                let loaded = read_snapshot_file(&path)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let _ = reply.send(loaded);
            }
        }
    }
}

/// `RUST_LOG=info` shows the suite's steps, which name the case that failed.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

#[test]
fn openraft_storage_suite() {
    init_logging();
    Suite::test_all(TempDirStores { force_sync: true }).expect("openraft storage suite");
}

#[test]
fn openraft_storage_suite_without_fsync() {
    init_logging();
    Suite::test_all(TempDirStores { force_sync: false }).expect("openraft storage suite");
}
