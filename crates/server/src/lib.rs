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
//! - [`tls`]: the secure client port's TLS (`ssl.*` keys, stores, the `x509` scheme).
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
pub mod tls;
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
    /// The plain client port; `None` when only `secureClientPort` is configured.
    listener: Option<TcpListener>,
    /// The secure client port (`secureClientPort`) and its TLS.
    secure: Option<(TcpListener, Arc<listener::SecurePort>)>,
    inbox: mpsc::Sender<pipeline::CoreMsg>,
    status: corral_raft::StatusWatch,
    /// Tells why the Raft log stopped (a storage failure), if it does.
    log_failed: oneshot::Receiver<String>,
    metrics: std::sync::Arc<metrics::ServerMetrics>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
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
        // A TLS setting that cannot work stops start-up before anything is recovered.
        let tls = match cfg.secure_client_port {
            Some(_) => Some(
                tls::acceptor::server_config(&cfg.client_tls, "ssl.", false)
                    .map_err(|why| StartError::Tls(format!("secureClientPort: {why}")))?,
            ),
            None => None,
        };
        let started = recovery::start(cfg.clone()).await?;
        let listener = match cfg.plain_client_port {
            true => Some(bind(SocketAddr::new(cfg.client_port_address, cfg.client_port)).await?),
            false => None,
        };
        let secure = match (cfg.secure_client_port, tls) {
            (Some(port), Some(tls)) => {
                let l = bind(SocketAddr::new(cfg.secure_client_port_address, port)).await?;
                let port = listener::SecurePort {
                    acceptor: tokio_rustls::TlsAcceptor::from(tls),
                    super_user: cfg.x509_super_user.clone(),
                };
                Some((l, Arc::new(port)))
            }
            _ => None,
        };
        Ok(Server {
            cfg,
            listener,
            secure,
            inbox: started.inbox,
            status: started.status,
            log_failed: started.log_failed,
            metrics: started.metrics,
        })
    }

    /// The plain client port's address, or the secure one's when there is no plain port.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match (&self.listener, &self.secure) {
            (Some(l), _) | (None, Some((l, _))) => l.local_addr(),
            (None, None) => unreachable!("a server has a plain or a secure client port"),
        }
    }

    /// The secure client port's address, if there is one.
    pub fn secure_local_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.secure.as_ref().map(|(l, _)| l.local_addr())
    }

    /// Serves until the process ends, or returns why it cannot go on (the log failed).
    pub async fn run(self) -> Result<(), String> {
        // As ZooKeeper's server: a frame longer than jute.maxbuffer closes the connection.
        let max_frame = self.cfg.jute_max_buffer_bytes;
        let client_addr = self
            .local_addr()
            .map_err(|e| format!("the client port's address: {e}"))?;
        let admin = admin::Admin {
            core: self.inbox.clone(),
            status: Arc::new(self.status),
            // The dashboard writes over the plain port (or fails, when there is none).
            client_addr: loopback_if_unspecified(client_addr),
            standalone: self.cfg.servers.is_empty(),
            dashboard: self.cfg.dashboard,
        };
        admin::start(&self.cfg, admin).await;
        let shared = listener::Shared {
            core: self.inbox,
            limits: listener::Limits {
                max_client_cnxns: self.cfg.max_client_cnxns,
                max_cnxns: self.cfg.max_cnxns,
                outstanding: outstanding::Outstanding::new(self.cfg.global_outstanding_limit),
                max_frame_bytes: max_frame,
            },
            metrics: self.metrics,
            next_conn: Arc::new(1.into()),
        };
        let plain = async {
            match self.listener {
                Some(l) => listener::run(l, shared.clone(), None).await,
                None => std::future::pending().await,
            }
        };
        let secure = async {
            match self.secure {
                Some((l, port)) => listener::run(l, shared.clone(), Some(port)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = plain => Ok(()),
            _ = secure => Ok(()),
            Ok(why) = self.log_failed => Err(format!("the raft log failed: {why}")),
        }
    }
}
