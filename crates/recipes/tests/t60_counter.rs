//! Counter: ten sessions add to one counter while their connections are cut again and again;
//! the total is exact. Compare-and-set sets only from the expected value.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, WAIT};
use corral_recipes::Counter;
use support::{chaos, join_all, Line};

const SESSIONS: usize = 10;
const ADDS: i64 = 20;

both!(exact_through_cuts);
async fn exact_through_cuts(s: &TestServer) {
    let c = s.client().await;
    let counter = Counter::new(&c, "/counters/n");
    assert_eq!(counter.get().await.unwrap(), 0);
    assert!(!counter.compare_and_set(5, 6).await.unwrap());
    assert!(counter.compare_and_set(0, 100).await.unwrap());
    assert_eq!(counter.add(-100).await.unwrap(), 0);

    let mut lines = Vec::new();
    for _ in 0..SESSIONS {
        lines.push(Arc::new(Line::new(s).await));
    }
    let cuts = chaos(lines.clone(), Duration::from_millis(15));
    let mut tasks = Vec::new();
    for line in &lines {
        let counter = Counter::new(&line.client().await, "/counters/n");
        tasks.push(tokio::spawn(async move {
            for _ in 0..ADDS {
                counter.add(1).await.unwrap();
            }
        }));
    }
    join_all("adds in time", 3 * WAIT, tasks).await;
    drop(cuts);
    assert_eq!(counter.get().await.unwrap(), SESSIONS as i64 * ADDS);
}
