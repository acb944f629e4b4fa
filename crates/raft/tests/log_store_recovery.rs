//! What survives a close and reopen of the log store: entries, vote, truncation, purge; and a
//! torn tail (a crash mid-write) is cut off at open instead of failing it.

use corral_raft::types::{Entry, EntryPayload, LogId};
use corral_raft::{LogPayload, LogStore, LogStoreConfig};
use openraft::storage::{RaftLogReader, RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, Vote};

fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(LogPayload(format!("txn {index}").into_bytes())),
    }
}

/// `RUST_LOG=warn` shows the torn-tail line the open writes.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn indexes(store: &mut LogStore) -> Vec<u64> {
    let entries = store.try_get_log_entries(0..u64::MAX).await.unwrap();
    entries.iter().map(|e| e.log_id.index).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_vote_truncate_and_purge_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogStoreConfig::new(dir.path());
    {
        let mut store = LogStore::open(&config).unwrap();
        store.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
        store
            .blocking_append((1..=10).map(|i| entry(if i <= 5 { 1 } else { 2 }, i)))
            .await
            .unwrap();
        store.truncate(log_id(2, 8)).await.unwrap();
        store.purge(log_id(1, 3)).await.unwrap();
        // The purge is not waited for; an append after it is, and flushes it in order.
        store.blocking_append([entry(2, 8)]).await.unwrap();
    }

    let mut store = LogStore::open(&config).unwrap();
    assert_eq!(
        store.read_vote().await.unwrap(),
        Some(Vote::new_committed(2, 1))
    );
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 3)));
    assert_eq!(state.last_log_id, Some(log_id(2, 8)));
    assert_eq!(indexes(&mut store).await, vec![4, 5, 6, 7, 8]);
    let e8 = store.try_get_log_entries(8..9).await.unwrap();
    assert_eq!(
        e8[0].payload,
        EntryPayload::Normal(LogPayload(b"txn 8".to_vec()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_cut_off_at_open() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let config = LogStoreConfig::new(dir.path());
    {
        let mut store = LogStore::open(&config).unwrap();
        store
            .blocking_append((1..=3).map(|i| entry(1, i)))
            .await
            .unwrap();
        store.blocking_append([entry(1, 4)]).await.unwrap();
    }

    // A crash mid-write leaves only a prefix of the last record (entry 4) in the newest chunk.
    let mut chunks: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    chunks.sort();
    let newest = chunks.last().unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(newest)
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 3).unwrap();
    drop(f);

    let mut store = LogStore::open(&config).unwrap();
    assert_eq!(indexes(&mut store).await, vec![1, 2, 3]);
    // And the log goes on from where the intact part ended.
    store.blocking_append([entry(2, 4)]).await.unwrap();
    drop(store);
    let mut store = LogStore::open(&config).unwrap();
    assert_eq!(indexes(&mut store).await, vec![1, 2, 3, 4]);
    let last = store.get_log_state().await.unwrap().last_log_id;
    assert_eq!(last, Some(log_id(2, 4)));
}
