//! Bad input closes that one connection; everyone else keeps being served.

mod common;

use common::{framed, read_frame, split_reply, start, Client};
use corral_jute::{Acl, Encode};
use corral_jute::{CreateRequest, ErrorCode, OpCode, PathWatchRequest, RequestHeader};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A bystander session still gets answers after someone else misbehaved.
async fn bystander_is_served(c: &mut Client, xid: i32) {
    c.send(
        xid,
        OpCode::Exists.as_i32(),
        &PathWatchRequest {
            path: "/".into(),
            watch: false,
        },
    )
    .await;
    let (h, _) = c.reply().await;
    assert_eq!((h.xid, h.err), (xid, 0));
}

async fn closed_after(addr: std::net::SocketAddr, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    Client::raw(s).closed_by_server().await
}

#[tokio::test]
async fn garbage_before_handshake_closes_only_that_connection() {
    let addr = start(|_| {}).await;
    let mut ok = Client::connect(addr).await;
    assert!(closed_after(addr, b"\x00\x00\x00\x05hello there, not a frame").await);
    bystander_is_served(&mut ok, 1).await;
}

#[tokio::test]
async fn oversized_length_prefix_closes_without_waiting_for_the_payload() {
    let addr = start(|c| c.jute_max_buffer_bytes = 4096).await;
    let mut ok = Client::connect(addr).await;
    assert!(closed_after(addr, &0x7fff_ffffu32.to_be_bytes()).await);
    assert!(closed_after(addr, &(-5i32).to_be_bytes()).await);
    // After the handshake too.
    let mut c = Client::connect(addr).await;
    c.send_raw(&(1u32 << 20).to_be_bytes()).await.unwrap();
    assert!(c.closed_by_server().await);
    bystander_is_served(&mut ok, 2).await;
}

#[tokio::test]
async fn request_before_handshake_closes() {
    let addr = start(|_| {}).await;
    let mut ok = Client::connect(addr).await;
    let ping = framed(
        &RequestHeader {
            xid: -2,
            op: OpCode::Ping.as_i32(),
        }
        .to_bytes(),
    );
    assert!(closed_after(addr, &ping).await);
    bystander_is_served(&mut ok, 3).await;
}

#[tokio::test]
async fn unknown_opcode_and_truncated_record_close() {
    let addr = start(|_| {}).await;
    let mut ok = Client::connect(addr).await;
    let mut c = Client::connect(addr).await;
    c.send(1, 9999, &()).await;
    let (h, _) = c.reply().await;
    assert_eq!(
        (h.xid, h.err),
        (1, ErrorCode::Unimplemented.as_i32()),
        "answered as ZooKeeper"
    );
    assert!(c.closed_by_server().await);
    let mut c = Client::connect(addr).await;
    // getData whose path length claims more bytes than the frame holds.
    let mut body = RequestHeader {
        xid: 1,
        op: OpCode::GetData.as_i32(),
    }
    .to_bytes();
    body.extend_from_slice(&100i32.to_be_bytes());
    body.extend_from_slice(b"/a");
    c.send_raw(&framed(&body)).await.unwrap();
    assert!(c.closed_by_server().await);
    bystander_is_served(&mut ok, 4).await;
}

#[tokio::test]
async fn max_client_cnxns_per_ip_is_enforced() {
    let addr = start(|c| c.max_client_cnxns = 2).await;
    let mut a = Client::connect(addr).await;
    let _b = Client::connect(addr).await;
    let s = TcpStream::connect(addr).await.unwrap();
    let mut third = Client::raw(s);
    assert!(
        third.closed_by_server().await,
        "the third connection from one IP is refused"
    );
    bystander_is_served(&mut a, 5).await;
}

#[tokio::test]
async fn many_pipelined_requests_are_all_answered_in_order() {
    // More than MAX_OUTSTANDING_PER_CONNECTION in flight: the server stops reading, never drops.
    let addr = start(|_| {}).await;
    let mut c = Client::connect(addr).await;
    let n = 3000;
    let mut all = Vec::new();
    for xid in 1..=n {
        let req = CreateRequest {
            path: format!("/n{xid}"),
            data: Some(vec![7; 16]),
            acl: Acl::open(),
            flags: 0,
        };
        let mut b = RequestHeader {
            xid,
            op: OpCode::Create.as_i32(),
        }
        .to_bytes();
        req.encode(&mut b);
        all.extend_from_slice(&framed(&b));
    }
    let (mut rd, mut wr) = c.stream.split();
    let write_all = async move { wr.write_all(&all).await.unwrap() };
    let read_all = async move {
        let mut buf = Vec::new();
        for xid in 1..=n {
            let (h, _) = split_reply(read_frame(&mut rd, &mut buf).await.expect("reply"));
            assert_eq!(h.xid, xid, "replies leave in request order");
            assert_eq!(h.err, ErrorCode::Ok.as_i32());
        }
    };
    tokio::join!(write_all, read_all);
}
