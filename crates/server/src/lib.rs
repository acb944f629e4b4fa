//! What a ZooKeeper client talks to.
//!
//! - [`config`]: `zoo.cfg` parsing; [`limits`]: named bounds on queues and buffers.
//! - [`recovery`]: start-up: the newest valid snapshot, the Raft log replayed after it.
//! - [`disk`]: refuses writes while the disk is nearly full.
//! - [`listener`] accepts connections; [`connection`] reads frames and writes replies through
//!   an [`outbox`].
//! - [`pipeline`]: the core task, `prep → propose → commit → reply`, the one ordering point.
//! - [`session`]: deadlines (`tracker`) and live connections and sessions (`registry`).
//! - [`watch`]: who watches what, and the events they get.
//! - [`fourlw`]: four-letter words; [`stats`]: the counters they report (ZooKeeper's
//!   `ServerStats`); [`metrics`]: ZooKeeper's `ServerMetrics` (counters, summaries, the
//!   gauges the core computes), for `mntr` and Prometheus; [`javafmt`]: Java's number and
//!   date formats, which those outputs use.
//! - [`admin`]: the admin HTTP server (ZooKeeper's AdminServer commands in JSON, `/health`,
//!   `/ready`), the web dashboard and its JSON API, and Prometheus `/metrics`.
//! - [`auth`]: SASL (DIGEST-MD5 with a JAAS user list) for the `sasl` request.
//! - [`ensemble`]: zoo.cfg's `server.N` lines, the peer port's handler, this member's role
//!   and whether it serves, session touches for the leader.

pub mod admin;
pub mod auth;
pub mod config;
pub mod connection;
pub mod disk;
pub mod ensemble;
pub mod fourlw;
pub mod javafmt;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod outbox;
pub mod outstanding;
pub mod pipeline;
pub mod recovery;
pub mod session;
pub mod stats;
pub mod watch;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub use config::Config;
pub use recovery::StartError;

/// A recovered server with its client port bound, not yet accepting connections.
pub struct Server {
    cfg: Arc<Config>,
    listener: TcpListener,
    inbox: mpsc::Sender<pipeline::CoreMsg>,
    status: corral_raft::StatusWatch,
    /// Tells why the Raft log stopped (a storage failure), if it does.
    log_failed: oneshot::Receiver<String>,
    metrics: std::sync::Arc<metrics::ServerMetrics>,
}

/// Where a local client reaches a listener bound to `addr` (`0.0.0.0` is not dialable).
fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

impl Server {
    /// Recovers the data directories (snapshot, then the log after it), waits until every
    /// logged write is applied, and binds the client port.
    pub async fn bind(cfg: Config) -> Result<Server, StartError> {
        let cfg = Arc::new(cfg);
        let started = recovery::start(cfg.clone()).await?;
        let addr = SocketAddr::new(cfg.client_port_address, cfg.client_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Server {
            cfg,
            listener,
            inbox: started.inbox,
            status: started.status,
            log_failed: started.log_failed,
            metrics: started.metrics,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends, or returns why it cannot go on (the log failed).
    pub async fn run(self) -> Result<(), String> {
        // As ZooKeeper's server: a frame longer than jute.maxbuffer closes the connection.
        let max_frame = self.cfg.jute_max_buffer_bytes;
        let admin = admin::Admin {
            core: self.inbox.clone(),
            status: Arc::new(self.status),
            client_addr: loopback_if_unspecified(
                self.listener
                    .local_addr()
                    .map_err(|e| format!("the client port's address: {e}"))?,
            ),
            standalone: self.cfg.servers.is_empty(),
            dashboard: self.cfg.dashboard,
        };
        admin::start(&self.cfg, admin).await;
        let limits = listener::Limits {
            max_client_cnxns: self.cfg.max_client_cnxns,
            max_cnxns: self.cfg.max_cnxns,
            outstanding: outstanding::Outstanding::new(self.cfg.global_outstanding_limit),
            max_frame_bytes: max_frame,
        };
        let serve = listener::run(self.listener, self.inbox, limits, self.metrics);
        tokio::select! {
            _ = serve => Ok(()),
            Ok(why) = self.log_failed => Err(format!("the raft log failed: {why}")),
        }
    }
}
