//! Per-session ordering: watch events precede later replies; slow readers are cut off alone.

mod common;

use common::{framed, start, Client};
use corral_jute::records::proto::event_type;
use corral_jute::{
    Acl, CreateRequest, Decode, Encode, OpCode, PathWatchRequest, Reader, RequestHeader,
    SetDataRequest, WatcherEvent,
};

async fn create(c: &mut Client, xid: i32, path: &str, data: Vec<u8>) {
    let req = CreateRequest {
        path: path.into(),
        data: Some(data),
        acl: Acl::open(),
        flags: 0,
    };
    c.send(xid, OpCode::Create.as_i32(), &req).await;
    let (h, _) = c.reply().await;
    assert_eq!((h.xid, h.err), (xid, 0));
}

#[tokio::test]
async fn watch_event_arrives_before_the_reply_to_a_later_request() {
    let addr = start(|_| {}).await;
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    create(&mut a, 1, "/w", b"v0".to_vec()).await;
    a.send(
        2,
        OpCode::GetData.as_i32(),
        &PathWatchRequest {
            path: "/w".into(),
            watch: true,
        },
    )
    .await;
    assert_eq!(a.reply().await.0.xid, 2);

    b.send(
        1,
        OpCode::SetData.as_i32(),
        &SetDataRequest {
            path: "/w".into(),
            data: Some(b"v1".to_vec()),
            version: -1,
        },
    )
    .await;
    assert_eq!(b.reply().await.0.err, 0);

    a.send(-2, OpCode::Ping.as_i32(), &()).await;
    let (h, body) = a.reply().await;
    assert_eq!(h.xid, -1, "the notification comes first");
    let ev = WatcherEvent::decode(&mut Reader::new(&body)).unwrap();
    assert_eq!(
        (ev.kind, ev.path.as_str()),
        (event_type::NODE_DATA_CHANGED, "/w")
    );
    assert_eq!(a.reply().await.0.xid, -2, "then the ping reply");
}

#[tokio::test]
async fn reads_wait_behind_the_sessions_own_writes() {
    let addr = start(|_| {}).await;
    let mut c = Client::connect(addr).await;
    // Pipeline create then getData without waiting: the read must see the write.
    let mut bytes = Vec::new();
    let mut b = RequestHeader {
        xid: 1,
        op: OpCode::Create.as_i32(),
    }
    .to_bytes();
    CreateRequest {
        path: "/r".into(),
        data: Some(b"x".to_vec()),
        acl: Acl::open(),
        flags: 0,
    }
    .encode(&mut b);
    bytes.extend_from_slice(&framed(&b));
    let mut b = RequestHeader {
        xid: 2,
        op: OpCode::GetData.as_i32(),
    }
    .to_bytes();
    PathWatchRequest {
        path: "/r".into(),
        watch: false,
    }
    .encode(&mut b);
    bytes.extend_from_slice(&framed(&b));
    c.send_raw(&bytes).await.unwrap();
    assert_eq!(c.reply().await.0.xid, 1);
    let (h, _) = c.reply().await;
    assert_eq!(
        (h.xid, h.err),
        (2, 0),
        "the read found the node its session just created"
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_others_are_served() {
    let addr = start(|_| {}).await;
    let mut slow = Client::connect(addr).await;
    let mut ok = Client::connect(addr).await;
    create(&mut ok, 1, "/big", vec![1u8; 1_000_000]).await;
    // 200 replies of 1 MB each, none of them read: more than the outbox may hold.
    let mut bytes = Vec::new();
    for xid in 1..=200 {
        let mut b = RequestHeader {
            xid,
            op: OpCode::GetData.as_i32(),
        }
        .to_bytes();
        PathWatchRequest {
            path: "/big".into(),
            watch: false,
        }
        .encode(&mut b);
        bytes.extend_from_slice(&framed(&b));
    }
    slow.send_raw(&bytes).await.unwrap();
    ok.send(
        2,
        OpCode::Exists.as_i32(),
        &PathWatchRequest {
            path: "/big".into(),
            watch: false,
        },
    )
    .await;
    assert_eq!(ok.reply().await.0.err, 0);
    assert!(slow.closed_by_server().await, "the slow reader was cut off");
    ok.send(
        3,
        OpCode::Exists.as_i32(),
        &PathWatchRequest {
            path: "/".into(),
            watch: false,
        },
    )
    .await;
    assert_eq!(ok.reply().await.0.err, 0);
}

#[tokio::test]
async fn a_request_after_close_session_is_not_answered_ahead_of_earlier_ones() {
    let addr = start(|_| {}).await;
    let mut c = Client::connect(addr).await;
    // Pipelined: a write, the close, then a read that arrives while both are uncommitted.
    let req = CreateRequest {
        path: "/before-close".into(),
        data: Some(b"v".to_vec()),
        acl: Acl::open(),
        flags: 0,
    };
    c.send(1, OpCode::Create.as_i32(), &req).await;
    c.send(2, OpCode::CloseSession.as_i32(), &()).await;
    let get = PathWatchRequest {
        path: "/before-close".into(),
        watch: false,
    };
    c.send(3, OpCode::GetData.as_i32(), &get).await;
    let mut xids = Vec::new();
    while let Some(frame) = c.read_frame().await {
        xids.push(common::split_reply(frame).0.xid);
        assert!(xids.len() <= 3, "more replies than requests: {xids:?}");
    }
    assert!(
        xids.starts_with(&[1, 2]) && xids.windows(2).all(|w| w[0] < w[1]),
        "replies in request order: {xids:?}"
    );
}
