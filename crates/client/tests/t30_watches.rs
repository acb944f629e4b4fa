//! One-shot watches fire once; persistent and persistent-recursive watches stream;
//! removeWatches and checkWatches.
mod common;

use common::{within, TestServer};
use corral_client::{Acl, AddWatchMode, CreateMode, Error, EventType, WatcherType};

both!(one_shot_watches_fire_once);
async fn one_shot_watches_fire_once(s: &TestServer) {
    let zk = s.client().await;
    let (none, created) = zk.exists_w("/w").await.unwrap();
    assert!(none.is_none());
    zk.create("/w", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let ev = within("NodeCreated", created).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeCreated, "/w")
    );

    let (_, _, changed) = zk.get_data_w("/w").await.unwrap();
    let (_, child) = zk.get_children_w("/w").await.unwrap();
    zk.set_data("/w", b"1", None).await.unwrap();
    zk.set_data("/w", b"2", None).await.unwrap();
    let ev = within("NodeDataChanged", changed).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);

    // A second change fires nothing more: a fresh watch sees only the next event.
    let (_, _, next) = zk.get_data_w("/w").await.unwrap();
    zk.create("/w/c", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let ev = within("NodeChildrenChanged", child).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeChildrenChanged, "/w")
    );
    zk.delete("/w/c", None).await.unwrap();
    zk.delete("/w", None).await.unwrap();
    let ev = within("NodeDeleted", next).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeDeleted);
    zk.close().await.unwrap();
}

both!(persistent_streams);
async fn persistent_streams(s: &TestServer) {
    let zk = s.client().await;
    let writer = s.client().await;
    let mut p = zk.add_watch("/p", AddWatchMode::Persistent).await.unwrap();
    // A second session for the recursive watch: ZooKeeper keeps one mode per path and
    // connection (the later add_watch replaces the earlier).
    let zk2 = s.client().await;
    let mut r = zk2
        .add_watch("/p", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    writer
        .create("/p", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    writer.set_data("/p", b"x", None).await.unwrap();
    writer
        .create("/p/a", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    writer
        .create("/p/a/b", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();

    let mut seen = vec![];
    for _ in 0..3 {
        let ev = within("persistent event", p.next()).await.unwrap();
        seen.push((ev.event_type, ev.path));
    }
    assert_eq!(
        seen,
        [
            (EventType::NodeCreated, "/p".to_string()),
            (EventType::NodeDataChanged, "/p".to_string()),
            (EventType::NodeChildrenChanged, "/p".to_string()),
        ]
    );
    let mut seen = vec![];
    for _ in 0..4 {
        let ev = within("recursive event", r.next()).await.unwrap();
        seen.push((ev.event_type, ev.path));
    }
    assert_eq!(
        seen,
        [
            (EventType::NodeCreated, "/p".to_string()),
            (EventType::NodeDataChanged, "/p".to_string()),
            (EventType::NodeCreated, "/p/a".to_string()),
            (EventType::NodeCreated, "/p/a/b".to_string()),
        ]
    );
    writer.close().await.unwrap();
    zk2.close().await.unwrap();
    zk.close().await.unwrap();
    assert_eq!(within("stream end", p.next()).await, None);
}

both!(remove_and_check_watches);
async fn remove_and_check_watches(s: &TestServer) {
    let zk = s.client().await;
    zk.create("/rw", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert!(matches!(
        zk.check_watches("/rw", WatcherType::Data).await,
        Err(Error::NoWatcher)
    ));
    let (_, _, data) = zk.get_data_w("/rw").await.unwrap();
    let (_, child) = zk.get_children_w("/rw").await.unwrap();
    zk.check_watches("/rw", WatcherType::Data).await.unwrap();
    zk.check_watches("/rw", WatcherType::Children)
        .await
        .unwrap();

    zk.remove_watches("/rw", WatcherType::Data).await.unwrap();
    let ev = within("DataWatchRemoved", data).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::DataWatchRemoved, "/rw")
    );
    assert!(matches!(
        zk.check_watches("/rw", WatcherType::Data).await,
        Err(Error::NoWatcher)
    ));
    zk.remove_watches("/rw", WatcherType::Any).await.unwrap();
    let ev = within("ChildWatchRemoved", child).await.unwrap();
    assert_eq!(ev.event_type, EventType::ChildWatchRemoved);
    assert!(matches!(
        zk.remove_watches("/rw", WatcherType::Any).await,
        Err(Error::NoWatcher)
    ));
    zk.close().await.unwrap();
}
