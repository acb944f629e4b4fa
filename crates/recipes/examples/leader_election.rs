//! Leader election against a running server: several contenders, each with its own session,
//! elect a leader; the leader is stopped, and leadership moves to the next contender.
//!
//! ```sh
//! corral server &                                  # or any ZooKeeper 3.5+ on 127.0.0.1:2181
//! cargo run --example leader_election              # from the workspace root
//! cargo run --example leader_election -p corral-recipes -- 127.0.0.1:2181 5
//! ```
//!
//! Arguments: the connect string (default `127.0.0.1:2181`) and the number of contenders
//! (default 5).

use std::time::Duration;

use corral_client::Options;
use corral_recipes::{LeaderLatch, Sessions};

const PATH: &str = "/corral-example/leader";
const LEAD_FOR: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> corral_client::Result<()> {
    let mut args = std::env::args().skip(1);
    let hosts = args.next().unwrap_or_else(|| "127.0.0.1:2181".to_string());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("{n} contenders on {hosts}, electing under {PATH}");

    let mut contenders = Vec::new();
    for i in 0..n {
        let sessions = Sessions::renewing(&hosts, Options::new(Duration::from_secs(5)));
        let latch = LeaderLatch::start(&sessions, PATH, format!("contender-{i}").as_bytes());
        contenders.push(Some((latch, sessions)));
    }

    // Each round: find the leader, let it lead a while, then stop it.
    for _ in 0..n {
        let (i, leadership) = next_leader(&contenders).await?;
        println!("contender-{i} leads (fencing token {})", leadership.token());
        tokio::select! {
            _ = tokio::time::sleep(LEAD_FOR) => {}
            _ = leadership.lost() => println!("contender-{i} lost its leadership"),
        }
        let (latch, sessions) = contenders[i].take().expect("a running contender");
        println!("stopping contender-{i}");
        latch.close().await?;
        sessions.close().await?;
        assert!(!leadership.is_valid());
    }
    println!("every contender led once; done");
    Ok(())
}

/// Waits until one of the running contenders leads.
async fn next_leader(
    contenders: &[Option<(LeaderLatch, Sessions)>],
) -> corral_client::Result<(usize, corral_recipes::Leadership)> {
    let mut waits = tokio::task::JoinSet::new();
    for (i, c) in contenders.iter().enumerate() {
        if let Some((latch, _)) = c {
            let mut state = latch.state();
            waits.spawn(async move {
                let s = state
                    .wait_for(
                        |s| matches!(s, corral_recipes::LatchState::Leading(f) if f.is_valid()),
                    )
                    .await;
                match s.as_deref() {
                    Ok(corral_recipes::LatchState::Leading(f)) => Ok((i, f.clone())),
                    _ => Err(corral_client::Error::Closed),
                }
            });
        }
    }
    match waits.join_next().await {
        Some(r) => r.expect("no panic"),
        None => Err(corral_client::Error::Closed),
    }
}
