//! [`GroupedElection`]: one leader among very many contenders, with bounded handoffs.
//!
//! Contenders are spread over `G` group elections (`<path>/groups/<g>`); each group's leader
//! also contends in the top-level election (`<path>/top`), and the top-level leader is the
//! overall leader. Each election is [`LeaderLatch`]'s (predecessor watches, protected
//! creates), so when the overall leader goes, one watcher wakes in its group (the next group
//! leader, which joins the top level) and one at the top level (the next overall leader):
//! a handoff touches a bounded number of nodes however many contend. With `n` contenders,
//! `G ≈ √n` keeps both levels short.
//!
//! Safety: the overall [`Leadership`](crate::Leadership) fence is the top-level node's
//! (token: its `czxid`, strictly increasing across overall leaders) *within* the group fence:
//! it is invalid as soon as either is. A contender that stops leading its group while its
//! group node is gone leaves the top level before doing anything else; one whose group node
//! survived a disconnect keeps its place at the top.

use corral_client::{Client, Result};
use tokio::sync::watch;

use crate::leader_latch::{LatchState, LeaderLatch, Stop, LATCH_NAME};
use crate::nodes::join;
use crate::sessions::{is_transient, wait_connected, Sessions};
use crate::turn::{Candidate, Rule};

/// Starts contenders of a partitioned election. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Options;
/// use corral_recipes::{GroupedElection, Sessions};
///
/// # async fn demo() -> corral_client::Result<()> {
/// let sessions = Sessions::renewing("127.0.0.1:2181", Options::new(Duration::from_secs(5)));
/// let id = b"worker-4711";
/// let groups = 32; // about the square root of the number of contenders
/// let latch = GroupedElection::start(&sessions, "/app/leader", groups, id);
/// let leadership = latch.leadership().await?; // the overall leadership
/// println!("overall leader, token {}", leadership.token());
/// latch.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct GroupedElection;

impl GroupedElection {
    /// Starts a contender with id `id` in group [`group_for(id, groups)`](group_for). The
    /// returned latch reports the *overall* leadership.
    pub fn start(sessions: &Sessions, path: &str, groups: u32, id: &[u8]) -> LeaderLatch {
        GroupedElection::start_in_group(sessions, path, group_for(id, groups), id)
    }

    /// Starts a contender in group `group` (any number; contenders agree on the groups by
    /// using the same numbers).
    pub fn start_in_group(sessions: &Sessions, path: &str, group: u32, id: &[u8]) -> LeaderLatch {
        let group_path = join(&join(path, "groups"), &group.to_string());
        let top_path = join(path, "top");
        let id = id.to_vec();
        LeaderLatch::spawn(sessions, move |client, publish, stop| {
            contend(
                client,
                publish,
                stop,
                group_path.clone(),
                top_path.clone(),
                id.clone(),
            )
        })
    }
}

/// The group of a contender id: FNV-1a of the id, modulo `groups`.
pub fn group_for(id: &[u8], groups: u32) -> u32 {
    let h = id.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (h % groups.max(1) as u64) as u32
}

/// One session of a grouped contender: lead the group, and while leading it contend at the
/// top level.
async fn contend(
    client: Client,
    publish: watch::Sender<LatchState>,
    mut stop: Stop,
    group_path: String,
    top_path: String,
    id: Vec<u8>,
) -> Result<()> {
    let mut group = Candidate::new(
        client.clone(),
        &group_path,
        LATCH_NAME,
        &id,
        Rule::Exclusive,
    );
    // The top-level candidacy and the group node it stands for.
    let mut top: Option<(Candidate, String)> = None;
    let end = 'session: loop {
        let group_fence = tokio::select! {
            f = group.turn() => f,
            _ = stop.requested() => break 'session Ok(()),
        };
        let group_fence = match group_fence {
            Ok(f) => f,
            Err(e) => break 'session Err(e),
        };
        let group_node = group_fence.node().to_string();
        if let Some((mut old, _)) = top.take_if(|(_, g)| *g != group_node) {
            old.withdraw().await?;
        }
        let (at_top, _) = top.get_or_insert_with(|| {
            let c = Candidate::new(client.clone(), &top_path, LATCH_NAME, &id, Rule::Exclusive);
            (c, group_node.clone())
        });
        // Contend at the top level while leading the group.
        loop {
            let top_fence = tokio::select! {
                f = at_top.turn() => f,
                _ = group_fence.lost() => break,
                _ = stop.requested() => break 'session Ok(()),
            };
            let leadership = match top_fence {
                Ok(f) => f.within(&group_fence),
                Err(e) => break 'session Err(e),
            };
            publish.send_replace(LatchState::Leading(leadership.clone()));
            tokio::select! {
                _ = leadership.lost() => {}
                _ = stop.requested() => break 'session Ok(()),
            }
            publish.send_replace(LatchState::Waiting);
            if !group_fence.is_valid() {
                break;
            }
        }
        publish.send_replace(LatchState::Waiting);
        // No longer sure to lead the group: if the group node is gone, leave the top level.
        match group_node_exists(&client, &group_node).await {
            Ok(true) => {}
            Ok(false) => {
                if let Some((mut old, _)) = top.take() {
                    old.withdraw().await?;
                }
            }
            Err(e) => break 'session Err(e),
        }
    };
    publish.send_replace(LatchState::Waiting);
    if let Some((mut t, _)) = top.take() {
        t.withdraw().await?;
    }
    group.withdraw().await?;
    end
}

async fn group_node_exists(client: &Client, node: &str) -> Result<bool> {
    loop {
        wait_connected(client).await?;
        match client.exists(node).await {
            Ok(s) => return Ok(s.is_some()),
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_spread_and_stay_put() {
        let mut seen = [0u32; 8];
        for i in 0..800 {
            seen[group_for(format!("c{i}").as_bytes(), 8) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (50..150).contains(n)), "{seen:?}");
        assert_eq!(group_for(b"x", 8), group_for(b"x", 8));
        assert_eq!(group_for(b"x", 0), 0);
    }
}
