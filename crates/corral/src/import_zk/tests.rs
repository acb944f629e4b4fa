//! The parsers and the replay on hand-built ZooKeeper files (the real thing is exercised by
//! tests/interop/test_import_zookeeper.py).

use std::path::Path;

use corral_datatree::snapshot::read_snapshot_file;
use corral_jute::{Acl, Id, OpCode};

use super::input::adler32;
use super::snap::read_snapshot;
use super::tree::zookeeper_password;
use super::txnlog::{read_log, TxnOp};
use super::*;

/// A jute binary archive writer (big-endian), for building test files.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn buf(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            None => self.i32(-1),
            Some(b) => {
                self.i32(b.len() as i32);
                self.0.extend_from_slice(b);
                self
            }
        }
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.buf(Some(s.as_bytes()))
    }
    fn acls(&mut self, acl: &[Acl]) -> &mut Self {
        self.i32(acl.len() as i32);
        for a in acl {
            self.i32(a.perms).str(&a.id.scheme).str(&a.id.id);
        }
        self
    }
    fn seal(&mut self) -> &mut Self {
        let crc = adler32(&self.0) as i64;
        self.i64(crc).str("/")
    }
}

fn digest_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "digest".into(),
            id: "u:hash=".into(),
        },
    }]
}

/// (path, data, acl ref, czxid, cversion, owner)
type N<'a> = (&'a str, Option<&'a [u8]>, i64, i64, i32, i64);

fn snapshot_bytes(sessions: &[(i64, i32)], nodes: &[N<'_>], digest: bool) -> Vec<u8> {
    let mut o = Out::default();
    o.i32(i32::from_be_bytes(*b"ZKSN")).i32(2).i64(0);
    o.i32(sessions.len() as i32);
    for (id, t) in sessions {
        o.i64(*id).i32(*t);
    }
    o.i32(1).i64(1).acls(&digest_acl());
    for (path, data, acl, czxid, cversion, owner) in nodes {
        o.str(path).buf(*data).i64(*acl);
        o.i64(*czxid).i64(*czxid).i64(1000).i64(1000);
        o.i32(0).i32(*cversion).i32(0).i64(*owner).i64(*czxid);
    }
    o.str("/").seal();
    if digest {
        o.i64(5).i32(2).i64(0x1234).seal();
    }
    o.0
}

fn base_nodes() -> Vec<N<'static>> {
    vec![
        ("", Some(b""), -1, 0, 2, 0),
        ("/zookeeper", Some(b""), -1, 0, 0, 0),
        ("/a", Some(b"hello"), 1, 3, 1, 0),
        ("/a/e", None, -1, 4, 0, 0x55),
    ]
}

fn txn(o: &mut Out, session: i64, zxid: i64, code: OpCode, body: &[u8]) {
    let mut t = Out::default();
    t.i64(session)
        .i32(1)
        .i64(zxid)
        .i64(2000 + zxid)
        .i32(code.as_i32());
    t.0.extend_from_slice(body);
    // 3.6+ appends a TxnDigest, which the reader ignores.
    t.i32(2).i64(77);
    o.i64(adler32(&t.0) as i64).buf(Some(&t.0)).u8(b'B');
}

fn create_body(path: &str, data: &[u8], ephemeral: bool, parent_cversion: i32) -> Vec<u8> {
    let mut b = Out::default();
    b.str(path)
        .buf(Some(data))
        .acls(&Acl::open())
        .u8(ephemeral as u8)
        .i32(parent_cversion);
    b.0
}

fn log_bytes() -> Vec<u8> {
    let mut o = Out::default();
    o.i32(i32::from_be_bytes(*b"ZKLG")).i32(2).i64(0);
    // Already in the snapshot (zxid <= 5): skipped.
    txn(
        &mut o,
        0x55,
        5,
        OpCode::Create,
        &create_body("/a/e", b"", true, 1),
    );
    // Fuzzy: /a/e exists; a `create` meeting it moves /a's cversion to 1 (no change).
    txn(
        &mut o,
        0x66,
        6,
        OpCode::CreateSession,
        &30_000i32.to_be_bytes(),
    );
    txn(
        &mut o,
        0x66,
        7,
        OpCode::Create2,
        &create_body("/b", b"x", false, 3),
    );
    let mut sd = Out::default();
    sd.str("/a").buf(Some(b"again")).i32(1);
    txn(&mut o, 0x66, 8, OpCode::SetData, &sd.0);
    // A multi: create /b/c (ephemeral of 0x66), delete /a/e.
    let mut m = Out::default();
    m.i32(2);
    m.i32(OpCode::Create.as_i32())
        .buf(Some(&create_body("/b/c", b"", true, 1)));
    let mut d = Out::default();
    d.str("/a/e");
    m.i32(OpCode::Delete.as_i32()).buf(Some(&d.0));
    txn(&mut o, 0x66, 9, OpCode::Multi, &m.0);
    // A failed multi: nothing applies.
    let mut f = Out::default();
    f.i32(2);
    f.i32(OpCode::Create.as_i32())
        .buf(Some(&create_body("/zz", b"", false, 9)));
    f.i32(OpCode::Error.as_i32())
        .buf(Some(&(-101i32).to_be_bytes()));
    txn(&mut o, 0x66, 10, OpCode::Multi, &f.0);
    let mut acl = Out::default();
    acl.str("/b").acls(&digest_acl()).i32(1);
    txn(&mut o, 0x66, 11, OpCode::SetAcl, &acl.0);
    // Session 0x55 closes: its ephemerals are gone already; the paths list is empty.
    txn(&mut o, 0x55, 12, OpCode::CloseSession, &0i32.to_be_bytes());
    o.0.extend_from_slice(&[0u8; 64]); // preallocation
    o.0
}

#[test]
fn snapshot_then_log_replay() {
    let f = Path::new("snapshot.5");
    let snap = snapshot_bytes(&[(0x55, 4000)], &base_nodes(), true);
    let mut zk = read_snapshot(f, &snap, 5).unwrap();
    assert_eq!(zk.sessions.get(&0x55), Some(&4000));
    assert_eq!(zk.nodes["/a"].acl, digest_acl());
    assert_eq!(zk.nodes["/a/e"].acl, Acl::open());
    assert_eq!(zk.nodes["/a/e"].data, None);
    let log = read_log(Path::new("log.1"), &log_bytes()).unwrap();
    assert_eq!(log.torn_at, None);
    assert_eq!(log.txns.len(), 8);
    for t in log.txns.iter().filter(|t| t.zxid > 5) {
        zk.apply(t.session, t.zxid, t.time, &t.op);
    }
    assert_eq!(zk.last_zxid, 12);
    assert_eq!(zk.sessions.keys().copied().collect::<Vec<_>>(), [0x66]);
    let b = &zk.nodes["/b"];
    assert_eq!((b.stat.czxid, b.stat.ctime, b.stat.cversion), (7, 2007, 1));
    assert_eq!((b.stat.pzxid, b.stat.aversion), (9, 1));
    assert_eq!(b.acl, digest_acl());
    assert_eq!(zk.nodes[""].stat.cversion, 3);
    let a = &zk.nodes["/a"];
    assert_eq!(
        (a.data.as_deref(), a.stat.version, a.stat.mzxid),
        (Some(&b"again"[..]), 1, 8)
    );
    assert_eq!((a.stat.pzxid, a.stat.cversion), (9, 1));
    assert!(a.children.is_empty());
    assert_eq!({ zk.nodes["/b/c"].stat.ephemeral_owner }, 0x66);
    assert!(!zk.nodes.contains_key("/zz"));

    let tree = zk.to_datatree().unwrap();
    tree.check_invariants();
    assert_eq!(tree.last_zxid(), 12);
    let st = tree.exists("/b").unwrap();
    assert_eq!((st.num_children, st.cversion), (1, 1));
    assert_eq!(
        tree.session(0x66).unwrap().passwd,
        zookeeper_password(0x66).to_vec()
    );
}

#[test]
fn import_writes_a_corral_snapshot_that_reads_back() {
    let dir = std::env::temp_dir().join(format!("corral-import-{}", std::process::id()));
    let zk = dir.join("zk/version-2");
    std::fs::create_dir_all(&zk).unwrap();
    let snap = snapshot_bytes(&[(0x55, 4000)], &base_nodes(), false);
    std::fs::write(zk.join("snapshot.5"), snap).unwrap();
    std::fs::write(zk.join("log.1"), log_bytes()).unwrap();
    // A newer, damaged snapshot is skipped.
    std::fs::write(zk.join("snapshot.9"), b"ZKSN\0\0").unwrap();
    let out = dir.join("out");
    let s = import(&dir.join("zk"), &dir.join("zk"), &out).unwrap();
    assert_eq!((s.snapshot_zxid, s.last_zxid, s.txns_applied), (5, 12, 7));
    assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
    assert!(s.notes[0].contains("snapshot.9"), "{:?}", s.notes);
    let (meta, tree) = read_snapshot_file(&s.written).unwrap();
    assert!(meta.raft_meta.is_empty());
    assert_eq!(meta.last_zxid, 12);
    assert_eq!(tree.node("/a").unwrap().data(), Some(&b"again"[..]));
    // A second import into the same place is refused.
    assert!(import(&dir.join("zk"), &dir.join("zk"), &out).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncated_snapshot_is_an_error_naming_file_and_offset() {
    let f = Path::new("/zk/snapshot.5");
    let snap = snapshot_bytes(&[(0x55, 4000)], &base_nodes(), false);
    for len in 0..snap.len() {
        let e = read_snapshot(f, &snap[..len], 5).expect_err("truncated");
        assert!(e.offset <= len as u64, "{e}");
        assert!(e.to_string().starts_with("/zk/snapshot.5: at byte "), "{e}");
    }
}

#[test]
fn flipped_bytes_never_panic_and_the_seal_catches_them() {
    let f = Path::new("s");
    let snap = snapshot_bytes(&[(0x55, 4000)], &base_nodes(), true);
    for i in 0..snap.len() {
        let mut b = snap.clone();
        b[i] ^= 0x40;
        // Every byte is sealed, so a change is an error somewhere.
        assert!(read_snapshot(f, &b, 5).is_err(), "flip at {i} accepted");
    }
    let log = log_bytes();
    for i in 0..log.len() {
        let mut b = log.clone();
        b[i] ^= 0x40;
        let _ = read_log(f, &b);
    }
}

#[test]
fn log_tails_and_checksums() {
    let f = Path::new("log.1");
    let log = log_bytes();
    // Every prefix reads without panicking; a cut inside a record ends the log there.
    for len in 0..log.len() {
        match read_log(f, &log[..len]) {
            Ok(l) => assert!(l.txns.len() <= 8),
            Err(e) => assert!(len < 16, "prefix {len}: {e}"),
        }
    }
    let cut = read_log(f, &log[..40]).unwrap();
    assert_eq!((cut.txns.len(), cut.torn_at), (0, Some(16)));
    // A damaged record body: the checksum names the record's offset.
    let mut bad = log.clone();
    bad[16 + 12 + 3] ^= 1;
    let e = read_log(f, &bad).unwrap_err();
    assert_eq!(e.offset, 16);
    assert!(e.what.contains("checksum"), "{e}");
    assert!(e.to_string().starts_with("log.1: at byte 16"), "{e}");
}

#[test]
fn decoded_ops() {
    let log = read_log(Path::new("l"), &log_bytes()).unwrap();
    assert!(matches!(
        &log.txns[1].op.txn,
        TxnOp::CreateSession { timeout_ms: 30_000 }
    ));
    let TxnOp::Multi(ops) = &log.txns[4].op.txn else {
        panic!("not a multi: {:?}", log.txns[4]);
    };
    assert_eq!(ops.len(), 2);
    assert!(matches!(&ops[1].txn, TxnOp::Delete { path } if path == "/a/e"));
    assert!(matches!(
        &log.txns[7].op.txn,
        TxnOp::CloseSession { paths: Some(p) } if p.is_empty()
    ));
}
