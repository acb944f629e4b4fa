//! Start-up: from the data directories to a core that has applied everything logged.
//!
//! 1. Load the newest snapshot in `<dataDir>/snapshots` that reads back valid; newer ones that
//!    do not are skipped with a log line naming the file and what is wrong.
//! 2. Start the core on that tree (its sessions get fresh timeouts).
//! 3. Start Raft on `<dataLogDir>/log`: the log opens (a torn tail is cut off with a log line;
//!    damage inside it fails the start, naming the file), openraft re-applies the entries after
//!    the snapshot through the core, and a first start initializes a one-member group.
//! 4. Standalone: return once this server leads and has applied its whole log; nothing is
//!    served before, so a client never reads a state older than one it saw.
//!    Ensemble member: the peer port is bound before Raft starts (the others may be
//!    waiting for our vote); the client port then opens at once, but sessions are handed out
//!    only while `ensemble::role` says this member serves (it knows a leader with a quorum
//!    and has applied what its log held at start).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_datatree::snapshot::load_newest_valid;
use corral_datatree::DataTree;
use corral_raft::{
    CorralNode, EnsembleConfig, LogStoreConfig, NodeConfig, NodeError, RaftNode, Recovered, Timing,
    Timings,
};
use std::sync::atomic::AtomicU64;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::auth::sasl::SaslServer;
use crate::config::Config;
use crate::disk::DiskGuard;
use crate::ensemble::handler::PeerHandler;
use crate::ensemble::members::Member;
use crate::ensemble::peers::{Peers, CLUSTER};
use crate::ensemble::role::{self, LeaderContact, Mode, RoleInfo};
use crate::ensemble::{reconfig, touch};
use crate::limits;
use crate::metrics::ServerMetrics;
use crate::pipeline::propose::Proposer;
use crate::pipeline::submit::Submitter;
use crate::pipeline::{Core, CoreMsg, EnsembleState};

/// Where snapshots live under dataDir, and the log under dataLogDir.
pub const SNAPSHOT_SUBDIR: &str = "snapshots";
pub const LOG_SUBDIR: &str = "log";

/// A standalone server is member 1 of its one-member group.
const STANDALONE_ID: u64 = 1;

/// How long replaying the log may take before start-up gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("SASL: {0}")]
    Sasl(String),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the snapshot directory {path}: {source}")]
    Snapshots {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Raft(#[from] NodeError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for peers on {addr}: {source}")]
    BindPeer {
        addr: String,
        source: std::io::Error,
    },
    #[error("ensemble configuration: {0}")]
    Ensemble(String),
    #[error("TLS: {0}")]
    Tls(String),
}

/// A recovered, running core and log.
pub struct Started {
    pub inbox: mpsc::Sender<CoreMsg>,
    /// Raft's status, for the admin dashboard.
    pub status: corral_raft::StatusWatch,
    pub log_failed: oneshot::Receiver<String>,
    pub metrics: Arc<ServerMetrics>,
}

pub async fn start(cfg: Arc<Config>) -> Result<Started, StartError> {
    let ensemble = cfg.ensemble().map_err(StartError::Ensemble)?;
    let sasl = SaslServer::load(&cfg.sasl)
        .map_err(StartError::Sasl)?
        .map(Arc::new);
    if let Some(s) = &sasl {
        tracing::info!("SASL (DIGEST-MD5) enabled with {} users", s.user_count());
    }
    let snapshot_dir = cfg.data_dir.join(SNAPSHOT_SUBDIR);
    let log_dir = cfg.data_log_dir.join(LOG_SUBDIR);
    for dir in [&snapshot_dir, &log_dir] {
        std::fs::create_dir_all(dir).map_err(|source| StartError::Dir {
            path: dir.clone(),
            source,
        })?;
    }
    let began = Instant::now();
    let (tree, recovered) = load_snapshot(snapshot_dir.clone()).await?;
    let metrics = Arc::new(ServerMetrics::default());
    metrics.observe_ms("startup_snap_load_time", began.elapsed());

    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let proposer_id = Arc::new(AtomicU64::new(rand::random()));
    let proposer = Proposer::new(proposer_id.clone(), queue_tx);
    let disk = DiskGuard::new(
        vec![snapshot_dir.clone(), log_dir.clone()],
        cfg.min_free_disk_bytes,
    );
    let (touch_tx, touch_rx) = mpsc::unbounded_channel();
    let (reconfig_tx, reconfig_rx) = mpsc::unbounded_channel();
    let ensemble_state = ensemble.as_ref().map(|e| EnsembleState {
        my_id: e.my_id,
        role: RoleInfo {
            mode: if e.me().observer {
                Mode::Observer
            } else {
                Mode::Follower
            },
            leader: None,
            serving: false,
            followers: vec![],
        },
        touched: Default::default(),
        touches: touch_tx.clone(),
        reconfigs: reconfig_tx.clone(),
    });
    let mut core = Core::new(
        cfg.clone(),
        tree,
        proposer,
        disk,
        ensemble_state,
        metrics.clone(),
    );
    core.set_sasl(sasl);
    let (inbox, inbox_rx) = mpsc::channel(limits::CORE_QUEUE_LEN);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    tokio::spawn(core.run(inbox_rx, events_rx));

    let mut log = LogStoreConfig::new(log_dir);
    log.force_sync = cfg.force_sync;
    log.timings = Timings::new({
        let metrics = metrics.clone();
        move |what, took| match what {
            Timing::Fsync => metrics.fsynced(took),
            Timing::Snapshot => metrics.observe_ms("snapshottime", took),
        }
    });
    let client_addr = SocketAddr::new(cfg.client_port_address, cfg.client_port).to_string();
    // A quorum TLS setting that cannot work stops start-up before Raft starts.
    let security = crate::tls::quorum::security(&cfg)
        .map_err(|why| StartError::Tls(format!("sslQuorum: {why}")))?;
    let (id, node, raft_ensemble) = match &ensemble {
        None => (
            STANDALONE_ID,
            CorralNode {
                peer_addr: String::new(),
                client_addr,
            },
            None,
        ),
        Some(e) => {
            let node_of = |m: &Member| CorralNode {
                peer_addr: m.peer_addr(),
                client_addr: m.client_addr(),
            };
            let raft_ensemble = EnsembleConfig {
                cluster: CLUSTER.to_string(),
                security: security.clone(),
                voters: e.voters().map(|m| (m.id, node_of(m))).collect(),
                learners: e
                    .members
                    .values()
                    .filter(|m| m.observer)
                    .map(|m| (m.id, node_of(m)))
                    .collect(),
            };
            (e.my_id, node_of(e.me()), Some(raft_ensemble))
        }
    };
    // The peer port is bound before Raft starts: the others may be waiting for our vote.
    let peer_listener = match &ensemble {
        None => None,
        Some(e) => {
            let addr = e.me().peer_addr();
            let listener = TcpListener::bind(&addr)
                .await
                .map_err(|source| StartError::BindPeer { addr, source })?;
            Some(listener)
        }
    };
    let node_cfg = NodeConfig {
        id,
        node,
        ensemble: raft_ensemble,
        log,
        snapshot_dir,
        snap_count: cfg.snap_count,
        snap_retain_count: cfg.snap_retain_count,
    };
    let replay = Instant::now();
    let node = RaftNode::start(node_cfg, recovered, events_tx).await?;
    let (failed_tx, log_failed) = oneshot::channel();
    let peers = ensemble
        .as_ref()
        .map(|e| Peers::new(e.my_id, security.clone()));
    let submitter = Submitter {
        node: node.clone(),
        queue: queue_rx,
        held: Default::default(),
        current: proposer_id,
        peers: peers.clone(),
        core: inbox.clone(),
    };
    tokio::spawn(submitter.run());
    // Raft stops for good on a storage error; the server must stop too, even if no request
    // is waiting for it (the one that failed never gets an answer).
    tokio::spawn({
        let node = node.clone();
        async move {
            let _ = failed_tx.send(node.stopped().await);
        }
    });
    match (peer_listener, peers) {
        (Some(listener), Some(peers)) => {
            let contact = LeaderContact::new();
            let handler = Arc::new(PeerHandler {
                node: node.clone(),
                core: inbox.clone(),
                contact: contact.clone(),
            });
            tokio::spawn(corral_peer::serve(
                listener,
                CLUSTER.to_string(),
                handler,
                security,
            ));
            tokio::spawn(touch::run(node.clone(), peers.clone(), touch_rx));
            tokio::spawn(reconfig::run(
                node.clone(),
                peers,
                reconfig_rx,
                inbox.clone(),
            ));
            let at_start = node.status().get().last_log_index;
            tokio::spawn(role::watch(
                node.clone(),
                contact,
                inbox.clone(),
                at_start,
                metrics.clone(),
            ));
            tracing::info!(
                id,
                "ensemble member started in {:?}; serving once a leader has a quorum",
                began.elapsed()
            );
        }
        _ => {
            node.wait_ready(READY_TIMEOUT).await?;
            // ZooKeeper's: the log's txns after the snapshot re-applied, and the whole load.
            metrics.observe_ms("startup_txns_load_time", replay.elapsed());
            metrics.observe_ms("dbinittime", began.elapsed());
            tracing::info!("recovered in {:?}", began.elapsed());
        }
    }
    Ok(Started {
        inbox,
        status: node.status(),
        log_failed,
        metrics,
    })
}

async fn load_snapshot(dir: PathBuf) -> Result<(DataTree, Recovered), StartError> {
    let found = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || load_newest_valid(&dir)
    })
    .await
    .expect("loading a snapshot does not panic")
    .map_err(|source| StartError::Snapshots { path: dir, source })?;
    for skipped in &found.skipped {
        tracing::warn!(
            "snapshot {} is unreadable ({}); falling back to an older one",
            skipped.path.display(),
            skipped.error
        );
    }
    Ok(match found.loaded {
        Some(loaded) => {
            tracing::info!(
                file = %loaded.path.display(),
                nodes = loaded.tree.node_count(),
                sessions = loaded.tree.session_ids().len(),
                "snapshot loaded"
            );
            let recovered = Recovered {
                raft_meta: loaded.meta.raft_meta,
                last_zxid: loaded.meta.last_zxid,
                path: Some(loaded.path),
            };
            (loaded.tree, recovered)
        }
        None => (DataTree::new(), Recovered::default()),
    })
}
