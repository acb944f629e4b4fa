//! Golden bytes: every record corral encodes or decodes, against the bytes Apache ZooKeeper
//! 3.8's own `BinaryOutputArchive` writes for the same values (`testdata/golden.txt`, made by
//! `tests/golden/GoldenRecords.java`; its header says how to regenerate).
//!
//! For each record: corral's encoding equals ZooKeeper's bytes, and decoding ZooKeeper's
//! bytes gives the value back and consumes all of them. The values here mirror the Java
//! program's one for one; every line of the golden file must be checked by some case.

use std::collections::BTreeMap;
use std::fmt::Debug;

use corral_jute::request::{MultiRequest, MultiResponse};
use corral_jute::*;

/// The golden file's records by name, and the failures found so far, so that one run reports
/// every mismatching record rather than the first.
struct Golden {
    records: BTreeMap<String, Vec<u8>>,
    checked: Vec<String>,
    failures: Vec<String>,
}

impl Golden {
    fn load() -> Golden {
        let text = include_str!("../testdata/golden.txt");
        let mut records = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (name, hex) = line.split_once(' ').expect("`name hex` line");
            assert!(
                records.insert(name.to_string(), unhex(hex)).is_none(),
                "duplicate golden record {name}"
            );
        }
        Golden {
            records,
            checked: vec![],
            failures: vec![],
        }
    }

    fn bytes(&mut self, name: &str) -> Vec<u8> {
        self.checked.push(name.to_string());
        self.records
            .get(name)
            .unwrap_or_else(|| panic!("no golden record named {name}"))
            .clone()
    }

    /// Encoding `value` gives the golden bytes, and decoding them gives `value`.
    fn check<T: Encode + Decode + PartialEq + Debug>(&mut self, name: &str, value: T) {
        let golden = self.bytes(name);
        let encoded = value.to_bytes();
        if encoded != golden {
            self.failures.push(format!(
                "{name}: corral encodes\n  {}\nZooKeeper wrote\n  {}",
                hex(&encoded),
                hex(&golden)
            ));
        }
        self.check_decode(name, &golden, value);
    }

    /// Decoding `golden` gives `value` and consumes every byte.
    fn check_decode<T: Decode + PartialEq + Debug>(&mut self, name: &str, golden: &[u8], value: T) {
        let mut r = Reader::new(golden);
        match T::decode(&mut r) {
            Ok(decoded) if decoded != value => self.failures.push(format!(
                "{name}: decodes to\n  {decoded:?}\nexpected\n  {value:?}"
            )),
            Ok(_) if r.remaining() != 0 => self.failures.push(format!(
                "{name}: decoding left {} of {} bytes",
                r.remaining(),
                golden.len()
            )),
            Ok(_) => {}
            Err(e) => self.failures.push(format!("{name}: does not decode: {e}")),
        }
    }

    fn finish(self) {
        let unchecked: Vec<_> = self
            .records
            .keys()
            .filter(|k| !self.checked.contains(k))
            .collect();
        assert!(
            unchecked.is_empty(),
            "golden records never checked: {unchecked:?}"
        );
        assert!(
            self.failures.is_empty(),
            "{} mismatches with ZooKeeper 3.8's bytes:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// The Java program's shared values.

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0001,
        mzxid: 0x1_0000_0002,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_123,
        version: 3,
        cversion: 4,
        aversion: 5,
        ephemeral_owner: 0x1234_5678_90ab_cdef,
        data_length: 11,
        num_children: 2,
        pzxid: 0x1_0000_0007,
    }
}

fn acls() -> Vec<Acl> {
    vec![
        Acl {
            perms: perms::ALL,
            id: Id::anyone(),
        },
        Acl {
            perms: perms::READ | perms::ADMIN,
            id: Id::new("digest", "user:tdGgtemRjUxQ9sV1D4ozSeMDMzE="),
        },
    ]
}

fn paths() -> Vec<String> {
    strings(&["/a", "/b/c", "/café"])
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn path(p: &str) -> PathRequest {
    PathRequest {
        path: p.to_string(),
    }
}

fn path_watch(p: &str, watch: bool) -> PathWatchRequest {
    PathWatchRequest {
        path: p.to_string(),
        watch,
    }
}

fn create(path: &str, data: Option<&[u8]>, acl: Vec<Acl>, flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.to_string(),
        data: data.map(<[u8]>::to_vec),
        acl,
        flags,
    }
}

#[test]
fn every_record_matches_zookeeper() {
    let mut g = Golden::load();

    // Session setup.
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0x2_0000_0005,
        time_out: 30000,
        session_id: 0x7fed_cba9_8765_4321,
        passwd: (1..=16).collect(),
        read_only: true,
    };
    g.check("connect_request", connect.clone());
    let old_client = g.bytes("connect_request_without_read_only");
    let old_connect = ConnectRequest {
        read_only: false,
        ..connect
    };
    g.check_decode(
        "connect_request_without_read_only",
        &old_client,
        old_connect,
    );
    g.check(
        "connect_response",
        ConnectResponse {
            protocol_version: 0,
            time_out: 30000,
            session_id: 0x7fed_cba9_8765_4321,
            passwd: (1..=16).rev().collect(),
            read_only: false,
        },
    );

    // Headers.
    g.check(
        "request_header",
        RequestHeader {
            xid: 7,
            op: OpCode::GetData.as_i32(),
        },
    );
    g.check(
        "reply_header",
        ReplyHeader {
            xid: 7,
            zxid: 0x1_0000_0009,
            err: ErrorCode::NoNode.as_i32(),
        },
    );
    g.check(
        "multi_header",
        MultiHeader {
            op: OpCode::SetData.as_i32(),
            done: false,
            err: -1,
        },
    );
    g.check(
        "auth_packet",
        AuthPacket {
            kind: 0,
            scheme: "digest".into(),
            auth: b"user:secret".to_vec(),
        },
    );
    g.check("get_sasl_request_empty", GetSaslRequest { token: vec![] });
    g.check(
        "set_sasl_response",
        SetSaslResponse {
            token: Some(b"rspauth=0123".to_vec()),
        },
    );
    g.check("set_sasl_response_null", SetSaslResponse { token: None });

    // Watches re-registered after a reconnect.
    g.check(
        "set_watches",
        SetWatches {
            relative_zxid: 0x1_0000_0003,
            data_watches: strings(&["/d1", "/d2"]),
            exist_watches: strings(&["/e1"]),
            child_watches: strings(&["/c1", "/c2", "/c3"]),
        },
    );
    g.check(
        "set_watches2",
        SetWatches2 {
            relative_zxid: 0x1_0000_0003,
            data_watches: strings(&["/d1"]),
            exist_watches: strings(&["/e1"]),
            child_watches: strings(&["/c1"]),
            persistent_watches: strings(&["/p1", "/p2"]),
            persistent_recursive_watches: strings(&["/r1"]),
        },
    );

    // Create.
    g.check(
        "create_request_null_data",
        create(
            "/app/lock-",
            None,
            acls(),
            create_flags::EPHEMERAL_SEQUENTIAL,
        ),
    );
    g.check(
        "create_request",
        create(
            "/app/café",
            Some(b"hello world"),
            acls(),
            create_flags::PERSISTENT,
        ),
    );
    g.check(
        "create_request_empty_data",
        create("/empty", Some(b""), Acl::open(), create_flags::CONTAINER),
    );
    g.check(
        "create_ttl_request",
        CreateTtlRequest {
            path: "/ttl".into(),
            data: Some(b"t".to_vec()),
            acl: Acl::open(),
            flags: create_flags::PERSISTENT_WITH_TTL,
            ttl: 60000,
        },
    );
    g.check(
        "create_response",
        CreateResponse {
            path: "/app/lock-0000000007".into(),
        },
    );
    g.check(
        "create2_response",
        Create2Response {
            path: "/app/lock-0000000007".into(),
            stat: stat(),
        },
    );

    // Delete, data, existence.
    g.check(
        "delete_request",
        DeleteRequest {
            path: "/app".into(),
            version: -1,
        },
    );
    g.check("exists_request", path_watch("/app", true));
    g.check("exists_response", StatResponse { stat: stat() });
    g.check("get_data_request", path_watch("/app", true));
    g.check(
        "get_data_response",
        GetDataResponse {
            data: Some(b"hello world".to_vec()),
            stat: stat(),
        },
    );
    g.check(
        "get_data_response_null_data",
        GetDataResponse {
            data: None,
            stat: stat(),
        },
    );
    g.check(
        "set_data_request",
        SetDataRequest {
            path: "/app".into(),
            data: Some(b"v2".to_vec()),
            version: 3,
        },
    );
    g.check("set_data_response", StatResponse { stat: stat() });

    // Children.
    g.check("get_children_request", path_watch("/", false));
    g.check("get_children2_request", path_watch("/", true));
    g.check(
        "get_children_response",
        GetChildrenResponse { children: paths() },
    );
    g.check(
        "get_children2_response",
        GetChildren2Response {
            children: paths(),
            stat: stat(),
        },
    );
    g.check("get_all_children_number_request", path("/app"));
    g.check(
        "get_all_children_number_response",
        GetAllChildrenNumberResponse { total_number: 42 },
    );
    g.check("get_ephemerals_request", path("/app"));
    g.check(
        "get_ephemerals_response",
        GetChildrenResponse { children: paths() },
    );

    // Check, sync, ACLs.
    g.check(
        "check_version_request",
        CheckVersionRequest {
            path: "/app".into(),
            version: 3,
        },
    );
    g.check("sync_request", path("/app"));
    g.check(
        "sync_response",
        SyncResponse {
            path: "/app".into(),
        },
    );
    g.check("get_acl_request", path("/app"));
    g.check(
        "get_acl_response",
        GetAclResponse {
            acl: acls(),
            stat: stat(),
        },
    );
    g.check(
        "set_acl_request",
        SetAclRequest {
            path: "/app".into(),
            acl: acls(),
            version: 5,
        },
    );
    g.check("set_acl_response", StatResponse { stat: stat() });

    // Watches.
    g.check(
        "add_watch_request",
        AddWatchRequest {
            path: "/app".into(),
            mode: add_watch_mode::PERSISTENT_RECURSIVE,
        },
    );
    g.check(
        "check_watches_request",
        CheckWatchesRequest {
            path: "/app".into(),
            kind: watcher_type::DATA,
        },
    );
    g.check(
        "remove_watches_request",
        CheckWatchesRequest {
            path: "/app".into(),
            kind: watcher_type::ANY,
        },
    );
    g.check(
        "watcher_event",
        WatcherEvent {
            kind: event_type::NODE_CHILDREN_CHANGED,
            state: keeper_state::SYNC_CONNECTED,
            path: "/app".into(),
        },
    );
    g.check(
        "watcher_event_session_expired",
        WatcherEvent {
            kind: event_type::NONE,
            state: keeper_state::EXPIRED,
            path: String::new(),
        },
    );

    // Errors, reconfig, whoami.
    g.check(
        "error_response",
        ErrorResponse {
            err: ErrorCode::NodeExists.as_i32(),
        },
    );
    g.check(
        "reconfig_request",
        ReconfigRequest {
            joining_servers: "server.4=127.0.0.1:2890:3890;2184".into(),
            leaving_servers: "3".into(),
            new_members: String::new(),
            cur_config_id: -1,
        },
    );
    g.check(
        "who_am_i_response",
        WhoAmIResponse {
            client_info: vec![
                ClientInfo {
                    auth_scheme: "ip".into(),
                    user: "127.0.0.1".into(),
                },
                ClientInfo {
                    auth_scheme: "digest".into(),
                    user: "user".into(),
                },
            ],
        },
    );

    // multi.
    g.check(
        "multi_request",
        MultiRequest(vec![
            MultiOp::Create {
                op: OpCode::Create,
                req: create("/m/a", Some(b"a"), Acl::open(), create_flags::PERSISTENT),
            },
            MultiOp::Create {
                op: OpCode::Create2,
                req: create("/m/b", None, Acl::open(), create_flags::EPHEMERAL),
            },
            MultiOp::CreateTtl(CreateTtlRequest {
                path: "/m/ttl".into(),
                data: Some(b"t".to_vec()),
                acl: Acl::open(),
                flags: create_flags::PERSISTENT_SEQUENTIAL_WITH_TTL,
                ttl: 5000,
            }),
            MultiOp::Create {
                op: OpCode::CreateContainer,
                req: create(
                    "/m/container",
                    Some(b""),
                    Acl::open(),
                    create_flags::CONTAINER,
                ),
            },
            MultiOp::Delete(DeleteRequest {
                path: "/m/old".into(),
                version: 2,
            }),
            MultiOp::SetData(SetDataRequest {
                path: "/m/a".into(),
                data: Some(b"a2".to_vec()),
                version: -1,
            }),
            MultiOp::Check(CheckVersionRequest {
                path: "/m".into(),
                version: 7,
            }),
        ]),
    );
    g.check(
        "multi_read_request",
        MultiRequest(vec![
            MultiOp::GetChildren(path_watch("/m", false)),
            MultiOp::GetData(path_watch("/m/a", false)),
        ]),
    );
    g.check("multi_request_empty", MultiRequest(vec![]));
    g.check(
        "multi_response",
        MultiResponse(vec![
            MultiResult::Create {
                path: "/m/a".into(),
            },
            MultiResult::Create2 {
                path: "/m/b".into(),
                stat: stat(),
            },
            MultiResult::Delete,
            MultiResult::SetData { stat: stat() },
            MultiResult::Check,
        ]),
    );
    g.check(
        "multi_response_failed",
        MultiResponse(vec![
            MultiResult::Error { err: 0 },
            MultiResult::Error {
                err: ErrorCode::NoNode.as_i32(),
            },
            MultiResult::Error {
                err: ErrorCode::RuntimeInconsistency.as_i32(),
            },
        ]),
    );
    g.check(
        "multi_read_response",
        MultiResponse(vec![
            MultiResult::GetChildren { children: paths() },
            MultiResult::GetData {
                data: Some(b"hello world".to_vec()),
                stat: stat(),
            },
            MultiResult::GetData {
                data: None,
                stat: stat(),
            },
            MultiResult::Error {
                err: ErrorCode::NoNode.as_i32(),
            },
        ]),
    );

    // A whole request frame, taken apart as the server does.
    let frame_bytes = g.bytes("set_data_request_frame");
    let set_data = SetDataRequest {
        path: "/app".into(),
        data: Some(b"v3".to_vec()),
        version: 4,
    };
    let header = RequestHeader {
        xid: 9,
        op: OpCode::SetData.as_i32(),
    };
    let mut built = vec![];
    let at = frame::begin(&mut built);
    header.encode(&mut built);
    set_data.encode(&mut built);
    frame::finish(&mut built, at);
    assert_eq!(hex(&built), hex(&frame_bytes), "set_data_request_frame");
    let len = frame::check(&frame_bytes, frame::DEFAULT_MAX_BUFFER_BYTES)
        .expect("valid frame")
        .expect("whole frame");
    assert_eq!(len + frame::LENGTH_PREFIX_BYTES, frame_bytes.len());
    let mut r = Reader::new(&frame_bytes[frame::LENGTH_PREFIX_BYTES..]);
    assert_eq!(RequestHeader::decode(&mut r), Ok(header.clone()));
    assert_eq!(
        Request::decode(header.op, &mut r),
        Ok(Some(Request::SetData(set_data)))
    );
    assert_eq!(r.remaining(), 0);

    g.finish();
}

/// Each golden request body, dispatched by the op code a client puts in its header, decodes
/// to a request and uses every byte.
#[test]
fn request_bodies_decode_by_op_code() {
    let g = Golden::load();
    let cases = [
        ("create_request", OpCode::Create),
        ("create_request_null_data", OpCode::Create2),
        ("create_request_empty_data", OpCode::CreateContainer),
        ("create_ttl_request", OpCode::CreateTtl),
        ("delete_request", OpCode::Delete),
        ("exists_request", OpCode::Exists),
        ("get_data_request", OpCode::GetData),
        ("set_data_request", OpCode::SetData),
        ("get_acl_request", OpCode::GetAcl),
        ("set_acl_request", OpCode::SetAcl),
        ("get_children_request", OpCode::GetChildren),
        ("get_children2_request", OpCode::GetChildren2),
        (
            "get_all_children_number_request",
            OpCode::GetAllChildrenNumber,
        ),
        ("get_ephemerals_request", OpCode::GetEphemerals),
        ("check_version_request", OpCode::Check),
        ("multi_request", OpCode::Multi),
        ("multi_read_request", OpCode::MultiRead),
        ("sync_request", OpCode::Sync),
        ("auth_packet", OpCode::Auth),
        ("get_sasl_request_empty", OpCode::Sasl),
        ("set_watches", OpCode::SetWatches),
        ("set_watches2", OpCode::SetWatches2),
        ("add_watch_request", OpCode::AddWatch),
        ("check_watches_request", OpCode::CheckWatches),
        ("remove_watches_request", OpCode::RemoveWatches),
        ("reconfig_request", OpCode::Reconfig),
    ];
    for (name, op) in cases {
        let body = &g.records[name];
        let mut r = Reader::new(body);
        match Request::decode(op.as_i32(), &mut r) {
            Ok(Some(_)) => assert_eq!(r.remaining(), 0, "{name} as {op:?} left bytes"),
            other => panic!("{name} as {op:?}: {other:?}"),
        }
    }
}
