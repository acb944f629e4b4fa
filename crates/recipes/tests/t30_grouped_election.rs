//! GroupedElection: 30 contenders in 5 groups. The overall leader's session expires (the
//! next overall leader takes over and its group gets a new leader at the top level); then a
//! group leader that does not lead overall expires, and the overall leader stays.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;

use common::within;
use corral_client::Client;
use corral_recipes::GroupedElection;
use support::{follow, wait_children, Line, Referee};

const CONTENDERS: usize = 30;
const GROUPS: u32 = 5;
const PATH: &str = "/big";

/// The contender leading group `g` (its id is in its node).
async fn group_leader(c: &Client, g: u32) -> usize {
    let path = format!("{PATH}/groups/{g}");
    let mut kids = c.get_children(&path).await.unwrap();
    kids.sort_by_key(|k| k[k.len() - 10..].to_string());
    let (id, _) = c.get_data(&format!("{path}/{}", kids[0])).await.unwrap();
    String::from_utf8(id).unwrap()[1..].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overall_and_group_leaders_expire() {
    let s = &common::start(common::Kind::Corral).await.unwrap();
    let observer = s.client().await;
    let referee = Referee::new();
    let mut lines = Vec::new();
    let mut latches = Vec::new();
    for i in 0..CONTENDERS {
        let line = Line::new(s).await;
        let id = format!("c{i}");
        let latch =
            GroupedElection::start_in_group(&line.sessions, PATH, i as u32 % GROUPS, id.as_bytes());
        let latch = Arc::new(latch);
        follow(latch.clone(), i, referee.clone());
        lines.push(line);
        latches.push(latch);
    }
    let top = format!("{PATH}/top");
    let first = referee.wait_grant("an overall leader", 0, |_| true).await;
    wait_children(&observer, &top, GROUPS as usize).await;
    for g in 0..GROUPS {
        wait_children(
            &observer,
            &format!("{PATH}/groups/{g}"),
            CONTENDERS / GROUPS as usize,
        )
        .await;
    }

    // The overall leader expires: one new overall leader; its group gets a new leader, which
    // joins the top level.
    let victim = first.who;
    lines[victim].sever();
    let n = referee.count();
    let second = referee
        .wait_grant("a new overall leader", n, |g| g.who != victim)
        .await;
    assert!(second.token > first.token);
    wait_children(&observer, &top, GROUPS as usize).await;
    let g = victim as u32 % GROUPS;
    assert_ne!(group_leader(&observer, g).await, victim);

    // A group leader that does not lead overall expires: its group's next leader joins the
    // top level; the overall leader stays.
    let other = (0..GROUPS)
        .find(|g| *g as usize != second.who % GROUPS as usize)
        .unwrap();
    let bystander = group_leader(&observer, other).await;
    let n = referee.count();
    lines[bystander].sever();
    within("the bystander's group moves on", async {
        loop {
            let path = format!("{PATH}/groups/{other}");
            let (_, changed) = observer.get_children_w(&path).await.unwrap();
            if group_leader(&observer, other).await != bystander {
                return;
            }
            let _ = changed.await;
        }
    })
    .await;
    wait_children(&observer, &top, GROUPS as usize).await;
    let moved = referee.grants()[n..].iter().any(|g| g.who != second.who);
    assert!(
        !moved,
        "the overall leadership moved: {:?}",
        referee.grants()
    );
    assert!(latches[second.who].is_leader());

    for l in &lines {
        l.restore();
    }
    for l in &latches {
        l.close().await.unwrap();
    }
    wait_children(&observer, &top, 0).await;
}
