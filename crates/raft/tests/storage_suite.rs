//! openraft's own storage test suite, run against the raft-log store and the stub state
//! machine, each test on a fresh temporary directory.

use corral_raft::{LogStore, LogStoreConfig, StubStateMachine, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use tempfile::TempDir;

struct TempDirStores {
    force_sync: bool,
}

impl StoreBuilder<TypeConfig, LogStore, StubStateMachine, TempDir> for TempDirStores {
    async fn build(&self) -> Result<(TempDir, LogStore, StubStateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = LogStoreConfig::new(dir.path());
        config.force_sync = self.force_sync;
        let store = LogStore::open(&config).expect("open log store");
        Ok((dir, store, StubStateMachine::new()))
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
