//! What the core sends a connection: encoded frames, queued without blocking the core.
//!
//! The queue is unbounded in messages but bounded in bytes: the core never waits on a slow
//! client; a client that lets `MAX_OUTBOX_BYTES` pile up is closed instead. Reply frames hand
//! an in-flight permit back to the connection's reader when written (back-pressure on input),
//! and the server-wide `globalOutstandingLimit` permit when queued: as in ZooKeeper, a request
//! stops counting toward the global limit once its reply is out of the server's hands, so a
//! client that does not read cannot hold the server's permits (its outbox grows until it is
//! closed instead).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use corral_jute::Id;
use tokio::sync::{mpsc, Notify};

use crate::limits::MAX_OUTBOX_BYTES;
use crate::outstanding::Share;
use crate::watch::ConnId;

#[derive(Debug)]
pub enum Outgoing {
    /// `reply` frames answer a request and release one in-flight permit once written.
    Frame { bytes: Vec<u8>, reply: bool },
    /// Flush what is queued, then close the connection.
    Close,
}

#[derive(Clone, Debug)]
pub struct Outbox {
    pub conn: ConnId,
    pub peer: SocketAddr,
    /// `Some` on the secure port: the ids its TLS handshake authenticated (`x509`, `super`),
    /// none when the client sent no certificate.
    pub tls: Option<Arc<[Id]>>,
    tx: mpsc::UnboundedSender<Outgoing>,
    queued_bytes: Arc<AtomicUsize>,
    /// Wakes the writer to drop the connection without flushing (a client that stopped
    /// reading would otherwise keep the writer blocked forever).
    abort: Arc<Notify>,
    /// The connection's share of `globalOutstandingLimit`; a queued reply gives one back.
    outstanding: Option<Arc<Share>>,
    /// Set by `abort`: later frames are dropped as for a closed connection (and the core
    /// logs a too-slow client once, not once per reply still coming).
    aborted: Arc<AtomicBool>,
}

/// The writer's side of an outbox.
pub struct OutboxReceiver {
    pub rx: mpsc::UnboundedReceiver<Outgoing>,
    pub queued_bytes: Arc<AtomicUsize>,
    pub abort: Arc<Notify>,
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The connection is gone.
    Closed,
    /// The client has not read `MAX_OUTBOX_BYTES` of earlier output.
    TooSlow,
}

impl Outbox {
    pub fn new(conn: ConnId, peer: SocketAddr, tls: Option<Arc<[Id]>>) -> (Outbox, OutboxReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let abort = Arc::new(Notify::new());
        let outbox = Outbox {
            conn,
            peer,
            tls,
            tx,
            queued_bytes: queued_bytes.clone(),
            abort: abort.clone(),
            outstanding: None,
            aborted: Arc::new(AtomicBool::new(false)),
        };
        (
            outbox,
            OutboxReceiver {
                rx,
                queued_bytes,
                abort,
            },
        )
    }

    /// Replies queued from now on give a permit back to `share`.
    pub fn with_share(mut self, share: Arc<Share>) -> Outbox {
        self.outstanding = Some(share);
        self
    }

    pub fn send(&self, bytes: Vec<u8>, reply: bool) -> Result<(), SendError> {
        if let (true, Some(share)) = (reply, &self.outstanding) {
            share.release(1);
        }
        if self.aborted.load(Ordering::Relaxed) {
            return Err(SendError::Closed);
        }
        let len = bytes.len();
        let before = self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if before + len > MAX_OUTBOX_BYTES {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(SendError::TooSlow);
        }
        self.tx
            .send(Outgoing::Frame { bytes, reply })
            .map_err(|_| SendError::Closed)
    }

    /// Closes after what is queued has been written.
    pub fn close(&self) {
        let _ = self.tx.send(Outgoing::Close);
    }

    /// Closes now, dropping what is queued.
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
        self.abort.notify_one();
    }

    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Relaxed)
    }
}
