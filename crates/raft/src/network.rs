//! The networks Raft talks through.
//!
//! - [`PeerNetwork`]: an ensemble's members, over `corral_peer` (RPC bodies in postcard).
//! - [`NoPeers`]: a one-member group has nobody to talk to, so every RPC reports the target
//!   unreachable. openraft never calls it while the membership has one voter; it exists
//!   because `Raft::new` needs a network.

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::types::{CorralNode, NodeId, TypeConfig};

#[derive(Clone, Copy, Default)]
pub struct NoPeers;

fn unreachable<E: std::error::Error>() -> RPCError<NodeId, CorralNode, E> {
    let e = std::io::Error::other("a standalone server has no peers");
    RPCError::Unreachable(Unreachable::new(&e))
}

impl RaftNetworkFactory<TypeConfig> for NoPeers {
    type Network = NoPeers;

    async fn new_client(&mut self, _target: NodeId, _node: &CorralNode) -> NoPeers {
        NoPeers
    }
}

impl RaftNetwork<TypeConfig> for NoPeers {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>>
    {
        Err(unreachable())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, CorralNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        Err(unreachable())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>> {
        Err(unreachable())
    }
}

/// The network of an ensemble: Raft RPCs as `corral_peer` requests, bodies in postcard.
/// The remote side answers with `Result<Response, RaftError>` so that errors openraft acts
/// on (a snapshot chunk out of order, say) arrive as what they are.
#[derive(Clone)]
pub struct PeerNetwork {
    pub cluster: String,
    pub me: NodeId,
    pub security: corral_peer::Security,
}

/// One target member.
pub struct PeerTarget {
    target: NodeId,
    client: corral_peer::PeerClient,
    /// Whether the last RPC got through: a change is logged once, not every retry.
    reachable: bool,
}

/// Retries to an unreachable member: from 100 ms, doubling, at most a second apart, so a
/// member that comes back is caught up quickly and a dead one costs little.
fn retry_pauses() -> impl Iterator<Item = std::time::Duration> + Send + 'static {
    (0..).map(|n: u32| std::time::Duration::from_millis((100u64 << n.min(4)).min(1000)))
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerTarget;

    async fn new_client(&mut self, target: NodeId, node: &CorralNode) -> PeerTarget {
        PeerTarget {
            target,
            client: corral_peer::PeerClient::new(
                &self.cluster,
                self.me,
                &node.peer_addr,
                self.security.clone(),
            ),
            reachable: true,
        }
    }
}

impl PeerTarget {
    async fn rpc<Req, Resp, E>(
        &mut self,
        kind: corral_peer::Kind,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, CorralNode, RaftError<NodeId, E>>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
        E: std::error::Error + serde::de::DeserializeOwned,
    {
        let body = postcard::to_stdvec(req).expect("postcard encodes into a Vec");
        let reply = self.client.call(kind, body, option.hard_ttl()).await;
        match (&reply, self.reachable) {
            (Err(e @ corral_peer::PeerError::Unreachable { .. }), true) => {
                tracing::warn!("member {} is unreachable: {e}", self.target);
                self.reachable = false;
            }
            (Ok(_), false) => {
                tracing::info!("member {} is reachable again", self.target);
                self.reachable = true;
            }
            _ => {}
        }
        let reply = reply.map_err(|e| match e {
            corral_peer::PeerError::Unreachable { .. } => {
                RPCError::Unreachable(Unreachable::new(&e))
            }
            other => RPCError::Network(openraft::error::NetworkError::new(&other)),
        })?;
        let decoded: Result<Resp, RaftError<NodeId, E>> = postcard::from_bytes(&reply)
            .map_err(|e| RPCError::Network(openraft::error::NetworkError::new(&e)))?;
        decoded
            .map_err(|e| RPCError::RemoteError(openraft::error::RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerTarget {
    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(retry_pauses())
    }
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>>
    {
        self.rpc(corral_peer::Kind::AppendEntries, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, CorralNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.rpc(corral_peer::Kind::InstallSnapshot, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>> {
        self.rpc(corral_peer::Kind::Vote, &rpc, &option).await
    }
}
