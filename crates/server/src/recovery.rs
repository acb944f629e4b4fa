//! Start-up: from the data directories to a core that has applied everything logged.
//!
//! 1. Load the newest snapshot in `<dataDir>/snapshots` that reads back valid; newer ones that
//!    do not are skipped with a log line naming the file and what is wrong.
//! 2. Start the core on that tree (its sessions get fresh timeouts).
//! 3. Start Raft on `<dataLogDir>/log`: the log opens (a torn tail is cut off with a log line;
//!    damage inside it fails the start, naming the file), openraft re-applies the entries after
//!    the snapshot through the core, and a first start initializes a one-member group.
//! 4. Return once this server leads and has applied its whole log.
//!
//! Nothing is served before step 4, so a client never reads a state older than one it saw.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_datatree::snapshot::load_newest_valid;
use corral_datatree::DataTree;
use corral_raft::{CorralNode, LogStoreConfig, NodeConfig, NodeError, RaftNode, Recovered};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::disk::DiskGuard;
use crate::limits;
use crate::pipeline::propose::{run_proposer, Proposer};
use crate::pipeline::{Core, CoreMsg};

/// Where snapshots live under dataDir, and the log under dataLogDir.
pub const SNAPSHOT_SUBDIR: &str = "snapshots";
pub const LOG_SUBDIR: &str = "log";

/// A standalone server is member 1 of its one-member group.
const STANDALONE_ID: u64 = 1;

/// How long replaying the log may take before start-up gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
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
}

/// A recovered, running core and log.
pub struct Started {
    pub inbox: mpsc::Sender<CoreMsg>,
    pub log_failed: oneshot::Receiver<String>,
}

pub async fn start(cfg: Arc<Config>) -> Result<Started, StartError> {
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

    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let proposer = Proposer::new(rand::random(), queue_tx);
    let disk = DiskGuard::new(
        vec![snapshot_dir.clone(), log_dir.clone()],
        cfg.min_free_disk_bytes,
    );
    let core = Core::new(cfg.clone(), tree, proposer, disk);
    let (inbox, inbox_rx) = mpsc::channel(limits::CORE_QUEUE_LEN);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    tokio::spawn(core.run(inbox_rx, events_rx));

    let mut log = LogStoreConfig::new(log_dir);
    log.force_sync = cfg.force_sync;
    let node_cfg = NodeConfig {
        id: STANDALONE_ID,
        node: CorralNode {
            peer_addr: String::new(),
            client_addr: SocketAddr::new(cfg.client_port_address, cfg.client_port).to_string(),
        },
        log,
        snapshot_dir,
        snap_count: cfg.snap_count,
        snap_retain_count: cfg.snap_retain_count,
    };
    let node = RaftNode::start_standalone(node_cfg, recovered, events_tx).await?;
    let (failed_tx, log_failed) = oneshot::channel();
    tokio::spawn(run_proposer(node.clone(), queue_rx));
    // Raft stops for good on a storage error; the server must stop too, even if no request
    // is waiting for it (the one that failed never gets an answer).
    tokio::spawn({
        let node = node.clone();
        async move {
            let _ = failed_tx.send(node.stopped().await);
        }
    });
    node.wait_ready(READY_TIMEOUT).await?;
    tracing::info!("recovered in {:?}", began.elapsed());
    Ok(Started { inbox, log_failed })
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
