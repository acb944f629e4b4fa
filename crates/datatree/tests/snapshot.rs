//! The snapshot format's contract: a tree built by applying Txns reads back equal (digest,
//! every node, sessions); replicas write identical bytes; any flipped byte and any truncation is
//! an error, never a panic; the directory falls back past a corrupt newest file and purges to N.

use std::fs;
use std::path::PathBuf;

use corral_datatree::snapshot::{
    copy_snapshot_file, list_snapshots, load_newest_valid, purge, read_snapshot, receiving_path,
    remove_leftovers, write_snapshot, write_snapshot_file, SnapshotError, SnapshotMeta,
    SnapshotReader, MAGIC,
};
use corral_datatree::{digest_id, DataTree, NodeKind, Txn, TxnOp};
use corral_jute::{create_flags, perms, Acl, Id};

fn txn(session_id: i64, op: TxnOp) -> Txn {
    Txn {
        session_id,
        time_ms: 1_700_000_000_000,
        auth: vec![Id::new("digest", &digest_id("alice:secret"))],
        op,
    }
}

fn create(path: &str, data: Option<&[u8]>, flags: i32, ttl_ms: i64) -> TxnOp {
    TxnOp::Create {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        acl: Acl::open(),
        flags,
        ttl_ms,
    }
}

/// Every node kind, null and empty data, a digest ACL, sequence nodes, a closed session's
/// ephemerals gone and an open session's kept, changed versions, a failed op.
fn transactions() -> Vec<Txn> {
    let alice = vec![Acl {
        perms: perms::ALL,
        id: Id::new("digest", &digest_id("alice:secret")),
    }];
    vec![
        txn(
            0x100,
            TxnOp::CreateSession {
                timeout_ms: 30_000,
                passwd: vec![7; 16],
            },
        ),
        txn(
            0x200,
            TxnOp::CreateSession {
                timeout_ms: 4_000,
                passwd: vec![9; 16],
            },
        ),
        txn(
            0x100,
            create("/app", Some(b"config"), create_flags::PERSISTENT, -1),
        ),
        txn(
            0x100,
            create("/app/null", None, create_flags::PERSISTENT, -1),
        ),
        txn(
            0x100,
            create("/app/empty", Some(b""), create_flags::PERSISTENT, -1),
        ),
        txn(
            0x100,
            create(
                "/app/seq-",
                Some(b"s"),
                create_flags::PERSISTENT_SEQUENTIAL,
                -1,
            ),
        ),
        txn(
            0x100,
            create(
                "/app/seq-",
                Some(b"s"),
                create_flags::PERSISTENT_SEQUENTIAL,
                -1,
            ),
        ),
        txn(
            0x100,
            create("/app/eph", Some(b"\x00\xff"), create_flags::EPHEMERAL, -1),
        ),
        txn(
            0x200,
            create("/app/gone", None, create_flags::EPHEMERAL_SEQUENTIAL, -1),
        ),
        txn(0x100, create("/locks", None, create_flags::CONTAINER, -1)),
        txn(
            0x100,
            create("/locks/l", None, create_flags::PERSISTENT, -1),
        ),
        txn(
            0x100,
            create(
                "/ttl",
                Some(b"t"),
                create_flags::PERSISTENT_WITH_TTL,
                60_000,
            ),
        ),
        txn(
            0x100,
            TxnOp::Create {
                path: "/secret".into(),
                data: Some(b"s3cr3t".to_vec()),
                acl: alice,
                flags: create_flags::PERSISTENT,
                ttl_ms: -1,
            },
        ),
        txn(
            0x100,
            TxnOp::SetData {
                path: "/app".into(),
                data: Some(b"v2".to_vec()),
                version: 0,
            },
        ),
        txn(
            0x100,
            TxnOp::SetAcl {
                path: "/app/empty".into(),
                acl: Acl::read_only(),
                version: -1,
            },
        ),
        txn(
            0x100,
            TxnOp::Delete {
                path: "/app/seq-0000000003".into(),
                version: -1,
            },
        ),
        txn(
            0x100,
            TxnOp::Delete {
                path: "/nope".into(),
                version: -1,
            },
        ), // fails: NoNode
        txn(0x200, TxnOp::CloseSession),
        txn(
            0x300,
            TxnOp::CreateSession {
                timeout_ms: 10_000,
                passwd: vec![],
            },
        ),
    ]
}

fn build() -> DataTree {
    let mut t = DataTree::new();
    for (i, tx) in transactions().iter().enumerate() {
        t.apply(i as i64 + 1, tx);
    }
    t.check_invariants();
    t
}

/// Applies `op` (by session 0x300) at the zxid after the tree's last.
fn apply(t: &mut DataTree, op: TxnOp) {
    let zxid = t.last_zxid() + 1;
    t.apply(zxid, &txn(0x300, op));
}

fn meta(t: &DataTree) -> SnapshotMeta {
    SnapshotMeta {
        last_zxid: t.last_zxid(),
        raft_meta: b"raft:term=3,index=19".to_vec(),
    }
}

fn bytes_of(t: &DataTree) -> Vec<u8> {
    let mut out = Vec::new();
    let n = write_snapshot(t, &meta(t), &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    out
}

fn read(bytes: &[u8]) -> Result<(SnapshotMeta, DataTree), SnapshotError> {
    read_snapshot(bytes, bytes.len() as u64)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-snap-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The encoder holds nodes in a window of a few dozen before it writes them (it asks for
/// their memory early): a tree many times that size, with null, empty, small and multi-line
/// data, comes back node for node.
#[test]
fn round_trip_of_a_tree_larger_than_the_encoder_window() {
    let mut t = DataTree::new();
    apply(&mut t, create("/w", None, create_flags::PERSISTENT, -1));
    for i in 0..300 {
        let data = match i % 4 {
            0 => None,
            1 => Some(Vec::new()),
            2 => Some(vec![i as u8; 7]),
            _ => Some(vec![i as u8; 200 + i]),
        };
        let parent = if i % 3 == 0 { "/w" } else { "" };
        apply(
            &mut t,
            create(
                &format!("{parent}/n{i:03}"),
                data.as_deref(),
                create_flags::PERSISTENT,
                -1,
            ),
        );
    }
    let (_, back) = read(&bytes_of(&t)).unwrap();
    assert_eq!(back.node_count(), t.node_count());
    assert_eq!(back.digest(), t.digest());
    let written: Vec<_> = back
        .nodes()
        .map(|(p, n)| (p.to_string(), n.clone()))
        .collect();
    let held: Vec<_> = t.nodes().map(|(p, n)| (p.to_string(), n.clone())).collect();
    assert_eq!(written, held);
}

#[test]
fn round_trip_keeps_every_node_session_and_the_digest() {
    let t = build();
    let (m, back) = read(&bytes_of(&t)).unwrap();
    assert_eq!(m, meta(&t));
    assert_eq!(back.digest(), t.digest());
    assert_eq!(back.last_zxid(), t.last_zxid());
    assert_eq!(back.node_count(), t.node_count());
    assert_eq!(back.approximate_data_size(), t.approximate_data_size());
    assert_eq!(back.ephemeral_count(), t.ephemeral_count());
    for (path, node) in t.nodes() {
        assert_eq!(back.node(path), Some(node), "{path}");
        assert_eq!(back.exists(path), t.exists(path), "{path}");
    }
    let kinds: Vec<NodeKind> = t.nodes().map(|(_, n)| n.kind()).collect();
    for k in [
        NodeKind::Persistent,
        NodeKind::Ephemeral,
        NodeKind::Container,
        NodeKind::Ttl,
    ] {
        assert!(kinds.contains(&k), "the fixture lacks {k:?}");
    }
    assert_eq!(back.node("/app/null").unwrap().data(), None);
    assert_eq!(back.node("/app/empty").unwrap().data(), Some(&b""[..]));
    assert_eq!(back.session_ids(), [0x100, 0x300]);
    for id in t.session_ids() {
        assert_eq!(back.session(id), t.session(id));
        assert_eq!(back.get_ephemerals(id, "/"), t.get_ephemerals(id, "/"));
    }
    assert_eq!(back.get_ephemerals(0x100, "/"), ["/app/eph"]);
    assert_eq!(back.expirable_nodes(i64::MAX), t.expirable_nodes(i64::MAX));
    // Both go on identically: the restored tree is a full replica.
    let (mut a, mut b) = (t, back);
    let next = txn(0x100, TxnOp::CloseSession);
    assert_eq!(a.apply(100, &next), b.apply(100, &next));
    let next = txn(
        0x300,
        create("/app/seq-", None, create_flags::PERSISTENT_SEQUENTIAL, -1),
    );
    assert_eq!(a.apply(101, &next), b.apply(101, &next));
    assert_eq!(a.digest(), b.digest());
    b.check_invariants();
}

#[test]
fn replicas_write_identical_bytes() {
    // Each DataTree's HashMap iterates in its own random order: sorting must hide it.
    let (a, b) = (build(), build());
    assert_eq!(bytes_of(&a), bytes_of(&b));
    // And a reloaded tree writes the same bytes again.
    let (_, c) = read(&bytes_of(&a)).unwrap();
    assert_eq!(bytes_of(&c), bytes_of(&a));
}

#[test]
fn every_flipped_byte_is_detected() {
    let good = bytes_of(&build());
    assert!(good.len() < 4096, "keep the fixture small: {}", good.len());
    for at in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            assert!(
                read(&bad).is_err(),
                "flip {mask:#x} at byte {at} went unnoticed"
            );
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    let good = bytes_of(&build());
    for len in 0..good.len() {
        let short = &good[..len];
        let e = read(short).expect_err("a truncated snapshot read back");
        assert!(e.offset() <= len as u64, "{e} names an offset past the end");
        // A reader told the full length but handed fewer bytes.
        match read_snapshot(short, good.len() as u64) {
            Err(SnapshotError::Truncated { .. }) => {}
            other => panic!("at {len}: {other:?}"),
        }
    }
    // Bytes after the checksum are refused too.
    let mut long = good.clone();
    long.push(0);
    assert!(read(&long).is_err());
    assert!(read_snapshot(&long[..], good.len() as u64).is_err());
}

#[test]
fn wrong_magic_and_version_are_named() {
    let good = bytes_of(&build());
    let mut bad = good.clone();
    bad[..4].copy_from_slice(b"ZKSN");
    match read(&bad) {
        Err(e @ SnapshotError::BadMagic { .. }) => assert!(e.to_string().contains("magic")),
        other => panic!("{other:?}"),
    }
    let mut v2 = good.clone();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    match read(&v2) {
        Err(SnapshotError::UnsupportedVersion {
            version: 2,
            offset: 8,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_node_is_reported_at_its_offset_before_later_damage() {
    // Enough nodes that decoding runs ahead of linking by more than one batch; then one
    // orphan (its parent renamed away), and the file cut short in the node after it.
    let mut t = DataTree::new();
    let mut zxid = 0;
    let mut create_node = |t: &mut DataTree, path: &str| {
        zxid += 1;
        let applied = t.apply(
            zxid,
            &txn(0, create(path, None, create_flags::PERSISTENT, -1)),
        );
        assert!(applied.result.is_ok(), "{path}: {applied:?}");
    };
    create_node(&mut t, "/a");
    for i in 0..5000 {
        create_node(&mut t, &format!("/a/n{i:05}"));
    }
    create_node(&mut t, "/m");
    create_node(&mut t, "/m/x");
    create_node(&mut t, "/z");
    let mut bytes = bytes_of(&t);
    let at = bytes
        .windows(4)
        .position(|w| w == b"/m/x")
        .expect("the path")
        - 4;
    bytes[at + 4..at + 8].copy_from_slice(b"/n/x");
    // The trailer is 20 bytes (no sessions, digest, checksum): this cuts into `/z`.
    let cut = &bytes[..bytes.len() - 40];
    match read_snapshot(cut, bytes.len() as u64) {
        Err(SnapshotError::Corrupt { offset, what }) => {
            assert_eq!(offset, at as u64);
            assert!(what.contains("/n/x has no parent"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn absurd_counts_and_lengths_allocate_nothing() {
    // A header claiming u64::MAX nodes, then a path claiming 4 GiB.
    let mut b = MAGIC.to_vec();
    b.extend(1u32.to_le_bytes());
    b.extend(5i64.to_le_bytes());
    let count_at = b.len() as u64;
    b.extend(u64::MAX.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend([0u8; 100]);
    match read(&b) {
        Err(SnapshotError::Corrupt { offset, what }) => {
            assert_eq!(offset, count_at);
            assert!(what.contains("node count"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    let path_at = b.len() as u64 - 100;
    b[count_at as usize..count_at as usize + 8].copy_from_slice(&1u64.to_le_bytes());
    b[path_at as usize..path_at as usize + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    match read(&b) {
        Err(SnapshotError::Corrupt { offset, what }) => {
            assert_eq!(offset, path_at);
            assert!(what.contains("path length 4294967295"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn streaming_reader_yields_records_in_order() {
    let t = build();
    let bytes = bytes_of(&t);
    let mut rd = SnapshotReader::open(&bytes[..], bytes.len() as u64).unwrap();
    assert_eq!(rd.header().node_count, t.nodes().count() as u64);
    let mut paths = Vec::new();
    while let Some((p, _)) = rd.next_node().unwrap() {
        paths.push(p);
    }
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    assert_eq!(paths[0], "/");
    let mut ids = Vec::new();
    while let Some((id, _)) = rd.next_session().unwrap() {
        ids.push(id);
    }
    assert_eq!(ids, t.session_ids());
    assert_eq!(rd.finish().unwrap(), t.digest());
}

#[test]
fn load_falls_back_past_a_corrupt_newest_snapshot() {
    let dir = temp_dir("fallback");
    let mut t = DataTree::new();
    let txs = transactions();
    for (i, tx) in txs.iter().enumerate() {
        t.apply(i as i64 + 1, tx);
        if i == 9 {
            write_snapshot_file(&t, &meta(&t), &dir).unwrap();
        }
    }
    let older_digest = {
        let (_, old) =
            corral_datatree::snapshot::read_snapshot_file(&dir.join("snapshot.a")).unwrap();
        old.digest()
    };
    let newest = write_snapshot_file(&t, &meta(&t), &dir).unwrap();
    assert_eq!(newest.file_name().unwrap(), "snapshot.13");
    fs::write(dir.join("snapshot.ff.tmp"), b"a crash left this").unwrap();
    let listed: Vec<i64> = list_snapshots(&dir)
        .unwrap()
        .iter()
        .map(|f| f.zxid)
        .collect();
    assert_eq!(listed, [0x13, 0xa]);

    let r = load_newest_valid(&dir).unwrap();
    assert!(r.skipped.is_empty());
    assert_eq!(r.loaded.unwrap().tree.digest(), t.digest());

    let mut bytes = fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&newest, &bytes).unwrap();
    let r = load_newest_valid(&dir).unwrap();
    let loaded = r.loaded.expect("the older snapshot loads");
    assert_eq!(loaded.path, dir.join("snapshot.a"));
    assert_eq!(loaded.meta.last_zxid, 10);
    assert_eq!(loaded.tree.digest(), older_digest);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].path, newest);

    fs::write(dir.join("snapshot.a"), b"").unwrap();
    let r = load_newest_valid(&dir).unwrap();
    assert!(r.loaded.is_none());
    assert_eq!(r.skipped.len(), 2);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_received_snapshot_is_copied_under_its_name_and_leftovers_go_at_start() {
    let dir = temp_dir("received");
    let mut t = DataTree::new();
    for (i, tx) in transactions().iter().enumerate() {
        t.apply(i as i64 + 1, tx);
    }
    let mut encoded = Vec::new();
    write_snapshot(&t, &meta(&t), &mut encoded).unwrap();
    let received = receiving_path(&dir, 7);
    fs::write(&received, &encoded).unwrap();
    let mut file = fs::File::open(&received).unwrap();
    let path = copy_snapshot_file(&mut file, t.last_zxid(), &dir).unwrap();
    assert_eq!(fs::read(&path).unwrap(), encoded);
    // Neither the transfer's file nor a crashed write's temp file is a snapshot; both go.
    fs::write(dir.join("snapshot.ff.tmp"), b"a crash left this").unwrap();
    fs::write(dir.join("other.tmp"), b"not ours").unwrap();
    let listed: Vec<PathBuf> = list_snapshots(&dir)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&path));
    let mut removed = remove_leftovers(&dir).unwrap();
    removed.sort();
    assert_eq!(removed, [dir.join("snapshot.ff.tmp"), received]);
    assert!(dir.join("other.tmp").exists());
    assert!(path.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn purge_keeps_the_newest_n_and_at_least_three() {
    let dir = temp_dir("purge");
    let mut t = DataTree::new();
    for (i, tx) in transactions().iter().enumerate() {
        t.apply(i as i64 + 1, tx);
        write_snapshot_file(&t, &meta(&t), &dir).unwrap();
    }
    let n = transactions().len() as i64;
    let removed = purge(&dir, 5).unwrap();
    assert_eq!(removed.len() as i64, n - 5);
    let left: Vec<i64> = list_snapshots(&dir)
        .unwrap()
        .iter()
        .map(|f| f.zxid)
        .collect();
    assert_eq!(left, (n - 4..=n).rev().collect::<Vec<_>>());
    purge(&dir, 1).unwrap(); // raised to the minimum of 3
    assert_eq!(list_snapshots(&dir).unwrap().len(), 3);
    assert!(purge(&dir, 3).unwrap().is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quota_paths_come_back_with_a_restored_tree() {
    let mut t = build();
    for (path, data) in [
        ("/zookeeper/quota/app", &b""[..]),
        ("/zookeeper/quota/app/zookeeper_limits", b"count=3,bytes=-1"),
        ("/zookeeper/quota/app/zookeeper_stats", b"count=0,bytes=0"),
    ] {
        apply(
            &mut t,
            create(path, Some(data), create_flags::PERSISTENT, -1),
        );
    }
    assert_eq!(t.max_prefix_with_quota("/app/x").as_deref(), Some("/app"));
    let (_, mut back) = read(&bytes_of(&t)).unwrap();
    assert_eq!(
        back.max_prefix_with_quota("/app/x").as_deref(),
        Some("/app")
    );
    // Usage goes on being kept alike on both.
    let next = txn(
        0x300,
        create("/app/more", Some(b"12345"), create_flags::PERSISTENT, -1),
    );
    let zxid = t.last_zxid() + 1;
    assert_eq!(t.apply(zxid, &next), back.apply(zxid, &next));
    assert_eq!(t.digest(), back.digest());
    assert_eq!(
        back.node("/zookeeper/quota/app/zookeeper_stats")
            .unwrap()
            .data(),
        t.node("/zookeeper/quota/app/zookeeper_stats")
            .unwrap()
            .data()
    );
    back.check_invariants();
}

#[test]
fn a_parent_of_many_children_is_shared_with_a_snapshot_until_changed() {
    let mut t = build();
    apply(&mut t, create("/big", None, create_flags::PERSISTENT, -1));
    // Past children::LARGE, so the parent's set turns persistent midway.
    let seq = create_flags::PERSISTENT_SEQUENTIAL;
    for _ in 0..1500 {
        apply(&mut t, create("/big/n-", Some(b"x"), seq, -1));
    }
    let frozen = t.clone();
    apply(&mut t, create("/big/n-", Some(b"x"), seq, -1));
    apply(
        &mut t,
        TxnOp::Delete {
            path: "/big/n-0000000000".into(),
            version: -1,
        },
    );
    t.check_invariants();
    frozen.check_invariants();
    let names = |t: &DataTree| -> Vec<String> { t.get_children("/big", &[]).unwrap().0 };
    assert_eq!(names(&frozen).len(), 1500);
    assert_eq!(names(&frozen)[0], "n-0000000000");
    assert_eq!(names(&t).len(), 1500);
    assert_eq!(names(&t).last().unwrap(), "n-0000001500");
    let (_, back) = read(&bytes_of(&t)).unwrap();
    back.check_invariants();
    assert_eq!(names(&back), names(&t));
    assert_eq!(back.digest(), t.digest());
}
