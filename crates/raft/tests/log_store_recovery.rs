//! What survives a close and reopen of the log store: entries, vote, truncation, purge; and a
//! torn tail (a crash mid-write) is cut off at open instead of failing it.

use corral_raft::types::{Entry, EntryPayload, LogId};
use corral_raft::{dump, LogPayload, LogStore, LogStoreConfig};
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
    let newest = newest_chunk(dir.path());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 3).unwrap();
    drop(f);
    let damage = dump::read_chunk(&newest)
        .unwrap()
        .damage
        .expect("a torn tail");
    assert_eq!(damage.kind, dump::DamageKind::TornTail);

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

/// The newest chunk file of a log directory.
fn newest_chunk(dir: &std::path::Path) -> std::path::PathBuf {
    dump::chunk_files(dir).unwrap().pop().expect("a chunk file")
}

/// Writes entries 1..=n, each durable, and closes the store.
async fn log_with_entries(config: &LogStoreConfig, n: u64) {
    let mut store = LogStore::open(config).unwrap();
    for i in 1..=n {
        store.blocking_append([entry(1, i)]).await.unwrap();
    }
}

/// The file offset of entry `index`'s record.
fn entry_offset(chunk: &dump::Chunk, index: u64) -> u64 {
    chunk
        .records
        .iter()
        .find(|r| matches!(&r.record, dump::Record::Entry { id, .. } if id.index == index))
        .expect("the entry is in the chunk")
        .offset
}

fn flip_byte(path: &std::path::Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_reads_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogStoreConfig::new(dir.path());
    {
        let mut store = LogStore::open(&config).unwrap();
        store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
        store
            .blocking_append((1..=3).map(|i| entry(1, i)))
            .await
            .unwrap();
        store.save_committed(Some(log_id(1, 2))).await.unwrap();
        store.purge(log_id(1, 1)).await.unwrap();
        store.blocking_append([entry(1, 4)]).await.unwrap();
    }
    let files = dump::chunk_files(dir.path()).unwrap();
    assert_eq!(files.len(), 1);
    let chunk = dump::read_chunk(&files[0]).unwrap();
    assert!(chunk.damage.is_none(), "{:?}", chunk.damage);
    let id = |index| dump::LogId {
        term: 1,
        leader: 1,
        index,
    };
    let normal = |i: u64| dump::Record::Entry {
        id: id(i),
        payload: dump::Payload::Normal(format!("txn {i}").into_bytes()),
    };
    let records: Vec<_> = chunk.records.iter().map(|r| r.record.clone()).collect();
    assert_eq!(
        records,
        vec![
            dump::Record::State {
                vote: None,
                last: None,
                committed: None,
                purged: None
            },
            dump::Record::Vote(dump::Vote {
                term: 1,
                node: 1,
                committed: true
            }),
            normal(1),
            normal(2),
            normal(3),
            dump::Record::Commit(id(2)),
            dump::Record::PurgeUpto(id(1)),
            normal(4),
        ]
    );
    // Records tile the file.
    let mut end = 0;
    for r in &chunk.records {
        assert_eq!(r.offset, end);
        end += r.size;
    }
    assert_eq!(end, chunk.len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_record_inside_the_log_fails_open_naming_file_and_offset() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let config = LogStoreConfig::new(dir.path());
    log_with_entries(&config, 5).await;
    let path = newest_chunk(dir.path());
    let at = entry_offset(&dump::read_chunk(&path).unwrap(), 2);
    // The last byte of entry 2's payload: its checksum no longer matches.
    let payload_end = at + 4 + 24 + 1 + 4 + "txn 2".len() as u64 - 1;
    flip_byte(&path, payload_end);

    let chunk = dump::read_chunk(&path).unwrap();
    let damage = chunk.damage.as_ref().expect("damage found");
    assert_eq!(damage.offset, at);
    assert!(matches!(damage.kind, dump::DamageKind::Corrupt { .. }));

    let err = LogStore::open(&config).err().expect("open refuses");
    let msg = err.to_string();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "{msg}");
    assert!(msg.contains(&format!("at offset {at}")), "{msg}");
    // Nothing was cut.
    assert_eq!(std::fs::read(&path).unwrap().len() as u64, chunk.len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_length_at_the_tail_is_not_taken_for_a_torn_write() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let config = LogStoreConfig::new(dir.path());
    log_with_entries(&config, 5).await;
    let path = newest_chunk(dir.path());
    let before = dump::read_chunk(&path).unwrap();
    let at = entry_offset(&before, 3);
    // The high byte of entry 3's payload length: the record now claims to run past the end
    // of the file, exactly as a record cut short by a crash does. Entries 4 and 5 follow.
    flip_byte(&path, at + 4 + 24 + 1);

    let chunk = dump::read_chunk(&path).unwrap();
    let damage = chunk.damage.as_ref().expect("damage found");
    assert_eq!(damage.offset, at);
    assert_eq!(damage.error.kind(), std::io::ErrorKind::UnexpectedEof);
    let next = entry_offset(&before, 4);
    assert_eq!(
        damage.kind,
        dump::DamageKind::Corrupt {
            valid_record_at: Some(next)
        }
    );

    let err = LogStore::open(&config).err().expect("open refuses");
    let msg = err.to_string();
    assert!(msg.contains(&format!("at offset {at}")), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap().len() as u64, chunk.len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_an_older_chunk_is_located() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let mut config = LogStoreConfig::new(dir.path());
    // A few records per chunk, so the log spans several files.
    config.chunk_max_bytes = 200;
    log_with_entries(&config, 12).await;
    let files = dump::chunk_files(dir.path()).unwrap();
    assert!(files.len() >= 3, "several chunks: {files:?}");
    let first = &files[0];
    let chunk = dump::read_chunk(first).unwrap();
    let last = chunk.records.last().unwrap();
    // The last byte of the chunk's last record: its checksum no longer matches.
    flip_byte(first, last.offset + last.size - 1);

    let err = LogStore::open(&config).err().expect("open refuses");
    let msg = err.to_string();
    let name = first.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "{msg}");
    assert!(msg.contains(&format!("at offset {}", last.offset)), "{msg}");
}
