//! Losing the connection keeps the session: the client resumes it with its id and password,
//! a request in flight at the loss fails with ConnectionLoss, and watches still fire after
//! the reconnect (SetWatches2 relative to the last zxid seen), including for changes made
//! while the client was away.
mod common;

use common::{connect, wait_state, within, Proxy, TestServer};
use corral_client::{Acl, CreateMode, Error, EventType, SessionState};

both!(reconnect_keeps_session_and_watches);
async fn reconnect_keeps_session_and_watches(s: &TestServer) {
    let proxy = Proxy::start(s.addr).await;
    let zk = connect(&proxy.hosts()).await;
    let other = s.client().await;
    let id = zk.session_id();
    zk.add_auth("digest", b"bob:pw").await.unwrap();
    zk.create("/x", b"0", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    zk.create("/y", b"0", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    zk.create("/eph", b"", &Acl::open(), CreateMode::Ephemeral)
        .await
        .unwrap();
    let (_, _, x_changed) = zk.get_data_w("/x").await.unwrap();
    let (_, _, y_changed) = zk.get_data_w("/y").await.unwrap();

    // A request caught in flight: the proxy holds its bytes, then the connection is cut.
    proxy.hold(true);
    let in_flight = tokio::spawn({
        let zk = zk.clone();
        async move { zk.get_data("/x").await }
    });
    proxy.wait_held().await;
    proxy.refuse(true);
    proxy.cut();
    proxy.hold(false);
    assert!(matches!(
        within("in-flight reply", in_flight).await.unwrap(),
        Err(Error::ConnectionLoss)
    ));
    wait_state(&zk, SessionState::Disconnected).await;

    // Changed while the client is away: SetWatches2 relative to its last zxid fires it.
    other.set_data("/x", b"1", None).await.unwrap();
    proxy.refuse(false);
    wait_state(&zk, SessionState::Connected).await;
    assert_eq!(zk.session_id(), id);
    let ev = within("watch on /x after reconnect", x_changed)
        .await
        .unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, "/x")
    );

    // Changed after the reconnect: the re-registered watch fires.
    other.set_data("/y", b"1", None).await.unwrap();
    let ev = within("watch on /y after reconnect", y_changed)
        .await
        .unwrap();
    assert_eq!(ev.path, "/y");

    // Same session: the ephemeral survived, auth was re-sent.
    let (_, st) = other.get_data("/eph").await.unwrap();
    assert_eq!(st.ephemeral_owner, id);
    let who = zk.who_am_i().await.unwrap();
    assert!(who.iter().any(|c| c.user == "bob"), "{who:?}");
    zk.close().await.unwrap();
    other.close().await.unwrap();
}
