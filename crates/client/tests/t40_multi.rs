//! multi: all or nothing, with ZooKeeper's per-op failure layout; multiRead per-op results.
mod common;

use common::TestServer;
use corral_client::{Acl, CreateMode, Error, ErrorCode, Op, OpResult, ReadOp};

both!(multi_success_and_failure_layout);
async fn multi_success_and_failure_layout(s: &TestServer) {
    let zk = s.client().await;
    let ok = zk
        .multi(vec![
            Op::create("/m", b"", &Acl::open(), CreateMode::Persistent),
            Op::create(
                "/m/s-",
                b"d",
                &Acl::open(),
                CreateMode::PersistentSequential,
            ),
            Op::set_data("/m", b"top", Some(0)),
            Op::check("/m", Some(1)),
        ])
        .await
        .unwrap();
    // ZooKeeper 3.8 answers a create2 inside multi without the Stat; corral includes it.
    assert!(matches!(&ok[0], OpResult::Create { path, .. } if path == "/m"));
    assert!(matches!(&ok[1], OpResult::Create { path, .. } if path == "/m/s-0000000000"));
    assert!(matches!(&ok[2], OpResult::SetData { stat } if stat.version == 1));
    assert_eq!(ok[3], OpResult::Check);

    let err = zk
        .multi(vec![
            Op::create("/m/x", b"", &Acl::open(), CreateMode::Persistent),
            Op::delete("/m/missing", None),
            Op::set_data("/m", b"", None),
        ])
        .await
        .unwrap_err();
    let Error::MultiFailed {
        index,
        error,
        results,
    } = err
    else {
        panic!("expected MultiFailed, got {err:?}");
    };
    assert_eq!(index, 1);
    assert!(matches!(*error, Error::NoNode));
    assert_eq!(
        results,
        [
            OpResult::Error(ErrorCode::Ok),
            OpResult::Error(ErrorCode::NoNode),
            OpResult::Error(ErrorCode::RuntimeInconsistency),
        ]
    );
    assert_eq!(zk.exists("/m/x").await.unwrap(), None, "nothing applied");

    let reads = zk
        .multi_read(vec![
            ReadOp::GetData("/m".into()),
            ReadOp::GetChildren("/m".into()),
            ReadOp::GetData("/none".into()),
        ])
        .await
        .unwrap();
    assert!(matches!(&reads[0], OpResult::GetData { data, .. } if data == b"top"));
    assert_eq!(
        reads[1],
        OpResult::GetChildren {
            children: vec!["s-0000000000".into()]
        }
    );
    assert_eq!(reads[2], OpResult::Error(ErrorCode::NoNode));
    zk.close().await.unwrap();
}
