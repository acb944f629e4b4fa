//! Many requests in flight on one connection, answered in order.
mod common;

use common::{within, TestServer};
use corral_client::{Acl, CreateMode};

const IN_FLIGHT: usize = 1000;

both!(thousand_requests_in_flight);
async fn thousand_requests_in_flight(s: &TestServer) {
    let zk = s.client().await;
    zk.create("/pipe", b"", &Acl::open(), CreateMode::Persistent)
        .await
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..IN_FLIGHT {
        let zk = zk.clone();
        set.spawn(async move {
            let path = format!("/pipe/n{i}");
            zk.create(
                &path,
                i.to_string().as_bytes(),
                &Acl::open(),
                CreateMode::Persistent,
            )
            .await
            .unwrap();
            let (data, _) = zk.get_data(&path).await.unwrap();
            assert_eq!(data, i.to_string().as_bytes());
        });
    }
    within("1000 pipelined requests", async {
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    })
    .await;
    assert_eq!(
        zk.get_all_children_number("/pipe").await.unwrap(),
        IN_FLIGHT as i32
    );
    zk.close().await.unwrap();
}
