//! The simulated ensemble: its members' disks and incarnations, crashes and restarts, the
//! watch on elections, and the log matching check.
//!
//! Election safety in openraft 0.9's terms: corral builds openraft without
//! `single-term-leader`, so a leader is named by its leader id, (term, node id), and two
//! nodes may both lead in one term (the higher node id's vote wins; their entries carry
//! different leader ids). What must hold is that one leader id never names two different
//! entries at one index: [`Cluster::check_log_matching`] compares every pair of logs. The
//! terms that had several leaders are traced and counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use corral_raft::CorralNode;
use openraft::ServerState;

use crate::disk::Disk;
use crate::network::{Endpoint, Network};
use crate::state_machine::StateMachine;
use crate::trace;
use crate::types::{LogId, NodeId, Raft};

/// Committed entries between two snapshots.
pub const SNAPSHOT_EVERY_ENTRIES: u64 = 40;

/// Entries kept in the log below a snapshot (openraft purges the rest).
pub const LOG_KEPT_AFTER_SNAPSHOT: u64 = 10;

/// Small chunks, so a snapshot takes several `install_snapshot` RPCs.
pub const SNAPSHOT_CHUNK_BYTES: u64 = 512;

/// openraft's timing for the simulation: corral's heartbeat, a short election window.
pub fn raft_config() -> Arc<openraft::Config> {
    let config = openraft::Config {
        cluster_name: "corral-sim".into(),
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        max_payload_entries: 64,
        // Snapshots and purges are frequent, so that lagging and restarted nodes catch up
        // from a snapshot (sent in chunks) rather than from the log alone.
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(SNAPSHOT_EVERY_ENTRIES),
        max_in_snapshot_log_to_keep: LOG_KEPT_AFTER_SNAPSHOT,
        purge_batch_size: 1,
        snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
        ..openraft::Config::default()
    };
    Arc::new(config.validate().expect("a valid raft config"))
}

/// A log as [`Disk::entries`] shows it.
type LogText = BTreeMap<u64, (LogId, String)>;

/// The members and what the simulation has seen of them.
pub struct Cluster {
    pub ids: Vec<NodeId>,
    pub net: Network,
    disks: BTreeMap<NodeId, Disk>,
    /// Each running incarnation's state machine (`None` while crashed).
    sms: Mutex<BTreeMap<NodeId, Option<StateMachine>>>,
    config: Arc<openraft::Config>,
    /// The leaders seen in each term.
    leaders: Mutex<BTreeMap<u64, BTreeSet<NodeId>>>,
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
        let sm = StateMachine::open(&self.disks[&id]);
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

    /// Terms in which more than one node led (allowed: see the module header).
    pub fn shared_terms(&self) -> usize {
        let leaders = self.leaders.lock().expect("leaders lock");
        leaders.values().filter(|l| l.len() > 1).count()
    }

    /// Log matching: an index holding the same log id on two nodes holds the same entry.
    pub fn check_log_matching(&self) -> Result<(), String> {
        let logs: Vec<(NodeId, LogText)> = self
            .ids
            .iter()
            .map(|&id| (id, self.disks[&id].entries()))
            .collect();
        for (i, (a, log_a)) in logs.iter().enumerate() {
            for (b, log_b) in &logs[i + 1..] {
                for (index, (id_a, entry_a)) in log_a {
                    if let Some((id_b, entry_b)) = log_b.get(index) {
                        if id_a == id_b && entry_a != entry_b {
                            return Err(format!(
                                "log id {id_a} names {entry_a} on node {a} and {entry_b} on node {b}"
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
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
                let in_term = leaders.entry(term).or_default();
                in_term.insert(id);
                if in_term.len() > 1 {
                    trace!("term {term} has leaders {in_term:?}");
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
