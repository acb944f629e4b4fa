//! LeaderLatch with 20 contenders, each on its own session behind its own proxy: the
//! leader's session expires, the next leader leaves, everyone is cut off at once. The referee
//! checks throughout that at most one fence is valid and tokens only grow.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;

use common::{wait_state, within, TestServer};
use corral_client::SessionState;
use corral_recipes::{LatchState, LeaderLatch};
use support::{follow, wait_children, Line, Referee};

const CONTENDERS: usize = 20;
const PATH: &str = "/election";

both!(twenty_contenders_expiry_close_outage);
async fn twenty_contenders_expiry_close_outage(s: &TestServer) {
    let observer = s.client().await;
    let referee = Referee::new();
    let mut lines = Vec::new();
    let mut latches = Vec::new();
    let mut followers = Vec::new();
    for i in 0..CONTENDERS {
        let line = Line::new(s).await;
        let latch = Arc::new(LeaderLatch::start(
            &line.sessions,
            PATH,
            format!("c{i}").as_bytes(),
        ));
        followers.push(follow(latch.clone(), i, referee.clone()));
        lines.push(line);
        latches.push(latch);
    }
    let first = referee.wait_grant("a first leader", 0, |_| true).await;
    wait_children(&observer, PATH, CONTENDERS).await;

    // 1. The leader's session expires. It stops leading at the disconnect, long before the
    //    server expires it and the next contender takes over.
    let victim = first.who;
    let old_session = lines[victim].client().await;
    lines[victim].sever();
    wait_state(&old_session, SessionState::Disconnected).await;
    assert!(!latches[victim].is_leader());
    let n = referee.count();
    let second = referee
        .wait_grant("a leader after expiry", n, |g| g.who != victim)
        .await;
    assert!(second.token > first.token);
    // Back on the network, the victim finds its session expired and enlists with a new one.
    lines[victim].restore();
    wait_state(&old_session, SessionState::Expired).await;
    wait_children(&observer, PATH, CONTENDERS).await;
    assert_ne!(
        lines[victim].client().await.session_id(),
        old_session.session_id()
    );

    // 2. The leader leaves: the next one leads at once.
    let leaver = second.who;
    let n = referee.count();
    latches[leaver].close().await.unwrap();
    assert!(!latches[leaver].is_leader());
    let third = referee
        .wait_grant("a leader after close", n, |g| g.who != leaver)
        .await;
    assert!(third.token > second.token);

    // 3. Everyone is cut off: no one leads while disconnected. Back within the session
    //    timeout, the same node leads again with the same token.
    let clients: Vec<_> = clients_of(&lines).await;
    for l in &lines {
        l.proxy.refuse(true);
        l.proxy.cut();
    }
    for c in &clients {
        wait_state(c, SessionState::Disconnected).await;
    }
    assert!(latches.iter().all(|l| !l.is_leader()));
    let n = referee.count();
    for l in &lines {
        l.restore();
    }
    let fourth = referee
        .wait_grant("a leader after the outage", n, |_| true)
        .await;
    assert_eq!((fourth.who, fourth.token), (third.who, third.token));

    for l in &latches {
        l.close().await.unwrap();
        assert!(matches!(*l.state().borrow(), LatchState::Ended(None)));
    }
    for f in followers {
        within("follower end", f).await.unwrap();
    }
    wait_children(&observer, PATH, 0).await;
    assert!(referee.acts() > 0);
}

async fn clients_of(lines: &[Line]) -> Vec<corral_client::Client> {
    let mut out = Vec::new();
    for l in lines {
        out.push(l.client().await);
    }
    out
}
