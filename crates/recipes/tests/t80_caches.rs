//! NodeCache and TreeCache, with persistent watches and with one-shot watches only: a
//! 154-node tree loaded (by multiRead batches), then creations, changes and deletions
//! followed; changes made while the cache's session was cut off show after it reconnects.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use common::{wait_state, within, TestServer};
use corral_client::{Acl, Client, CreateMode, Op, SessionState};
use corral_recipes::{CacheWatches, NodeCache, NodeData, TreeCache};
use support::Line;

const MODES: [CacheWatches; 2] = [CacheWatches::Auto, CacheWatches::OneShot];

async fn node_is(cache: &NodeCache, want: Option<&[u8]>) {
    let mut rx = cache.changes();
    let what = format!("node cache at {want:?}");
    within(
        &what,
        rx.wait_for(|v| v.as_ref().map(|n| n.data.as_slice()) == want),
    )
    .await
    .unwrap();
}

async fn cut_change_restore(line: &Line, cached: &Client, change: impl std::future::Future) {
    line.sever();
    wait_state(cached, SessionState::Disconnected).await;
    change.await;
    line.restore();
    wait_state(cached, SessionState::Connected).await;
}

/// A writer, and the cache's line and client (which the test cuts off).
async fn clients(s: &TestServer) -> (Client, Line, Client) {
    let line = Line::new(s).await;
    let cached = line.client().await;
    (s.client().await, line, cached)
}

both!(node_cache_follows);
async fn node_cache_follows(s: &TestServer) {
    let (writer, line, cached) = clients(s).await;
    for watches in MODES {
        let path = format!("/cfg-{watches:?}");
        let cache = NodeCache::start_with(&cached, &path, watches)
            .await
            .unwrap();
        assert_eq!(cache.uses_persistent_watch(), watches == CacheWatches::Auto);
        assert_eq!(cache.get(), None);
        writer
            .create(&path, b"1", &Acl::open(), CreateMode::Persistent)
            .await
            .unwrap();
        node_is(&cache, Some(b"1")).await;
        writer.set_data(&path, b"2", None).await.unwrap();
        node_is(&cache, Some(b"2")).await;
        cut_change_restore(&line, &cached, writer.set_data(&path, b"away", None)).await;
        node_is(&cache, Some(b"away")).await;
        writer.delete(&path, None).await.unwrap();
        node_is(&cache, None).await;
    }
}

fn create(path: &str, data: &str) -> Op {
    Op::create(path, data.as_bytes(), &Acl::open(), CreateMode::Persistent)
}

fn data_at(nodes: &std::collections::BTreeMap<String, NodeData>, path: &str) -> Option<Vec<u8>> {
    nodes.get(path).map(|n| n.data.clone())
}

both!(tree_cache_follows);
async fn tree_cache_follows(s: &TestServer) {
    let (writer, line, cached) = clients(s).await;
    for watches in MODES {
        let root = format!("/tree-{watches:?}");
        let mut ops = vec![create(&root, "root")];
        for k in ["a", "b", "c"] {
            ops.push(create(&format!("{root}/{k}"), k));
            for i in 0..50 {
                ops.push(create(&format!("{root}/{k}/{i}"), &i.to_string()));
            }
        }
        writer.multi(ops).await.unwrap();

        let cache = TreeCache::start_with(&cached, &root, watches)
            .await
            .unwrap();
        assert_eq!(cache.uses_persistent_watch(), watches == CacheWatches::Auto);
        assert_eq!(cache.len(), 154);
        assert_eq!(cache.children(&root), ["a", "b", "c"]);
        assert_eq!(cache.get(&format!("{root}/a/7")).unwrap().data, b"7");

        let a3 = format!("{root}/a/3");
        writer.set_data(&a3, b"x", None).await.unwrap();
        let deep = format!("{root}/a/new/deep");
        writer
            .multi(vec![
                create(&format!("{root}/a/new"), "n"),
                create(&deep, "d"),
            ])
            .await
            .unwrap();
        let mut gone: Vec<Op> = (0..50)
            .map(|i| Op::delete(&format!("{root}/b/{i}"), None))
            .collect();
        gone.push(Op::delete(&format!("{root}/b"), None));
        writer.multi(gone).await.unwrap();
        let b = format!("{root}/b");
        let settled = cache.wait_for(|n| {
            data_at(n, &a3).as_deref() == Some(b"x")
                && data_at(n, &deep).as_deref() == Some(b"d")
                && !n.keys().any(|k| k.starts_with(&b))
        });
        within("the tree cache follows changes", settled)
            .await
            .unwrap();
        assert_eq!(cache.len(), 154 + 2 - 51);
        assert_eq!(cache.children(&root), ["a", "c"]);

        let c1 = format!("{root}/c/1");
        let fresh = format!("{root}/c/fresh");
        let away = async {
            writer.set_data(&c1, b"away", None).await.unwrap();
            writer
                .create(&fresh, b"f", &Acl::open(), CreateMode::Persistent)
                .await
                .unwrap();
        };
        cut_change_restore(&line, &cached, away).await;
        let caught_up = cache.wait_for(|n| {
            data_at(n, &c1).as_deref() == Some(b"away") && data_at(n, &fresh).is_some()
        });
        within("the tree cache after a reconnect", caught_up)
            .await
            .unwrap();
    }
}
