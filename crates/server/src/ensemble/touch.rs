//! Session touches: a follower or observer tells the leader, once a tick, which sessions it
//! heard from, so that the leader (which alone expires sessions) keeps them alive. Lost
//! touches cost nothing but a later expiry check: the next tick sends again.

use std::time::Duration;

use corral_peer::Kind;
use corral_raft::RaftNode;
use tokio::sync::mpsc;

use super::peers::Peers;

const TOUCH_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn run(node: RaftNode, peers: Peers, mut ids: mpsc::UnboundedReceiver<Vec<i64>>) {
    let status = node.status();
    while let Some(batch) = ids.recv().await {
        let st = status.get();
        let Some(leader) = st.leader.filter(|&l| l != st.id) else {
            continue;
        };
        let Some(addr) = st.leader_node().map(|n| n.peer_addr.clone()) else {
            continue;
        };
        let client = peers.client(leader, &addr);
        let body = encode_ids(&batch);
        tokio::spawn(async move {
            if let Err(e) = client.call(Kind::Touch, body, TOUCH_TIMEOUT).await {
                tracing::debug!("session touches to member {leader} lost: {e}");
            }
        });
    }
}

pub fn encode_ids(ids: &[i64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
}

pub fn decode_ids(bytes: &[u8]) -> Result<Vec<i64>, String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!("session touch of {} bytes", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}
