//! Measures snapshot write and read of a large tree; prints numbers, asserts only correctness.
//! Run: `cargo test --release -p corral-datatree --test snapshot_perf -- --ignored --nocapture`
//! (`SNAPSHOT_PERF_NODES` changes the node count, default 1,000,000 of 100 bytes each).

use std::time::Instant;

use corral_datatree::snapshot::{
    read_snapshot_file, write_snapshot_file, SnapshotMeta, SnapshotReader,
};
use corral_datatree::{DataTree, Txn, TxnOp};
use corral_jute::{create_flags, Acl};

/// Peak resident set size so far (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn create(path: String, data: Vec<u8>) -> Txn {
    Txn {
        session_id: 0,
        time_ms: 1_700_000_000_000,
        auth: vec![],
        op: TxnOp::Create {
            path,
            data: Some(data),
            acl: Acl::open(),
            flags: create_flags::PERSISTENT,
            ttl_ms: -1,
        },
    }
}

#[test]
#[ignore = "a measurement, minutes in debug: run it in release with --ignored --nocapture"]
fn one_million_nodes() {
    let n: usize = std::env::var("SNAPSHOT_PERF_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let fanout = 1000;
    let t0 = Instant::now();
    let mut tree = DataTree::new();
    let mut zxid = 0;
    for p in 0..n.div_ceil(fanout) {
        zxid += 1;
        tree.apply(zxid, &create(format!("/p{p:04}"), vec![b'p'; 100]));
        for c in 0..fanout.min(n - p * fanout) {
            zxid += 1;
            let data = vec![(c % 251) as u8; 100];
            tree.apply(zxid, &create(format!("/p{p:04}/c{c:06}"), data));
        }
    }
    eprintln!(
        "built {} znodes in {:.2?}; peak RSS {:?} MiB",
        tree.nodes().count(),
        t0.elapsed(),
        peak_rss_mib()
    );

    let dir = std::env::temp_dir().join(format!("corral-snap-perf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = SnapshotMeta {
        last_zxid: tree.last_zxid(),
        raft_meta: vec![0; 64],
    };
    let t1 = Instant::now();
    let path = write_snapshot_file(&tree, &meta, &dir).unwrap();
    let write = t1.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    let rss_after_write = peak_rss_mib();
    let t3 = Instant::now();
    let file = std::fs::File::open(&path).unwrap();
    let mut rd = SnapshotReader::open(file, size).unwrap();
    let mut count = 0;
    while rd.next_node().unwrap().is_some() {
        count += 1;
    }
    while rd.next_session().unwrap().is_some() {}
    rd.finish().unwrap();
    eprintln!("decode only (no tree) {count} nodes: {:.2?}", t3.elapsed());
    let t2 = Instant::now();
    let (back_meta, back) = read_snapshot_file(&path).unwrap();
    let read = t2.elapsed();
    eprintln!(
        "write (incl. fsync) {write:.2?}, file {:.1} MiB; read+verify+rebuild {read:.2?}; \
         peak RSS after write {rss_after_write:?} MiB, after read {:?} MiB (two trees)",
        size as f64 / (1 << 20) as f64,
        peak_rss_mib()
    );
    assert_eq!(back_meta, meta);
    assert_eq!(back.digest(), tree.digest());
    std::fs::remove_dir_all(&dir).unwrap();
}
