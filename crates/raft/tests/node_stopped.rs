//! `RaftNode::stopped` resolves once openraft's core has stopped, and not before: the server
//! relies on it to exit when a storage error stops Raft while no request is waiting (the
//! ENOSPC case itself is exercised end to end by tests/interop/test_full_disk.py).

use std::time::Duration;

use corral_raft::{CorralNode, LogStoreConfig, NodeConfig, RaftNode, Recovered, SmEvent};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_resolves_when_raft_stops_and_not_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (events, mut rx) = mpsc::unbounded_channel();
    // A stand-in core: committed entries are simply dropped.
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let SmEvent::Snapshot { .. } | SmEvent::Install { .. } = event {
                panic!("no snapshot expected in this test");
            }
        }
    });
    let cfg = NodeConfig {
        id: 1,
        node: CorralNode {
            peer_addr: String::new(),
            client_addr: "127.0.0.1:2181".into(),
        },
        ensemble: None,
        log: LogStoreConfig::new(dir.path().join("log")),
        snapshot_dir: dir.path().join("snapshots"),
        snap_count: 1000,
        snap_retain_count: 3,
    };
    std::fs::create_dir_all(&cfg.snapshot_dir).expect("snapshot dir");
    let node = RaftNode::start(cfg, Recovered::default(), events)
        .await
        .expect("start");
    node.wait_ready(Duration::from_secs(30))
        .await
        .expect("ready");
    let applied = node.propose(&[b"payload".to_vec()]).await.expect("propose");
    applied.wait().await.expect("applied");

    let stopped = tokio::spawn({
        let node = node.clone();
        async move { node.stopped().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stopped.is_finished(), "stopped() resolved while Raft runs");

    node.shutdown().await;
    let why = tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("stopped() resolves once Raft has stopped")
        .expect("task");
    assert!(!why.is_empty());
}
