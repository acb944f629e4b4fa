//! Membership changes (ZooKeeper's `reconfig`), carried out by the leader with openraft's
//! joint consensus: new members are added as learners first and must catch up before they
//! vote, then the voter set is replaced in one change (joint, then final).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::ChangeMembers;
use serde::{Deserialize, Serialize};

use crate::node::RaftNode;
use crate::types::{CorralNode, NodeId};

/// How long a joining member may take to catch up before the change is refused.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(20);
/// A joining member within this many entries of the leader counts as caught up.
const CAUGHT_UP_LAG: u64 = 16;

/// What a `reconfig` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChange {
    /// Members to add or keep as voters (participants).
    pub voters: BTreeMap<NodeId, CorralNode>,
    /// Members to add or keep as learners (observers).
    pub learners: BTreeMap<NodeId, CorralNode>,
    /// Members to remove.
    pub remove: BTreeSet<NodeId>,
}

/// Why a change was refused, as ZooKeeper's error codes put it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChangeError {
    #[error("this member is not the leader")]
    NotLeader,
    #[error("the change leaves no voter")]
    NoVoters,
    #[error("member {0} did not catch up with the leader in time")]
    NoQuorum(NodeId),
    #[error("another membership change is in progress")]
    InProgress,
    #[error("{0}")]
    Failed(String),
}

impl RaftNode {
    /// Carries out `change` on this member, which must lead. Returns the log index of the
    /// membership in force afterwards (the configuration's version).
    pub async fn change_membership(&self, change: MembershipChange) -> Result<u64, ChangeError> {
        let status = self.status().get();
        if status.leader != Some(self.id()) {
            return Err(ChangeError::NotLeader);
        }
        let mut voters: BTreeSet<NodeId> = status.voters.keys().copied().collect();
        voters.extend(change.voters.keys());
        for id in change.learners.keys().chain(change.remove.iter()) {
            voters.remove(id);
        }
        if voters.is_empty() {
            return Err(ChangeError::NoVoters);
        }
        let known: BTreeSet<NodeId> = status
            .voters
            .keys()
            .chain(status.learners.keys())
            .copied()
            .collect();
        let joining: Vec<(NodeId, CorralNode)> = change
            .voters
            .iter()
            .chain(change.learners.iter())
            .filter(|(id, _)| !known.contains(id))
            .map(|(id, n)| (*id, n.clone()))
            .collect();
        for (id, node) in &joining {
            tracing::info!(id, %node, "reconfig: adding member as a learner");
            self.raft
                .add_learner(*id, node.clone(), false)
                .await
                .map_err(failed)?;
        }
        for (id, _) in change
            .voters
            .iter()
            .filter(|(id, _)| !status.voters.contains_key(id))
        {
            self.wait_caught_up(*id).await?;
        }
        let old_voters: BTreeSet<NodeId> = status.voters.keys().copied().collect();
        if voters != old_voters {
            tracing::info!(?voters, "reconfig: changing the voters (joint consensus)");
            self.raft
                .change_membership(ChangeMembers::ReplaceAllVoters(voters), false)
                .await
                .map_err(failed)?;
        }
        let stale_learners: BTreeSet<NodeId> = change
            .remove
            .iter()
            .filter(|id| self.status().get().learners.contains_key(id))
            .copied()
            .collect();
        if !stale_learners.is_empty() {
            tracing::info!(?stale_learners, "reconfig: removing observers");
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(stale_learners), false)
                .await
                .map_err(failed)?;
        }
        Ok(self.status().get().membership_index)
    }

    /// Runs a change another member sent (`corral_peer::Kind::Reconfig`); the answer is
    /// read by [`decode_answer`].
    pub async fn handle_change(&self, body: &[u8]) -> Vec<u8> {
        let answer = match postcard::from_bytes::<MembershipChange>(body) {
            Ok(change) => self.change_membership(change).await,
            Err(e) => Err(ChangeError::Failed(format!(
                "unreadable reconfig request: {e}"
            ))),
        };
        postcard::to_stdvec(&answer).expect("postcard encodes into a Vec")
    }

    async fn wait_caught_up(&self, id: NodeId) -> Result<(), ChangeError> {
        let began = Instant::now();
        let status = self.status();
        loop {
            let st = status.get();
            if st.leader != Some(self.id()) {
                return Err(ChangeError::NotLeader);
            }
            let matched = st.matched.get(&id).copied().unwrap_or(0);
            if matched + CAUGHT_UP_LAG >= st.last_log_index && matched > 0 {
                return Ok(());
            }
            if began.elapsed() > CATCH_UP_TIMEOUT {
                return Err(ChangeError::NoQuorum(id));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn failed<E: std::fmt::Display>(e: E) -> ChangeError {
    let text = e.to_string();
    if text.contains("in progress") || text.contains("InProgress") {
        ChangeError::InProgress
    } else if text.contains("forward") || text.contains("ForwardToLeader") {
        ChangeError::NotLeader
    } else {
        ChangeError::Failed(text)
    }
}

/// The bytes of a change sent to the leader.
pub fn encode_change(change: &MembershipChange) -> Vec<u8> {
    postcard::to_stdvec(change).expect("postcard encodes into a Vec")
}

/// The leader's answer to a change, as [`RaftNode::handle_change`] encoded it.
pub fn decode_answer(bytes: &[u8]) -> Result<u64, ChangeError> {
    postcard::from_bytes::<Result<u64, ChangeError>>(bytes).unwrap_or_else(|e| {
        Err(ChangeError::Failed(format!(
            "unreadable reconfig answer: {e}"
        )))
    })
}
