//! A Raft member as the server sees it: start it on its log and snapshot directories, wait
//! until it leads and has applied its log, hand it payloads to commit. openraft stays inside.
//!
//! Start-up order (recovery):
//! 1. The server loads the newest valid snapshot into its tree and passes its `raft_meta`.
//! 2. The log opens (a torn tail is cut off there). If it was purged past the snapshot, the
//!    entries between are gone: start fails and says so, rather than serve a state with a hole.
//! 3. openraft re-applies the log after the snapshot; a one-member group that was never
//!    initialized is initialized (once: the log then holds the membership).
//! 4. [`RaftNode::wait_ready`] returns once this member leads and has applied every entry it
//!    had, so clients never see a state older than one they were told about.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::storage::RaftLogStorage;
use openraft::{Raft, ServerState, SnapshotPolicy};
use tokio::sync::mpsc;

use crate::log_store::{LogStore, LogStoreConfig};
use crate::network::{NoPeers, PeerNetwork};
use crate::schedule::SnapshotSchedule;
use crate::snapshot_store::{RaftMeta, SnapshotStore};
use crate::state_machine::{SmEvent, StateMachine};
use crate::types::{CorralNode, NodeId, TypeConfig};

/// ZooKeeper's `snapCount` default.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This member's id (zoo.cfg's myid; 1 for a standalone server).
    pub id: NodeId,
    pub node: CorralNode,
    /// The members of an ensemble; `None` for a standalone server.
    pub ensemble: Option<EnsembleConfig>,
    pub log: LogStoreConfig,
    pub snapshot_dir: PathBuf,
    /// Txns between snapshots (zoo.cfg `snapCount`; each time a number in
    /// `[snapCount / 2 + 1, snapCount]`, as ZooKeeper).
    pub snap_count: u64,
    /// Snapshot files kept (zoo.cfg `autopurge.snapRetainCount`, at least 3).
    pub snap_retain_count: usize,
}

/// An ensemble as zoo.cfg's `server.N` lines give it.
#[derive(Debug, Clone)]
pub struct EnsembleConfig {
    /// Peers refuse connections that name another cluster.
    pub cluster: String,
    /// Plaintext or TLS between members (`sslQuorum`).
    pub security: corral_peer::Security,
    /// Participants (`server.N=…[:participant]`): they vote.
    pub voters: BTreeMap<NodeId, CorralNode>,
    /// Observers (`server.N=…:observer`): Raft learners, added by the first leader.
    pub learners: BTreeMap<NodeId, CorralNode>,
}

/// What the server recovered from its newest valid snapshot.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// The snapshot header's `raft_meta` bytes.
    pub raft_meta: Vec<u8>,
    /// The snapshot's last zxid (where a snapshot made outside Raft leaves the log to start).
    pub last_zxid: i64,
    pub path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot open the raft log in {dir}: {source}")]
    OpenLog {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the snapshot's raft metadata is unreadable: {0}")]
    Meta(String),
    #[error(
        "the raft log in {dir} starts after index {purged}, but the newest readable snapshot \
         ends at index {snapshot}: entries in between are lost (were newer snapshots skipped \
         as corrupt?); refusing to start with a hole in committed data"
    )]
    Gap {
        dir: PathBuf,
        purged: u64,
        snapshot: u64,
    },
    #[error("raft: {0}")]
    Raft(String),
}

/// A running Raft member.
#[derive(Clone)]
pub struct RaftNode {
    id: NodeId,
    /// A voter that lost its data (or never had any) while the group exists: it has
    /// forgotten its votes and its log, so until a leader has given it a log it neither
    /// grants a vote (it could vote twice in one term) nor stands.
    rejoining: Arc<AtomicBool>,
    pub(crate) raft: Raft<TypeConfig>,
}

impl RaftNode {
    /// Opens the log, starts openraft, and on a first start initializes the group: a
    /// one-member group, or an ensemble's voters (every voter does it with the same
    /// membership, which openraft allows; later starts find it in the log and skip it).
    /// Committed entries and snapshot requests arrive on `events`, which must be drained.
    pub async fn start(
        cfg: NodeConfig,
        recovered: Recovered,
        events: mpsc::UnboundedSender<SmEvent>,
    ) -> Result<RaftNode, NodeError> {
        let outside_raft = recovered.raft_meta.is_empty();
        let meta = if outside_raft {
            RaftMeta::outside_raft(recovered.last_zxid, cfg.id, cfg.node.clone())
        } else {
            RaftMeta::decode(&recovered.raft_meta).map_err(NodeError::Meta)?
        };
        let mut log = LogStore::open(&cfg.log).map_err(|source| NodeError::OpenLog {
            dir: cfg.log.dir.clone(),
            source,
        })?;
        let state = log
            .get_log_state()
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))?;
        let purged = state.last_purged_log_id.map_or(0, |id| id.index);
        let snapshot = meta.last_log_id.map_or(0, |id| id.index);
        if state.last_purged_log_id.is_some() && purged > snapshot {
            return Err(NodeError::Gap {
                dir: cfg.log.dir.clone(),
                purged,
                snapshot,
            });
        }

        // Nothing writes snapshots yet: what a crash left half-written can go.
        match corral_datatree::snapshot::remove_leftovers(&cfg.snapshot_dir) {
            Ok(removed) => {
                for path in removed {
                    tracing::info!(file = %path.display(), "unfinished snapshot file removed");
                }
            }
            Err(e) => tracing::warn!("removing unfinished snapshot files failed: {e}"),
        }
        let (purge_tx, mut purge_rx) = mpsc::unbounded_channel();
        let store = SnapshotStore::new(
            cfg.snapshot_dir.clone(),
            cfg.snap_retain_count,
            recovered.path,
            purge_tx,
            cfg.log.timings.clone(),
        );
        if outside_raft {
            store.set_outside_raft(meta.clone());
        }
        let (snapshot_tx, mut snapshot_rx) = mpsc::unbounded_channel();
        let schedule = SnapshotSchedule::new(cfg.snap_count, snapshot_tx);
        let sm = StateMachine::new(Some(meta), events, store, schedule);
        let raft = match &cfg.ensemble {
            None => Raft::new(cfg.id, raft_config(None)?, NoPeers, log, sm).await,
            Some(ensemble) => {
                let network = PeerNetwork {
                    cluster: ensemble.cluster.clone(),
                    me: cfg.id,
                    security: ensemble.security.clone(),
                };
                let rank = ensemble.voters.keys().position(|&id| id == cfg.id);
                Raft::new(cfg.id, raft_config(Some(rank))?, network, log, sm).await
            }
        }
        .map_err(|e| NodeError::Raft(e.to_string()))?;
        // The snapshot store asks for purges; openraft's own purge is off (see raft_config).
        let purger = raft.clone();
        tokio::spawn(async move {
            while let Some(upto) = purge_rx.recv().await {
                if purger.trigger().purge_log(upto).await.is_err() {
                    return; // raft stopped
                }
            }
        });

        // The state machine's schedule asks for snapshots; openraft's own policy is off.
        let snapshotter = raft.clone();
        tokio::spawn(async move {
            while snapshot_rx.recv().await.is_some() {
                // Requests that queued up meanwhile ask for the same snapshot.
                while snapshot_rx.try_recv().is_ok() {}
                if snapshotter.trigger().snapshot().await.is_err() {
                    return; // raft stopped
                }
            }
        });

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))?;
        let mut rejoining = false;
        let members = match &cfg.ensemble {
            None => Some(BTreeMap::from([(cfg.id, cfg.node.clone())])),
            // An observer waits to be added by a leader.
            Some(e) if !e.voters.contains_key(&cfg.id) => None,
            // So does a member joining a running ensemble (or one that lost its data): the
            // group exists, and its leader brings this member in.
            Some(e) if !initialized => match group_formation(cfg.id, e).await {
                Formation::None => Some(e.voters.clone()),
                formation => {
                    tracing::info!(
                        id = cfg.id,
                        "the ensemble is already formed: waiting for its leader to bring this \
                         member in"
                    );
                    // Votes were cast before: this member may have cast some and forgotten.
                    rejoining = formation == Formation::Led && e.voters.contains_key(&cfg.id);
                    None
                }
            },
            Some(e) => Some(e.voters.clone()),
        };
        if let (false, Some(members)) = (initialized, members) {
            tracing::info!(
                id = cfg.id,
                voters = ?members.keys().collect::<Vec<_>>(),
                "initializing the raft group"
            );
            if let Err(e) = raft.initialize(members).await {
                // Another voter's initialization reached us first: the same membership.
                tracing::info!("raft group already initialized: {e}");
            }
        }
        if cfg.ensemble.is_none() && initialized {
            // The only voter of its group need not wait out an election timeout (up to
            // 300 ms) before it leads again: every restart would take that much longer.
            if let Err(e) = raft.trigger().elect().await {
                tracing::warn!("standing for election at once failed (the timeout will): {e}");
            }
        }
        let node = RaftNode {
            id: cfg.id,
            rejoining: Arc::new(AtomicBool::new(rejoining)),
            raft,
        };
        if rejoining {
            node.abstain_until_caught_up();
        }
        if let Some(ensemble) = cfg.ensemble {
            tokio::spawn(crate::watchdog::run(node.raft.clone(), cfg.id, ensemble));
        }
        Ok(node)
    }

    /// For a rejoining voter (see `rejoining`): no elections until a leader has sent it a
    /// log or a snapshot, then a vote and a candidacy like any member.
    fn abstain_until_caught_up(&self) {
        self.raft.runtime_config().elect(false);
        let raft = self.raft.clone();
        let rejoining = self.rejoining.clone();
        tokio::spawn(async move {
            // Bounded: should no leader ever come (the others lost too), standing beats
            // waiting forever.
            let caught_up = raft
                .wait(Some(REJOIN_PATIENCE))
                .metrics(
                    |m| m.last_log_index.is_some() || m.snapshot.is_some(),
                    "a log from the leader",
                )
                .await;
            match caught_up {
                Ok(_) => tracing::info!("caught up from the leader: this member votes again"),
                Err(openraft::metrics::WaitError::Timeout(..)) => tracing::warn!(
                    "no leader brought this member in within {REJOIN_PATIENCE:?}: it votes \
                     and stands again"
                ),
                Err(_) => return, // shut down
            }
            rejoining.store(false, Ordering::Release);
            raft.runtime_config().elect(true);
        });
    }

    /// Waits until this member leads and has applied every entry in its log.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), NodeError> {
        let id = self.id;
        self.raft
            .wait(Some(timeout))
            .metrics(
                |m| {
                    m.state == ServerState::Leader
                        && m.current_leader == Some(id)
                        && m.last_applied.map(|l| l.index) >= m.last_log_index
                },
                "leading and applied",
            )
            .await
            .map(|_| ())
            .map_err(|e| NodeError::Raft(e.to_string()))
    }

    /// Hands a batch of payloads to the log as one entry (see [`crate::batch`]) without
    /// waiting for it: batches handed over in order are logged in that order, and their items
    /// come back on the event channel once committed. The returned handle resolves once the
    /// entry is applied; it must be kept until then (openraft warns of a dropped one). An
    /// error means this member stopped for good (a storage failure).
    pub async fn propose(&self, payloads: &[Vec<u8>]) -> Result<Applied, NodeError> {
        let batch = crate::batch::encode_batch(payloads);
        self.raft
            .client_write_ff(crate::types::LogPayload(batch))
            .await
            .map(|rx| Applied { rx })
            .map_err(|e| NodeError::Raft(e.to_string()))
    }

    /// Logs a batch another member forwarded (already encoded by `crate::batch`), like
    /// [`RaftNode::propose`]: batches handed over in order are logged in that order.
    pub async fn propose_encoded(&self, batch: Vec<u8>) -> Result<Applied, NodeError> {
        self.raft
            .client_write_ff(crate::types::LogPayload(batch))
            .await
            .map(|rx| Applied { rx })
            .map_err(|e| NodeError::Raft(e.to_string()))
    }

    /// Whether this member's log holds a membership (the group is formed, as far as this
    /// member knows).
    /// This member's answer to a starting member's `Kind::Initialized`.
    pub async fn formation(&self) -> Formation {
        if !self.raft.is_initialized().await.unwrap_or(false) {
            return Formation::None;
        }
        // A leader's first act is a blank entry after the initial membership (index 0).
        match self.raft.metrics().borrow().last_log_index {
            Some(i) if i > 0 => Formation::Led,
            _ if self.raft.metrics().borrow().snapshot.is_some() => Formation::Led,
            _ => Formation::Initialized,
        }
    }

    /// Stands for election now (the ensemble's fast reaction to a leader that went away).
    pub async fn elect(&self) {
        let _ = self.raft.trigger().elect().await;
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Raft's state now, and its changes.
    pub fn status(&self) -> crate::status::StatusWatch {
        crate::status::StatusWatch::new(self.raft.metrics())
    }

    /// Runs a Raft RPC another member sent (`corral_peer` kinds AppendEntries, Vote,
    /// InstallSnapshot) and encodes the answer for `network::PeerTarget`.
    pub async fn handle_rpc(
        &self,
        kind: corral_peer::Kind,
        body: &[u8],
    ) -> Result<Vec<u8>, String> {
        fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
            postcard::from_bytes(body).map_err(|e| format!("unreadable raft rpc: {e}"))
        }
        fn encode<T: serde::Serialize>(answer: &T) -> Vec<u8> {
            postcard::to_stdvec(answer).expect("postcard encodes into a Vec")
        }
        use corral_peer::Kind;
        Ok(match kind {
            Kind::AppendEntries => encode(&self.raft.append_entries(decode(body)?).await),
            Kind::Vote if self.rejoining.load(Ordering::Acquire) => {
                let req: openraft::raft::VoteRequest<NodeId> = decode(body)?;
                let refused: Result<_, openraft::error::RaftError<NodeId>> =
                    Ok(openraft::raft::VoteResponse {
                        vote: req.vote,
                        vote_granted: false,
                        last_log_id: None,
                    });
                encode(&refused)
            }
            Kind::Vote => encode(&self.raft.vote(decode(body)?).await),
            Kind::InstallSnapshot => encode(&self.raft.install_snapshot(decode(body)?).await),
            other => return Err(format!("{other:?} is not a raft rpc")),
        })
    }

    /// Resolves once this member has stopped for good, with why: openraft stops its core on
    /// a storage error (a log write failing with ENOSPC, say) and only reports it to requests
    /// made afterwards, so a server that is idle, or waiting on the write that failed, learns
    /// it here. Also resolves if the core task is gone (it panicked).
    pub async fn stopped(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            if let Err(fatal) = &metrics.borrow_and_update().running_state {
                return fatal.to_string();
            }
            if metrics.changed().await.is_err() {
                return "raft stopped".into();
            }
        }
    }

    /// Stops openraft's tasks.
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

/// How long a rejoining voter (see `RaftNode::rejoining`) waits for a leader before it takes
/// part in elections regardless.
const REJOIN_PATIENCE: Duration = Duration::from_secs(30);

/// How long a starting member waits for each other member to say whether the group exists.
const FORMED_ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// What a member knows of the group's history, as it answers `Kind::Initialized`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Formation {
    /// Not initialized (or did not answer).
    None = 0,
    /// Initialized, and no leader has written to the log yet.
    Initialized = 1,
    /// A leader has written to the log: votes have been cast and counted.
    Led = 2,
}

impl Formation {
    fn from_answer(answer: &[u8]) -> Formation {
        match answer {
            [1] => Formation::Initialized,
            [2] => Formation::Led,
            _ => Formation::None,
        }
    }
}

/// The most any other member says of the group. Members that do not answer (down, or
/// starting themselves) count as not initialized: at the very first start every voter then
/// initializes the same membership, which openraft allows.
async fn group_formation(me: NodeId, ensemble: &EnsembleConfig) -> Formation {
    // Asked all at once: a start waits at most one timeout, however many members are down.
    let asks: Vec<_> = ensemble
        .voters
        .iter()
        .chain(ensemble.learners.iter())
        .filter(|(id, _)| **id != me)
        .map(|(_, node)| {
            let client = corral_peer::PeerClient::new(
                &ensemble.cluster,
                me,
                &node.peer_addr,
                ensemble.security.clone(),
            );
            tokio::spawn(async move {
                let answer = client
                    .call(corral_peer::Kind::Initialized, vec![], FORMED_ASK_TIMEOUT)
                    .await;
                answer.map_or(Formation::None, |a| Formation::from_answer(&a))
            })
        })
        .collect();
    let mut most = Formation::None;
    for ask in asks {
        most = most.max(ask.await.unwrap_or(Formation::None));
    }
    most
}

/// Election windows of an ensemble: voter number `rank` (in id order) waits
/// `[BASE + rank * STEP, BASE + rank * STEP + WIDTH]` ms without a leader before it stands.
/// openraft 0.9 draws the timeout once per process and has no pre-vote, so equal windows
/// could split votes round after round; disjoint windows make the lowest live rank stand
/// first, alone.
const ELECTION_BASE_MS: u64 = 500;
const ELECTION_STEP_MS: u64 = 250;
const ELECTION_WIDTH_MS: u64 = 200;
/// Heartbeats keep followers from standing; well inside the smallest window.
pub const HEARTBEAT_MS: u64 = 100;

/// The longest any member waits without a leader before it stands (`voters` members).
pub fn election_timeout_max_ms(voters: usize) -> u64 {
    ELECTION_BASE_MS + voters.saturating_sub(1) as u64 * ELECTION_STEP_MS + ELECTION_WIDTH_MS
}

/// `ensemble`: `None` standalone; `Some(rank)` for a voter, `Some(None)` for an observer.
fn raft_config(ensemble: Option<Option<usize>>) -> Result<Arc<openraft::Config>, NodeError> {
    let (heartbeat, min, max) = match ensemble {
        // A one-member group elects itself after one timeout at start; keep it short.
        None => (50, 150, 300),
        Some(rank) => {
            let min = ELECTION_BASE_MS + rank.unwrap_or(0) as u64 * ELECTION_STEP_MS;
            (HEARTBEAT_MS, min, min + ELECTION_WIDTH_MS)
        }
    };
    let config = openraft::Config {
        cluster_name: "corral".into(),
        heartbeat_interval: heartbeat,
        election_timeout_min: min,
        election_timeout_max: max,
        // One entry is a batch of up to 4 MiB: bound what one AppendEntries carries.
        max_payload_entries: 64,
        // Snapshots follow txns, not entries (one entry is a batch): `SnapshotSchedule`.
        snapshot_policy: SnapshotPolicy::Never,
        // Purging is driven by the snapshot store (the log after the second newest snapshot
        // is kept), so openraft's own purge after each snapshot must keep everything.
        max_in_snapshot_log_to_keep: u64::MAX,
        ..openraft::Config::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|e| NodeError::Raft(e.to_string()))
}

/// The completion of one proposal (see [`RaftNode::propose`]).
pub struct Applied {
    rx: tokio::sync::oneshot::Receiver<openraft::raft::ClientWriteResult<TypeConfig>>,
}

impl Applied {
    /// Waits for the entry to be applied; `Err` says why it was not (this member is not the
    /// leader, or Raft stopped).
    pub async fn wait(self) -> Result<(), String> {
        match self.rx.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("raft stopped".into()),
        }
    }
}
