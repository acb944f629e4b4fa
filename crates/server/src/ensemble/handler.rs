//! What this member's peer port answers.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use corral_peer::{Handler, Kind, Pending};
use corral_raft::RaftNode;
use tokio::sync::mpsc;

use super::role::LeaderContact;
use super::touch::decode_ids;
use crate::pipeline::CoreMsg;

pub struct PeerHandler {
    pub node: RaftNode,
    pub core: mpsc::Sender<CoreMsg>,
    pub contact: LeaderContact,
}

/// After the leader's connection ends, how long to wait for it to come back (openraft
/// re-dials when it rebuilds a replication stream) before taking it for dead.
const LEADER_GONE_GRACE: Duration = Duration::from_millis(150);
/// Added per voter rank, so that the survivors do not all stand at once.
const LEADER_GONE_RANK_STEP: Duration = Duration::from_millis(100);

fn ready(result: Result<Vec<u8>, String>) -> Pending {
    Box::pin(async move { result })
}

// The outer future is the in-order part, the inner one (`Pending`) is awaited apart: that
// an async block yields a future is the point here.
#[allow(clippy::async_yields_async)]
impl Handler for PeerHandler {
    fn handle<'a>(
        &'a self,
        from: u64,
        kind: Kind,
        body: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Pending> + Send + 'a>> {
        Box::pin(async move {
            match kind {
                Kind::AppendEntries | Kind::Vote | Kind::InstallSnapshot => {
                    if kind != Kind::Vote {
                        // Only a leader sends these; heartbeats included.
                        self.contact.heard();
                    }
                    let node = self.node.clone();
                    Box::pin(async move { node.handle_rpc(kind, &body).await }) as Pending
                }
                Kind::Forward => {
                    // Handed to Raft here, in arrival order; the commit is awaited apart.
                    match self.node.propose_encoded(body).await {
                        Ok(applied) => {
                            Box::pin(async move { applied.wait().await.map(|()| Vec::new()) })
                                as Pending
                        }
                        Err(e) => ready(Err(e.to_string())),
                    }
                }
                Kind::Initialized => ready(Ok(vec![self.node.formation().await as u8])),
                Kind::Reconfig => {
                    let node = self.node.clone();
                    Box::pin(async move { Ok(node.handle_change(&body).await) }) as Pending
                }
                Kind::Touch => match decode_ids(&body) {
                    Ok(ids) => {
                        let _ = self.core.send(CoreMsg::Touch(ids)).await;
                        ready(Ok(Vec::new()))
                    }
                    Err(why) => {
                        tracing::warn!("member {from} sent a bad session touch: {why}");
                        ready(Err(why))
                    }
                },
            }
        })
    }

    /// The leader's connection ended. A killed leader's sockets close at once, long before
    /// an election timeout would notice its silence (ZooKeeper's followers react to that
    /// too), so stand for election if it stays silent for a short grace — staggered by rank.
    fn closed(&self, from: u64) {
        let st = self.node.status().get();
        if st.leader != Some(from) || from == st.id || !st.voters.contains_key(&st.id) {
            return;
        }
        let rank = st
            .voters
            .keys()
            .filter(|&&id| id != from)
            .position(|&id| id == st.id)
            .unwrap_or(0) as u32;
        let wait = LEADER_GONE_GRACE + LEADER_GONE_RANK_STEP * rank;
        let node = self.node.clone();
        let contact = self.contact.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let st = node.status().get();
            let silent = contact.since().is_none_or(|since| since >= wait);
            if st.leader == Some(from) && silent {
                tracing::info!(
                    "leader {from} closed its connection and is silent for {wait:?}: standing \
                     for election"
                );
                node.elect().await;
            }
        });
    }
}
