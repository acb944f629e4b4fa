//! Create, read, update, delete with their Stats; sequential names; containers and TTL nodes;
//! check, sync, getAllChildrenNumber, getEphemerals, whoAmI.
mod common;

use std::time::Duration;

use common::TestServer;
use corral_client::{Acl, CreateMode, Error};

both!(crud_with_stats);
async fn crud_with_stats(s: &TestServer) {
    let zk = s.client().await;
    let (path, st) = zk
        .create("/a", b"one", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(path, "/a");
    assert_eq!((st.version, st.data_length, st.num_children), (0, 3, 0));
    assert_eq!(st.czxid, st.mzxid);

    let (data, st2) = zk.get_data("/a").await.unwrap();
    assert_eq!((data.as_slice(), st2.clone()), (&b"one"[..], st.clone()));
    assert_eq!(zk.exists("/a").await.unwrap(), Some(st.clone()));
    assert_eq!(zk.exists("/nope").await.unwrap(), None);

    let st3 = zk.set_data("/a", b"two!", Some(0)).await.unwrap();
    assert_eq!((st3.version, st3.data_length), (1, 4));
    assert!(st3.mzxid > st.mzxid);
    assert!(matches!(
        zk.set_data("/a", b"x", Some(0)).await,
        Err(Error::BadVersion)
    ));
    assert!(matches!(
        zk.create("/a", b"", &Acl::open(), CreateMode::Persistent)
            .await,
        Err(Error::NodeExists)
    ));
    assert!(matches!(zk.get_data("/nope").await, Err(Error::NoNode)));
    assert!(matches!(
        zk.create("/nope/x", b"", &Acl::open(), CreateMode::Persistent)
            .await,
        Err(Error::NoNode)
    ));

    zk.create("/a/b", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    zk.create("/a/c", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    zk.create("/a/b/d", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let mut kids = zk.get_children("/a").await.unwrap();
    kids.sort();
    assert_eq!(kids, ["b", "c"]);
    let (kids2, pst) = zk.get_children2("/a").await.unwrap();
    assert_eq!((kids2.len(), pst.num_children, pst.cversion), (2, 2, 2));
    assert_eq!(zk.get_all_children_number("/a").await.unwrap(), 3);

    assert!(matches!(zk.delete("/a", None).await, Err(Error::NotEmpty)));
    assert!(matches!(
        zk.delete("/a/c", Some(5)).await,
        Err(Error::BadVersion)
    ));
    zk.delete("/a/c", Some(0)).await.unwrap();
    assert!(matches!(zk.delete("/a/c", None).await, Err(Error::NoNode)));

    zk.check("/a", 1).await.unwrap();
    assert!(matches!(zk.check("/a", 0).await, Err(Error::BadVersion)));
    zk.sync("/a").await.unwrap();
    // Null-free data round trip.
    zk.set_data("/a", b"", None).await.unwrap();
    assert_eq!(zk.get_data("/a").await.unwrap().0, b"");
    zk.close().await.unwrap();
}

both!(sequential_names);
async fn sequential_names(s: &TestServer) {
    let zk = s.client().await;
    zk.create("/q", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let (p0, _) = zk
        .create("/q/n-", b"", &Acl::open(), CreateMode::PersistentSequential)
        .await
        .unwrap();
    let (p1, _) = zk
        .create("/q/n-", b"", &Acl::open(), CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(p0, "/q/n-0000000000");
    assert_eq!(p1, "/q/n-0000000001");
    zk.close().await.unwrap();
}

both!(ephemerals_listed_and_owned);
async fn ephemerals_listed_and_owned(s: &TestServer) {
    let zk = s.client().await;
    zk.create("/e", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let (_, st) = zk
        .create("/e/x", b"", &Acl::open(), CreateMode::Ephemeral)
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, zk.session_id());
    assert!(matches!(
        zk.create("/e/x/y", b"", &Acl::open(), CreateMode::Persistent)
            .await,
        Err(Error::NoChildrenForEphemerals)
    ));
    assert_eq!(zk.get_ephemerals("/e").await.unwrap(), ["/e/x"]);
    let who = zk.who_am_i().await.unwrap();
    assert!(who.iter().any(|c| c.auth_scheme == "ip"), "{who:?}");
    zk.close().await.unwrap();
}

both!(containers_and_ttl);
async fn containers_and_ttl(s: &TestServer) {
    let zk = s.client().await;
    let (p, st) = zk
        .create("/c", b"x", &Acl::open(), CreateMode::Container)
        .await
        .unwrap();
    assert_eq!((p.as_str(), st.data_length), ("/c", 1));
    let ttl = CreateMode::PersistentWithTtl(Duration::from_secs(3600));
    let (_, st) = zk.create("/t", b"", &Acl::open(), ttl).await.unwrap();
    assert_eq!(zk.exists("/t").await.unwrap(), Some(st));
    let seq = CreateMode::PersistentSequentialWithTtl(Duration::from_secs(3600));
    let (p, _) = zk.create("/t/s-", b"", &Acl::open(), seq).await.unwrap();
    assert_eq!(p, "/t/s-0000000000");
    zk.close().await.unwrap();
}
