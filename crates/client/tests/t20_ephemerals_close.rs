//! Closing a session deletes its ephemerals (another session sees them go) and ends every
//! handle of it.
mod common;

use common::{wait_state, within, TestServer};
use corral_client::{Acl, CreateMode, Error, EventType, SessionState};

both!(ephemerals_gone_after_close);
async fn ephemerals_gone_after_close(s: &TestServer) {
    let owner = s.client().await;
    let other = s.client().await;
    assert_ne!(owner.session_id(), other.session_id());
    owner
        .create("/eph", b"", &Acl::open(), CreateMode::Ephemeral)
        .await
        .unwrap();
    let (st, gone) = other.exists_w("/eph").await.unwrap();
    assert!(st.is_some());
    let (_, _, own_watch) = owner.get_data_w("/eph").await.unwrap();

    owner.close().await.unwrap();
    wait_state(&owner, SessionState::Closed).await;
    let ev = within("NodeDeleted", gone).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDeleted, "/eph")
    );
    assert_eq!(other.exists("/eph").await.unwrap(), None);

    // The closed session's watches end (its own ephemeral's deletion may reach it first);
    // its handles refuse work; closing again is fine.
    match within("watch end", own_watch).await {
        Err(Error::Closed) => {}
        Ok(ev) => assert_eq!(ev.event_type, EventType::NodeDeleted),
        Err(e) => panic!("unexpected {e}"),
    }
    assert!(matches!(owner.exists("/").await, Err(Error::Closed)));
    owner.close().await.unwrap();
    other.close().await.unwrap();
}
