//! A session the server expired while the client was away is reported as Expired; its
//! watches end and its calls fail with SessionExpired.
mod common;

use std::time::Duration;

use common::{wait_state, within, Proxy, TestServer, TICK_MS, WAIT};
use corral_client::{Acl, Client, CreateMode, Error, EventType, SessionState};

both!(expiry_is_reported);
async fn expiry_is_reported(s: &TestServer) {
    let proxy = Proxy::start(s.addr).await;
    let short = Duration::from_millis(2 * TICK_MS as u64);
    let zk = within("connect", Client::connect(&proxy.hosts(), short))
        .await
        .unwrap();
    let other = s.client().await;
    zk.create("/gone", b"", &Acl::open(), CreateMode::Ephemeral)
        .await
        .unwrap();
    let (_, _, own) = zk.get_data_w("/gone").await.unwrap();
    let (_, deleted) = other.exists_w("/gone").await.unwrap();

    proxy.refuse(true);
    proxy.cut();
    wait_state(&zk, SessionState::Disconnected).await;
    // The server expires the session: its ephemeral goes.
    let ev = tokio::time::timeout(2 * WAIT, deleted)
        .await
        .expect("expiry in time")
        .unwrap();
    assert_eq!(ev.event_type, EventType::NodeDeleted);

    proxy.refuse(false);
    wait_state(&zk, SessionState::Expired).await;
    assert!(matches!(
        within("watch end", own).await,
        Err(Error::SessionExpired)
    ));
    assert!(matches!(zk.exists("/").await, Err(Error::SessionExpired)));
    other.close().await.unwrap();
}
