//! What the server needs to know of Raft's state, without naming openraft: this member's
//! role, the leader, how fresh the leader's quorum is, how far the log is applied, and the
//! membership. Read from openraft's metrics, which change as the state does.

use std::collections::BTreeMap;

use openraft::{RaftMetrics, ServerState};
use tokio::sync::watch;

use crate::types::{CorralNode, NodeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftRole {
    Leader,
    Follower,
    /// A learner: an observer, or a member not yet in the membership.
    Learner,
    /// Standing for election, or shut down.
    Candidate,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: NodeId,
    pub role: RaftRole,
    pub term: u64,
    pub leader: Option<NodeId>,
    /// On a leader: how long ago a quorum last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    pub last_log_index: u64,
    pub last_applied_index: u64,
    pub voters: BTreeMap<NodeId, CorralNode>,
    pub learners: BTreeMap<NodeId, CorralNode>,
    /// The log index of the membership in force (0: as first formed).
    pub membership_index: u64,
    /// On a leader: the index each other member has matched.
    pub matched: BTreeMap<NodeId, u64>,
    /// Set once Raft has stopped for good.
    pub stopped: Option<String>,
}

impl Status {
    pub fn leader_node(&self) -> Option<&CorralNode> {
        let leader = self.leader?;
        self.voters
            .get(&leader)
            .or_else(|| self.learners.get(&leader))
    }

    fn of(m: &RaftMetrics<NodeId, CorralNode>) -> Status {
        let membership = m.membership_config.membership();
        let voter_ids: Vec<NodeId> = membership.voter_ids().collect();
        let mut voters = BTreeMap::new();
        let mut learners = BTreeMap::new();
        for (id, node) in membership.nodes() {
            if voter_ids.contains(id) {
                voters.insert(*id, node.clone());
            } else {
                learners.insert(*id, node.clone());
            }
        }
        let matched = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .map(|(id, log)| (*id, log.map_or(0, |l| l.index)))
                    .collect()
            })
            .unwrap_or_default();
        Status {
            id: m.id,
            role: match m.state {
                ServerState::Leader => RaftRole::Leader,
                ServerState::Follower => RaftRole::Follower,
                ServerState::Learner => RaftRole::Learner,
                ServerState::Candidate | ServerState::Shutdown => RaftRole::Candidate,
            },
            term: m.current_term,
            leader: m.current_leader,
            millis_since_quorum_ack: m.millis_since_quorum_ack,
            last_log_index: m.last_log_index.unwrap_or(0),
            last_applied_index: m.last_applied.map_or(0, |l| l.index),
            voters,
            learners,
            membership_index: m.membership_config.log_id().map_or(0, |l| l.index),
            matched,
            stopped: m.running_state.as_ref().err().map(|e| e.to_string()),
        }
    }
}

/// A subscription to [`Status`] changes.
pub struct StatusWatch {
    rx: watch::Receiver<RaftMetrics<NodeId, CorralNode>>,
}

impl StatusWatch {
    pub(crate) fn new(rx: watch::Receiver<RaftMetrics<NodeId, CorralNode>>) -> StatusWatch {
        StatusWatch { rx }
    }

    pub fn get(&self) -> Status {
        Status::of(&self.rx.borrow())
    }

    /// Waits for the next change; `false` once Raft is gone.
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}
