//! The ensemble watchdog: what openraft 0.9 does not do by itself.
//!
//! - A member that has seen no leader for much longer than the largest election window
//!   (repeated split votes, a lost vote) stands again; ranks keep the members apart in time.
//! - A new leader adds the configured observers that are not yet learners of the group.

use std::time::{Duration, Instant};

use openraft::Raft;

use crate::node::{election_timeout_max_ms, EnsembleConfig};
use crate::types::{NodeId, TypeConfig};

/// How often the watchdog looks.
const CHECK_EVERY: Duration = Duration::from_millis(100);

pub(crate) async fn run(raft: Raft<TypeConfig>, me: NodeId, ensemble: EnsembleConfig) {
    let voter = ensemble.voters.contains_key(&me);
    let rank = ensemble.voters.keys().position(|&id| id == me).unwrap_or(0) as u64;
    let patience =
        Duration::from_millis(3 * election_timeout_max_ms(ensemble.voters.len()) + rank * 300);
    let mut metrics = raft.metrics();
    let mut leaderless_since: Option<Instant> = None;
    let mut learners_added_in_term = None;
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let (leader, term, state, members, empty) = {
            let m = metrics.borrow_and_update();
            if m.running_state.is_err() {
                return;
            }
            let members: Vec<NodeId> = m
                .membership_config
                .membership()
                .nodes()
                .map(|(id, _)| *id)
                .collect();
            // A member without a log (rejoining after losing its data) cannot win: it waits
            // for a leader instead of disturbing the others with a higher term.
            let empty = m.last_log_index.is_none() && m.snapshot.is_none();
            (m.current_leader, m.current_term, m.state, members, empty)
        };
        if leader.is_some() {
            leaderless_since = None;
        } else if voter && !empty {
            let since = *leaderless_since.get_or_insert_with(Instant::now);
            if since.elapsed() > patience {
                tracing::info!("no leader for {:?}: standing for election", since.elapsed());
                if raft.trigger().elect().await.is_err() {
                    return;
                }
                leaderless_since = Some(Instant::now());
            }
        }
        if state == openraft::ServerState::Leader && learners_added_in_term != Some(term) {
            learners_added_in_term = Some(term);
            let missing: Vec<_> = ensemble
                .learners
                .iter()
                .filter(|(id, _)| !members.contains(id))
                .map(|(id, node)| (*id, node.clone()))
                .collect();
            let raft = raft.clone();
            // One at a time: openraft refuses a membership change while another is in flight.
            tokio::spawn(async move {
                for (id, node) in missing {
                    tracing::info!(id, %node, "adding observer as a raft learner");
                    if let Err(e) = raft.add_learner(id, node, false).await {
                        tracing::warn!(id, "cannot add observer: {e}");
                    }
                }
            });
        }
    }
}
