//! `corral admin dump-snapshot`: the exact text for a small snapshot, and a named error for a
//! damaged one.

use std::path::PathBuf;
use std::process::Command;

use corral_datatree::snapshot::{write_snapshot_file, SnapshotMeta};
use corral_datatree::{DataTree, Txn, TxnOp};
use corral_jute::{create_flags, Acl};

fn small_snapshot(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-admin-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let txn = |session_id, op| Txn {
        session_id,
        time_ms: 1_700_000_000_000,
        auth: vec![],
        op,
    };
    let create = |path: &str, data: Option<&[u8]>, flags| TxnOp::Create {
        path: path.into(),
        data: data.map(<[u8]>::to_vec),
        acl: Acl::read_only(),
        flags,
        ttl_ms: -1,
    };
    let mut t = DataTree::new();
    let s = 0x1000_0000_0000_0001;
    t.apply(
        1,
        &txn(
            s,
            TxnOp::CreateSession {
                timeout_ms: 30_000,
                passwd: vec![0; 16],
            },
        ),
    );
    t.apply(
        2,
        &txn(s, create("/a", Some(b"hi\n\x00"), create_flags::PERSISTENT)),
    );
    t.apply(3, &txn(s, create("/e", None, create_flags::EPHEMERAL)));
    let meta = SnapshotMeta {
        last_zxid: 3,
        raft_meta: vec![1, 2, 3],
    };
    write_snapshot_file(&t, &meta, &dir).unwrap()
}

fn dump(file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["admin", "dump-snapshot"])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn dump_prints_meta_nodes_and_sessions() {
    let file = small_snapshot("ok");
    let out = dump(&file);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = include_str!("admin_dump_expected.txt");
    assert_eq!(text, expected, "actual:\n{text}");
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn dump_names_the_damage() {
    let file = small_snapshot("bad");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let out = dump(&file);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checksum mismatch at byte"), "{err}");
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn admin_without_a_command_prints_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("admin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dump-snapshot FILE"));
}

/// `import-zookeeper` on a directory whose only ZooKeeper snapshot is cut short: exit status 1
/// and a message naming the file and the byte offset; nothing is written.
#[test]
fn import_zookeeper_names_a_damaged_snapshot() {
    let dir = std::env::temp_dir().join(format!("corral-admin-{}-import", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let zk = dir.join("zk/version-2");
    std::fs::create_dir_all(&zk).unwrap();
    // FileHeader ("ZKSN", version 2, dbid), then a session count promising more than follows.
    let mut snap = b"ZKSN".to_vec();
    snap.extend_from_slice(&2i32.to_be_bytes());
    snap.extend_from_slice(&0i64.to_be_bytes());
    snap.extend_from_slice(&1i32.to_be_bytes());
    snap.extend_from_slice(&[0, 0, 0]);
    std::fs::write(zk.join("snapshot.0"), &snap).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["admin", "import-zookeeper"])
        .arg(dir.join("zk"))
        .arg("--to")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("version-2/snapshot.0: at byte 16: truncated: session count"),
        "{stderr}"
    );
    assert!(!dir.join("out/snapshots").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
