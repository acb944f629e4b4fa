//! Queue: three producers and three consumers on sessions whose connections are cut again
//! and again while they work; every item is delivered exactly once.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, WAIT};
use corral_recipes::Queue;
use support::{chaos, join_all, Line};
use tokio::sync::watch;

const PRODUCERS: usize = 3;
const CONSUMERS: usize = 3;
const ITEMS: usize = 40;

both!(every_item_once_through_cuts);
async fn every_item_once_through_cuts(s: &TestServer) {
    // One consumer alone sees the order items were put in.
    let c = s.client().await;
    let mut q = Queue::new(&c, "/fifo");
    for i in 0..5u8 {
        q.put(&[i]).await.unwrap();
    }
    for i in 0..5u8 {
        assert_eq!(q.poll().await.unwrap(), Some(vec![i]));
    }
    assert_eq!(q.poll().await.unwrap(), None);
    q.close().await.unwrap();

    let mut lines = Vec::new();
    for _ in 0..PRODUCERS + CONSUMERS {
        lines.push(Arc::new(Line::new(s).await));
    }
    let taken: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (count_tx, mut count) = watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let mut consumers = Vec::new();
    for line in &lines[PRODUCERS..] {
        let mut q = Queue::new(&line.client().await, "/jobs");
        let (taken, count_tx) = (taken.clone(), count_tx.clone());
        let mut all_in = count_tx.subscribe();
        consumers.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    item = q.take() => {
                        taken.lock().unwrap().push(item.unwrap());
                        count_tx.send_modify(|n| *n += 1);
                    }
                    // Only once every item is in: no take is cut short with an item in hand.
                    _ = all_in.wait_for(|n| *n == PRODUCERS * ITEMS) => break,
                }
            }
            q.close().await.unwrap();
        }));
    }
    let cuts = chaos(lines.clone(), Duration::from_millis(20));
    let mut producers = Vec::new();
    for (p, line) in lines[..PRODUCERS].iter().enumerate() {
        let q = Queue::new(&line.client().await, "/jobs");
        producers.push(tokio::spawn(async move {
            for i in 0..ITEMS {
                q.put(format!("{p}-{i}").as_bytes()).await.unwrap();
            }
        }));
    }
    join_all("puts in time", 2 * WAIT, producers).await;
    tokio::time::timeout(2 * WAIT, count.wait_for(|n| *n >= PRODUCERS * ITEMS))
        .await
        .expect("takes in time")
        .unwrap();
    drop(cuts);
    join_all("consumers stop", common::WAIT, consumers).await;

    let mut seen: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for item in taken.lock().unwrap().iter() {
        *seen.entry(item.clone()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(
        seen.len(),
        PRODUCERS * ITEMS,
        "some items were not delivered"
    );
    let c = s.client().await;
    assert!(c.get_children("/jobs/items").await.unwrap().is_empty());
}
