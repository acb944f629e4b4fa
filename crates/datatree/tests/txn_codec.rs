//! The logged form of a Txn: round trips, pinned bytes, and refusal of damaged records.

use corral_datatree::{Txn, TxnOp};
use corral_jute::{Acl, Id};

fn every_op() -> Vec<TxnOp> {
    let create = TxnOp::Create {
        path: "/a/b".into(),
        data: None,
        acl: Acl::open(),
        flags: 3,
        ttl_ms: -1,
    };
    vec![
        TxnOp::CreateSession {
            timeout_ms: 30_000,
            passwd: vec![7; 16],
        },
        TxnOp::CloseSession,
        create.clone(),
        TxnOp::Create {
            path: "/t".into(),
            data: Some(vec![]),
            acl: vec![Acl {
                perms: 1,
                id: Id::new("digest", "u:x"),
            }],
            flags: 5,
            ttl_ms: 1000,
        },
        TxnOp::Delete {
            path: "/a".into(),
            version: -1,
        },
        TxnOp::SetData {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            version: 4,
        },
        TxnOp::SetAcl {
            path: "/a".into(),
            acl: Acl::read_only(),
            version: 0,
        },
        TxnOp::Check {
            path: "/a".into(),
            version: 2,
        },
        TxnOp::Multi(vec![
            create,
            TxnOp::Check {
                path: "/".into(),
                version: 0,
            },
        ]),
        TxnOp::Multi(vec![]),
        TxnOp::DeleteContainer { path: "/c".into() },
    ]
}

fn txn(op: TxnOp) -> Txn {
    Txn {
        session_id: 0x0100_0000_0000_0001,
        time_ms: 1_700_000_000_000,
        auth: vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "u:abc=")],
        op,
    }
}

#[test]
fn every_op_round_trips() {
    for op in every_op() {
        let t = txn(op);
        assert_eq!(Txn::from_log_bytes(&t.to_log_bytes()).unwrap(), t);
    }
}

#[test]
fn format_version_1_bytes_are_pinned() {
    let t = Txn {
        session_id: 2,
        time_ms: 3,
        auth: vec![Id::new("ip", "1")],
        op: TxnOp::SetData {
            path: "/a".into(),
            data: None,
            version: -1,
        },
    };
    let hex: String = t
        .to_log_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        concat!(
            "01",               // format version
            "0000000000000002", // session id
            "0000000000000003", // time
            "00000001",
            "000000026970",
            "0000000131", // auth: one id, ip:1
            "05",
            "000000022f61",
            "ffffffff",
            "ffffffff", // setData /a, null data, version -1
        )
    );
}

#[test]
fn every_truncation_is_refused() {
    for op in every_op() {
        let bytes = txn(op).to_log_bytes();
        for len in 0..bytes.len() {
            assert!(
                Txn::from_log_bytes(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
    }
}

#[test]
fn unknown_version_tag_trailing_bytes_and_nested_multi_are_refused() {
    let mut b = txn(TxnOp::CloseSession).to_log_bytes();
    b[0] = 2;
    assert!(Txn::from_log_bytes(&b).is_err());
    let mut b = txn(TxnOp::CloseSession).to_log_bytes();
    *b.last_mut().unwrap() = 99;
    assert!(Txn::from_log_bytes(&b).is_err());
    let mut b = txn(TxnOp::CloseSession).to_log_bytes();
    b.push(0);
    assert!(Txn::from_log_bytes(&b).is_err());
    let nested = txn(TxnOp::Multi(vec![TxnOp::Multi(vec![])])).to_log_bytes();
    assert!(Txn::from_log_bytes(&nested).is_err());
}

#[test]
fn absurd_counts_do_not_allocate() {
    let mut b = vec![1];
    b.extend_from_slice(&[0; 16]);
    b.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(Txn::from_log_bytes(&b).is_err());
}
