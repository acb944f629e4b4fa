//! The core: one task that owns the data tree, the sessions and the watches, and is the one
//! ordering point of this server. Requests pass through
//! `prep` (decode → Txn or read) → `propose` (to the log) → `commit` (apply, fire watches,
//! answer) → `reply` (encode), in the order their names say.
//!
//! Ordering rules kept here:
//! 1. Per session, replies leave in request order: a read waits in its session's FIFO while
//!    an earlier write of that session is uncommitted.
//! 2. Watch events are queued to connections as the write that fires them is applied, so an
//!    event always precedes the reply to any later request.
//! 3. A read and the watch it sets happen in one step, so no change falls between them.

mod commit;
mod connect;
mod prep;
pub mod propose;
mod quota_log;
mod read;
pub mod reconfig;
pub mod reply;
mod role;
mod sasl;
pub mod submit;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_datatree::DataTree;
use corral_jute::{ConnectRequest, Request};
use tokio::sync::{mpsc, oneshot};

use crate::auth::sasl::SaslServer;
use crate::config::Config;
use crate::disk::DiskGuard;
use crate::ensemble::role::RoleInfo;
use crate::metrics::ServerMetrics;
use crate::outbox::{Outbox, SendError};
use crate::session::{Registry, SessionTracker};
use crate::stats::ServerStats;
use crate::watch::{ConnId, WatchManager};
use corral_raft::SmEvent;
use propose::Proposer;

/// What connections tell the core.
pub enum CoreMsg {
    /// The handshake of a new connection.
    Connect { outbox: Outbox, req: ConnectRequest },
    Request {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    /// A request this server cannot run (an unknown op code): answer `Unimplemented` in
    /// FIFO order; the connection closes after it.
    Refuse { conn: ConnId, xid: i32 },
    /// The connection is gone (either side closed it), and why.
    Closed { conn: ConnId, why: String },
    /// A four-letter word; the answer is the text to send back.
    FourLetter {
        word: String,
        /// The connection asking, which ZooKeeper lists among its connections.
        peer: std::net::SocketAddr,
        reply: oneshot::Sender<String>,
    },
    /// An admin-server or metrics request (`admin`); the answer is the HTTP response.
    Admin {
        query: crate::admin::Query,
        reply: oneshot::Sender<crate::admin::http::Response>,
    },
    /// The ensemble role changed (`ensemble::role`).
    Role(RoleInfo),
    /// Sessions another member heard from (the leader keeps them alive).
    Touch(Vec<i64>),
    /// Entries proposed under this proposer id may or may not commit (`submit`).
    WritesLost { proposer: u64 },
    /// The leader decided a reconfig (`ensemble::reconfig`).
    Reconfigured {
        session_id: i64,
        proposer: u64,
        outcome: crate::ensemble::reconfig::Outcome,
    },
}

/// The server id a standalone ZooKeeper puts in the top byte of its session ids.
const STANDALONE_SERVER_ID: u64 = 1;

/// What an ensemble member's core knows of its ensemble.
pub struct EnsembleState {
    pub my_id: u64,
    pub role: RoleInfo,
    /// Sessions heard from since the last tick, for the leader (followers only).
    pub touched: HashSet<i64>,
    pub touches: mpsc::UnboundedSender<Vec<i64>>,
    /// Reconfig requests, for the task that has the leader carry them out.
    pub reconfigs: mpsc::UnboundedSender<crate::ensemble::reconfig::Job>,
}

/// Messages the core handles before it looks at timers and commits again.
const MAX_MESSAGES_PER_TURN: usize = 256;

pub struct Core {
    pub(crate) cfg: Arc<Config>,
    pub(crate) tree: DataTree,
    log: Proposer,
    disk: DiskGuard,
    pub(crate) registry: Registry,
    pub(crate) tracker: SessionTracker,
    pub(crate) watches: WatchManager,
    pub(crate) stats: ServerStats,
    /// ZooKeeper's `ServerMetrics`, shared with the tasks that measure outside the core.
    pub(crate) metrics: Arc<ServerMetrics>,
    next_session_id: i64,
    /// Containers and TTL nodes whose removal is proposed and not yet applied.
    removals_in_flight: HashSet<String>,
    /// `None` for a standalone server.
    pub(crate) ensemble: Option<EnsembleState>,
    /// The connection a four-letter word is being answered on, while it is: ZooKeeper counts
    /// it among its connections (`Connections:`, `cons`, `dump`, `zk_num_alive_connections`).
    pub(crate) asking: Option<std::net::SocketAddr>,
    /// The users SASL logins are checked against; `None` without a JAAS file.
    sasl: Option<Arc<SaslServer>>,
    quota_log: quota_log::QuotaLog,
}

impl Core {
    /// A core over a recovered tree. Sessions found in it live on with fresh timeouts, as in
    /// ZooKeeper after a restart: their clients have that long to reconnect.
    pub fn new(
        cfg: Arc<Config>,
        mut tree: DataTree,
        log: Proposer,
        disk: DiskGuard,
        ensemble: Option<EnsembleState>,
        metrics: Arc<ServerMetrics>,
    ) -> Core {
        tree.set_extended_types_enabled(cfg.extended_types_enabled);
        tree.set_enforce_quota(cfg.enforce_quota);
        let now_ms = wall_clock_ms();
        // ZooKeeper's scheme: the low 40 bits of the clock in the middle, the server id on
        // top (1 for a standalone server, so ids read 0x01…), so members never collide.
        let server_id = ensemble.as_ref().map_or(STANDALONE_SERVER_ID, |e| e.my_id) & 0xff;
        let next_session_id = (((now_ms << 24) as u64 >> 8) | (server_id << 56)) as i64;
        let mut core = Core {
            tracker: SessionTracker::new(cfg.tick_time_ms),
            cfg,
            tree,
            log,
            disk,
            registry: Registry::default(),
            watches: WatchManager::default(),
            stats: ServerStats::new(),
            metrics,
            next_session_id,
            removals_in_flight: HashSet::new(),
            ensemble,
            asking: None,
            sasl: None,
            quota_log: quota_log::QuotaLog::default(),
        };
        for session_id in core.tree.session_ids() {
            core.adopt_session(session_id);
        }
        core
    }

    /// Turns SASL logins on, with `server`'s users.
    pub fn set_sasl(&mut self, server: Option<Arc<SaslServer>>) {
        self.sasl = server;
    }

    /// Runs until every sender of `inbox` is gone.
    pub async fn run(
        mut self,
        mut inbox: mpsc::Receiver<CoreMsg>,
        mut events: mpsc::UnboundedReceiver<SmEvent>,
    ) {
        let tick = Duration::from_millis(self.cfg.tick_time_ms as u64);
        let mut expiry = tokio::time::interval(tick);
        let mut removals = tokio::time::interval(Duration::from_millis(
            self.cfg.container_check_interval_ms.max(1),
        ));
        loop {
            tokio::select! {
                biased;
                Some(event) = events.recv() => self.state_machine_event(event),
                msg = inbox.recv() => {
                    let Some(msg) = msg else { return };
                    self.handle(msg);
                    for _ in 0..MAX_MESSAGES_PER_TURN {
                        match inbox.try_recv() {
                            Ok(msg) => self.handle(msg),
                            Err(_) => break,
                        }
                    }
                }
                _ = expiry.tick() => self.tick(),
                _ = removals.tick() => {
                    if self.leads() {
                        self.remove_expired_nodes()
                    }
                }
            }
        }
    }

    fn handle(&mut self, msg: CoreMsg) {
        match msg {
            CoreMsg::Connect { outbox, req } => self.connect(outbox, req),
            CoreMsg::Request {
                conn,
                xid,
                req,
                received,
            } => self.request(conn, xid, req, received),
            CoreMsg::Refuse { conn, xid } => self.refuse(conn, xid),
            CoreMsg::Closed { conn, why } => {
                if let Some(c) = self.registry.remove_conn(conn) {
                    let peer = c.peer();
                    match c.session {
                        Some(id) => {
                            tracing::info!("closed connection from {peer} (session {id:#x}): {why}")
                        }
                        None => tracing::info!("closed connection from {peer}: {why}"),
                    }
                }
                self.watches.remove_conn(conn);
            }
            CoreMsg::FourLetter { word, peer, reply } => {
                self.asking = Some(peer);
                let _ = reply.send(self.four_letter(&word));
                self.asking = None;
            }
            CoreMsg::Admin { query, reply } => {
                let _ = reply.send(self.admin(query));
            }
            CoreMsg::Role(info) => self.role_changed(info),
            CoreMsg::Touch(ids) => self.touched_elsewhere(ids),
            CoreMsg::WritesLost { proposer } => self.writes_lost(proposer),
            CoreMsg::Reconfigured {
                session_id,
                proposer,
                outcome,
            } => self.reconfigured(session_id, proposer, outcome),
        }
    }

    /// Queues a frame for a connection; a connection that stopped reading is closed.
    fn send(&mut self, conn: ConnId, bytes: Vec<u8>, reply: bool) {
        let Some(c) = self.registry.conns.get_mut(&conn) else {
            return;
        };
        let len = bytes.len();
        match c.outbox.send(bytes, reply) {
            Ok(()) => {
                c.sent += 1;
                self.stats.sent += 1;
                if reply {
                    self.stats.client_response.record(len);
                    self.metrics.count("response_bytes", len as u64);
                } else {
                    self.metrics.count("watch_bytes", len as u64);
                }
            }
            Err(SendError::TooSlow) => {
                tracing::warn!(
                    "closing connection from {}: client is not reading ({} bytes queued)",
                    c.outbox.peer,
                    c.outbox.queued_bytes()
                );
                // Not `close`: that flushes first, and a client that does not read keeps the
                // writer blocked; `abort` drops what is queued and ends the connection.
                c.outbox.abort();
            }
            Err(SendError::Closed) => {}
        }
    }

    /// Counts a request's answer in the server's and its connection's figures, and in
    /// ZooKeeper's `updatelatency` (a write) or `readlatency` (anything else).
    fn replied(&mut self, conn: ConnId, zxid: i64, received: Instant, write: bool) {
        let latency = received.elapsed();
        self.stats.latency.record(latency);
        let summary = if write {
            "updatelatency"
        } else {
            "readlatency"
        };
        self.metrics.observe_ms(summary, latency);
        if let Some(c) = self.registry.conns.get_mut(&conn) {
            c.stats.latency.record(latency);
            c.stats.last_latency_ms = latency.as_millis() as u64;
            c.stats.last_zxid = zxid;
            c.stats.last_response_ms = wall_clock_ms();
        }
    }

    /// Hands an entry to the log, counting its bytes against the disk guard. Returns the
    /// proposer id it went under (what a FIFO marker for it must carry).
    fn propose(&mut self, entry: propose::Entry) -> u64 {
        let id = self.log.id();
        let bytes = self.log.propose(id, entry);
        self.disk.proposed(bytes);
        self.stats.proposal_sizes.record(bytes);
        id
    }

    /// Client connections, the one asking a four-letter word included.
    pub(crate) fn connection_count(&self) -> usize {
        self.registry.conn_count() + usize::from(self.asking.is_some())
    }

    fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.registry.conns.get(&conn) {
            c.outbox.close();
        }
    }
}

pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
