//! What a ZooKeeper client talks to.
//!
//! - [`config`]: `zoo.cfg` parsing; [`limits`]: named bounds on queues and buffers.
//! - [`listener`] accepts connections; [`connection`] reads frames and writes replies through
//!   an [`outbox`].
//! - [`pipeline`]: the core task, `prep → propose → commit → reply`, the one ordering point.
//! - [`session`]: deadlines (`tracker`) and live connections and sessions (`registry`).
//! - [`watch`]: who watches what, and the events they get.
//! - [`fourlw`]: four-letter words; [`stats`]: the counters they report.

pub mod config;
pub mod connection;
pub mod fourlw;
pub mod limits;
pub mod listener;
pub mod outbox;
pub mod pipeline;
pub mod session;
pub mod stats;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub use config::Config;

/// A bound, not yet running, server.
pub struct Server {
    cfg: Arc<Config>,
    listener: TcpListener,
}

impl Server {
    /// Prepares the data directory and binds the client port.
    pub async fn bind(cfg: Config) -> std::io::Result<Server> {
        std::fs::create_dir_all(&cfg.data_dir)?;
        std::fs::create_dir_all(&cfg.data_log_dir)?;
        let addr = SocketAddr::new(cfg.client_port_address, cfg.client_port);
        let listener = TcpListener::bind(addr).await?;
        Ok(Server {
            cfg: Arc::new(cfg),
            listener,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends.
    pub async fn run(self) {
        let (core, committed) = pipeline::Core::new(self.cfg.clone());
        let (tx, rx) = mpsc::channel(limits::CORE_QUEUE_LEN);
        tokio::spawn(core.run(rx, committed));
        // As ZooKeeper's server: a frame longer than jute.maxbuffer closes the connection.
        let max_frame = self.cfg.jute_max_buffer_bytes;
        listener::run(self.listener, tx, self.cfg.max_client_cnxns, max_frame).await;
    }
}
