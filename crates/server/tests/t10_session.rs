//! Handshake, session resumption and expiry over raw bytes.

mod common;

use common::{start, Client, WAIT};
use corral_jute::{ErrorCode, OpCode};

#[tokio::test]
async fn handshake_negotiates_timeout_into_bounds() {
    let addr = start(|c| c.tick_time_ms = 1000).await;
    let c = Client::resume(addr, 0, vec![0; 16], 100).await.unwrap();
    assert_eq!(c.timeout_ms, 2000, "raised to 2 ticks");
    let c2 = Client::resume(addr, 0, vec![0; 16], 10_000_000)
        .await
        .unwrap();
    assert_eq!(c2.timeout_ms, 20_000, "lowered to 20 ticks");
    assert_eq!(c.passwd.len(), 16);
    assert_ne!(c.session_id, c2.session_id);
}

#[tokio::test]
async fn session_resumes_on_a_new_connection_and_old_one_is_closed() {
    let addr = start(|_| {}).await;
    let mut first = Client::connect(addr).await;
    let second = Client::resume(addr, first.session_id, first.passwd.clone(), 30_000).await;
    let second = second.expect("same id and password are accepted");
    assert_eq!(second.session_id, first.session_id);
    assert!(
        first.closed_by_server().await,
        "the moved-from connection is closed"
    );
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let addr = start(|_| {}).await;
    let c = Client::connect(addr).await;
    let mut bad = c.passwd.clone();
    bad[0] ^= 1;
    assert!(Client::resume(addr, c.session_id, bad, 30_000)
        .await
        .is_none());
}

#[tokio::test]
async fn silent_session_expires_and_cannot_resume() {
    let addr = start(|c| c.tick_time_ms = 100).await;
    let mut c = Client::connect(addr).await;
    assert_eq!(c.timeout_ms, 2000);
    // Say nothing: the server must expire the session and close the connection.
    let started = std::time::Instant::now();
    assert!(
        c.closed_by_server().await,
        "expired session's connection is closed"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(2000));
    assert!(started.elapsed() < WAIT);
    assert!(Client::resume(addr, c.session_id, c.passwd.clone(), 2000)
        .await
        .is_none());
}

#[tokio::test]
async fn close_session_is_answered_then_connection_closed() {
    let addr = start(|_| {}).await;
    let mut c = Client::connect(addr).await;
    c.send(1, OpCode::CloseSession.as_i32(), &()).await;
    let (h, _) = c.reply().await;
    assert_eq!((h.xid, h.err), (1, ErrorCode::Ok.as_i32()));
    assert!(c.closed_by_server().await);
}
