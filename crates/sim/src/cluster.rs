//! The simulated ensemble: its members' disks and incarnations, crashes and restarts, and the
//! watch on elections (at most one leader per term).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use corral_raft::CorralNode;
use openraft::ServerState;

use crate::disk::Disk;
use crate::network::{Endpoint, Network};
use crate::state_machine::StateMachine;
use crate::trace;
use crate::types::{NodeId, Raft};

/// openraft's timing for the simulation: corral's heartbeat, a short election window.
pub fn raft_config() -> Arc<openraft::Config> {
    let config = openraft::Config {
        cluster_name: "corral-sim".into(),
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        max_payload_entries: 64,
        // The simulated log is never purged, so nothing ever needs a snapshot.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: u64::MAX,
        ..openraft::Config::default()
    };
    Arc::new(config.validate().expect("a valid raft config"))
}

/// The members and what the simulation has seen of them.
pub struct Cluster {
    pub ids: Vec<NodeId>,
    pub net: Network,
    disks: BTreeMap<NodeId, Disk>,
    /// Each running incarnation's state machine (`None` while crashed).
    sms: Mutex<BTreeMap<NodeId, Option<StateMachine>>>,
    config: Arc<openraft::Config>,
    /// The leader seen in each term, and what broke the one-leader-per-term rule.
    leaders: Mutex<BTreeMap<u64, NodeId>>,
    pub violations: Mutex<Vec<String>>,
    /// The newest leader seen: where clients send first.
    leader_hint: Mutex<Option<NodeId>>,
}

impl Cluster {
    pub fn new(nodes: usize) -> Cluster {
        let ids: Vec<NodeId> = (1..=nodes as u64).collect();
        Cluster {
            disks: ids.iter().map(|&id| (id, Disk::default())).collect(),
            sms: Mutex::new(ids.iter().map(|&id| (id, None)).collect()),
            ids,
            net: Network::default(),
            config: raft_config(),
            leaders: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
            leader_hint: Mutex::new(None),
        }
    }

    pub fn members(&self) -> BTreeMap<NodeId, CorralNode> {
        self.ids
            .iter()
            .map(|&id| {
                let node = CorralNode {
                    peer_addr: format!("sim{id}:2888"),
                    client_addr: format!("sim{id}:2181"),
                };
                (id, node)
            })
            .collect()
    }

    /// Starts a new incarnation of `id` from what its disk holds.
    pub async fn start(self: &Arc<Self>, id: NodeId) {
        let log = self.disks[&id].open();
        let sm = StateMachine::default();
        let endpoint = Endpoint {
            net: self.net.clone(),
            me: id,
        };
        let raft = Raft::new(id, self.config.clone(), endpoint, log, sm.clone())
            .await
            .expect("raft starts on a simulated disk");
        // Set together, with no await between: a client sees a raft and its own state machine.
        self.sms.lock().expect("sms lock").insert(id, Some(sm));
        self.net.set_node(id, Some(raft.clone()));
        trace!("node {id} started");
        tokio::spawn(self.clone().watch_elections(id, raft));
    }

    /// Power loss at `id`: its disk keeps what was synced (and a seeded part of the rest).
    pub async fn crash(&self, id: NodeId) {
        let Some(raft) = self.net.node(id) else {
            return;
        };
        self.net.set_node(id, None);
        self.sms.lock().expect("sms lock").insert(id, None);
        let (kept, lost) = self.disks[&id].crash();
        trace!("node {id} crashed: {kept} unsynced writes kept, {lost} lost");
        let _ = raft.shutdown().await;
    }

    pub fn is_up(&self, id: NodeId) -> bool {
        self.net.node(id).is_some()
    }

    /// The running raft and state machine of `id`, of the same incarnation.
    pub fn node(&self, id: NodeId) -> Option<(Raft, StateMachine)> {
        let sm = self
            .sms
            .lock()
            .expect("sms lock")
            .get(&id)
            .cloned()
            .flatten()?;
        Some((self.net.node(id)?, sm))
    }

    pub fn leader_hint(&self) -> Option<NodeId> {
        *self.leader_hint.lock().expect("hint lock")
    }

    /// Records every term in which `id` leads; a second leader in one term is a violation.
    async fn watch_elections(self: Arc<Self>, id: NodeId, raft: Raft) {
        let mut rx = raft.metrics();
        let mut led = None;
        loop {
            let (state, term) = {
                let m = rx.borrow_and_update();
                (m.state, m.current_term)
            };
            if state == ServerState::Leader && led != Some(term) {
                led = Some(term);
                trace!("node {id} leads term {term}");
                *self.leader_hint.lock().expect("hint lock") = Some(id);
                let mut leaders = self.leaders.lock().expect("leaders lock");
                let first = *leaders.entry(term).or_insert(id);
                if first != id {
                    self.violations
                        .lock()
                        .expect("violations lock")
                        .push(format!(
                            "two leaders in term {term}: node {first} and node {id}"
                        ));
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
