//! The simulated network: openraft's `RaftNetwork`, delivering each RPC by calling the target's
//! `Raft` handle in this process, after seeded delays, unless the message is lost.
//!
//! Fates of one RPC, each drawn from the seeded generator:
//! - the request is lost (a dropped packet, a cut link, a crashed target): the caller waits
//!   `RPC_TIMEOUT_MS` and gets a network error, as a real RPC would time out;
//! - it is delivered after `delay_ms` and the target handles it; the reply then travels back
//!   with its own delay and can be lost the same way (the request took effect, the caller does
//!   not know).
//!
//! Never duplicated, never reordered beyond what concurrent RPCs' delays allow. Errors are
//! always `RPCError::Network`, never `Unreachable`: openraft 0.9 backs off from an unreachable
//! node in a `tokio::select!` without `biased`, whose choice tokio randomizes outside our seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use corral_raft::CorralNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::runtime;
use crate::trace;
use crate::types::{NodeId, Raft, SimConfig};

/// How long a caller waits for a lost message before it gives up, in virtual milliseconds.
pub const RPC_TIMEOUT_MS: u64 = 100;

/// The network's weather, changed by the nemesis during a run.
#[derive(Debug, Clone, Copy)]
pub struct Weather {
    /// Chance that one message (request or reply) is lost.
    pub loss: f64,
    /// One-way delay, uniform in this range of virtual milliseconds.
    pub delay_ms: (u64, u64),
}

impl Weather {
    pub const CALM: Weather = Weather {
        loss: 0.0,
        delay_ms: (0, 2),
    };
}

#[derive(Default)]
struct State {
    /// Each member's running incarnation; `None` while crashed.
    nodes: BTreeMap<NodeId, Option<Raft>>,
    /// Links that carry nothing, as (from, to) pairs.
    cut: BTreeSet<(NodeId, NodeId)>,
    weather: Option<Weather>,
}

/// The whole network. Cheap to clone.
#[derive(Clone, Default)]
pub struct Network(Arc<Mutex<State>>);

impl Network {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("network lock poisoned")
    }

    /// `raft` is the running incarnation of `id`; `None` marks it crashed.
    pub fn set_node(&self, id: NodeId, raft: Option<Raft>) {
        self.lock().nodes.insert(id, raft);
    }

    pub fn node(&self, id: NodeId) -> Option<Raft> {
        self.lock().nodes.get(&id).cloned().flatten()
    }

    /// Cuts both directions between `a` and every node of `others`.
    pub fn isolate(&self, a: NodeId, others: &[NodeId]) {
        let mut s = self.lock();
        for &b in others {
            s.cut.insert((a, b));
            s.cut.insert((b, a));
        }
    }

    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    pub fn set_weather(&self, w: Weather) {
        self.lock().weather = Some(w);
    }

    /// The handle to call `to` with, if a message from `from` gets through now.
    fn deliverable(&self, from: NodeId, to: NodeId) -> Option<Raft> {
        let s = self.lock();
        if s.cut.contains(&(from, to)) {
            return None;
        }
        s.nodes.get(&to).cloned().flatten()
    }

    /// Draws whether the next message is lost and how long it travels.
    fn draw(&self) -> (bool, Duration) {
        let w = self.lock().weather.unwrap_or(Weather::CALM);
        let lost = w.loss > 0.0 && runtime::chance(w.loss);
        let ms = runtime::gen_range(w.delay_ms.0..=w.delay_ms.1);
        (lost, Duration::from_millis(ms))
    }

    /// Carries one RPC from `from` to `to` and its reply back. See the module header.
    async fn call<Req, Resp, E, F, Fut>(
        &self,
        from: NodeId,
        to: NodeId,
        kind: &str,
        req: Req,
        handle: F,
    ) -> Result<Resp, RPCError<NodeId, CorralNode, RaftError<NodeId, E>>>
    where
        F: FnOnce(Raft, Req) -> Fut,
        Fut: std::future::Future<Output = Result<Resp, RaftError<NodeId, E>>>,
        E: std::error::Error,
    {
        let timeout = Duration::from_millis(RPC_TIMEOUT_MS);
        let (lost, delay) = self.draw();
        if lost {
            trace!("net {kind} {from}->{to} request lost");
            return Err(timed_out(timeout).await);
        }
        tokio::time::sleep(delay).await;
        let Some(target) = self.deliverable(from, to) else {
            trace!("net {kind} {from}->{to} request undeliverable");
            return Err(timed_out(timeout.saturating_sub(delay)).await);
        };
        let reply = handle(target, req).await;
        let (lost, back) = self.draw();
        tokio::time::sleep(back).await;
        if lost || self.deliverable(to, from).is_none() {
            trace!("net {kind} {from}->{to} reply lost");
            return Err(timed_out(timeout.saturating_sub(delay + back)).await);
        }
        trace!("net {kind} {from}->{to} delivered");
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(to, e)))
    }
}

async fn timed_out<E: std::error::Error>(
    wait: Duration,
) -> RPCError<NodeId, CorralNode, RaftError<NodeId, E>> {
    tokio::time::sleep(wait).await;
    let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "simulated rpc timeout");
    RPCError::Network(NetworkError::new(&e))
}

/// One node's side of the network: what `Raft::new` takes.
#[derive(Clone)]
pub struct Endpoint {
    pub net: Network,
    pub me: NodeId,
}

/// A connection from `me` to `target`.
pub struct Link {
    net: Network,
    me: NodeId,
    target: NodeId,
}

impl RaftNetworkFactory<SimConfig> for Endpoint {
    type Network = Link;

    async fn new_client(&mut self, target: NodeId, _node: &CorralNode) -> Link {
        Link {
            net: self.net.clone(),
            me: self.me,
            target,
        }
    }
}

impl RaftNetwork<SimConfig> for Link {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<SimConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>>
    {
        let kind = if rpc.entries.is_empty() {
            "heartbeat"
        } else {
            "append"
        };
        self.net
            .call(self.me, self.target, kind, rpc, |raft, rpc| async move {
                raft.append_entries(rpc).await
            })
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<SimConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, CorralNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.net
            .call(
                self.me,
                self.target,
                "snapshot",
                rpc,
                |raft, rpc| async move { raft.install_snapshot(rpc).await },
            )
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, CorralNode, RaftError<NodeId>>> {
        self.net
            .call(self.me, self.target, "vote", rpc, |raft, rpc| async move {
                raft.vote(rpc).await
            })
            .await
    }
}
