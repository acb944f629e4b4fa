//! Barrier: five waiters pass only when it is lifted. Double barrier: five members, none
//! enters before the fifth arrives and none leaves before the fifth leaves; the barrier is
//! empty again afterwards.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{within, TestServer};
use corral_recipes::{Barrier, DoubleBarrier};
use support::{join_all, wait_children};

const MEMBERS: usize = 5;

both!(barriers_hold_until_released);
async fn barriers_hold_until_released(s: &TestServer) {
    let observer = s.client().await;
    let gate = Barrier::new(&observer, "/gates/deploy");
    gate.set().await.unwrap();
    gate.set().await.unwrap();
    let passed = Arc::new(AtomicUsize::new(0));
    let mut waiters = Vec::new();
    for _ in 0..MEMBERS {
        let gate = Barrier::new(&s.client().await, "/gates/deploy");
        let passed = passed.clone();
        waiters.push(tokio::spawn(async move {
            gate.wait().await.unwrap();
            passed.fetch_add(1, Ordering::SeqCst);
        }));
    }
    assert_eq!(passed.load(Ordering::SeqCst), 0);
    gate.remove().await.unwrap();
    join_all("waiters pass", common::WAIT, waiters).await;
    assert_eq!(passed.load(Ordering::SeqCst), MEMBERS);
    gate.wait().await.unwrap();

    // The double barrier.
    let path = "/rounds/1";
    let members: Vec<DoubleBarrier> = {
        let mut v = Vec::new();
        for i in 0..MEMBERS {
            v.push(DoubleBarrier::with_id(
                &s.client().await,
                path,
                MEMBERS,
                &format!("m{i}"),
            ));
        }
        v
    };
    let blocked = MEMBERS - 1; // the first four members' nodes
    together(&observer, path, &members, blocked, |m| async move {
        m.enter().await
    })
    .await;
    // m0 (the lowest) waits for the highest, m4; m1..m3 have gone and wait for m0; `ready`.
    together(
        &observer,
        path,
        &members,
        3,
        |m| async move { m.leave().await },
    )
    .await;
    wait_children(&observer, path, 0).await;
}

/// Runs `step` for every member but the last; once `path` has `blocked` children (they all
/// wait), checks that none went on, then runs `step` for the last one and waits for all.
async fn together<F, Fut>(
    observer: &corral_client::Client,
    path: &str,
    members: &[DoubleBarrier],
    blocked: usize,
    step: F,
) where
    F: Fn(DoubleBarrier) -> Fut,
    Fut: std::future::Future<Output = corral_client::Result<()>> + Send + 'static,
{
    let done = Arc::new(AtomicUsize::new(0));
    let (last, early) = members.split_last().unwrap();
    let early: Vec<_> = early
        .iter()
        .map(|m| {
            let (step, done) = (step(m.clone()), done.clone());
            tokio::spawn(async move {
                step.await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    wait_children(observer, path, blocked).await;
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "went on before the last member came"
    );
    within("the last member", step(last.clone())).await.unwrap();
    join_all("every member", common::WAIT, early).await;
}
