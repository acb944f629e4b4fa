//! A chroot applies to every path going out and is stripped from every path coming back.
mod common;

use common::{connect, within, TestServer};
use corral_client::{Acl, AddWatchMode, CreateMode, EventType, Op, OpResult};

both!(chroot_in_and_out);
async fn chroot_in_and_out(s: &TestServer) {
    let root = s.client().await;
    root.create("/app", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let zk = connect(&format!("{}/app", s.hosts())).await;

    let (p, _) = zk
        .create("/n-", b"", &Acl::open(), CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(p, "/n-0000000000");
    assert!(root.exists("/app/n-0000000000").await.unwrap().is_some());
    assert_eq!(zk.get_children("/").await.unwrap(), ["n-0000000000"]);
    assert_eq!(zk.get_ephemerals("/").await.unwrap(), ["/n-0000000000"]);

    let (_, _, w) = zk.get_data_w(&p).await.unwrap();
    let mut rec = zk
        .add_watch("/", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    root.set_data("/app/n-0000000000", b"x", None)
        .await
        .unwrap();
    let ev = within("data event", w).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, "/n-0000000000")
    );
    let ev = within("recursive event", rec.next()).await.unwrap();
    assert_eq!(ev.path, "/n-0000000000");

    let res = zk
        .multi(vec![Op::create(
            "/m",
            b"",
            &Acl::open(),
            CreateMode::Persistent,
        )])
        .await
        .unwrap();
    assert!(matches!(&res[0], OpResult::Create { path, .. } if path == "/m"));
    assert!(root.exists("/app/m").await.unwrap().is_some());
    zk.close().await.unwrap();
    root.close().await.unwrap();
}
