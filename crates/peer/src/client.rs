//! A connection to one member. Requests are written in the order `send` is called and their
//! replies matched by id, so many can be in flight on one socket. The connection is made on
//! first use and again after it breaks; a broken connection fails every request still
//! waiting on it (the caller decides whether the outcome is unknown).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::frame::{self, Frame, Hello, Kind, PROTOCOL_VERSION};
use crate::security::Security;

/// How long dialling a member may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, thiserror::Error)]
pub enum PeerError {
    #[error("cannot reach {addr}: {why}")]
    Unreachable { addr: String, why: String },
    #[error("connection to {addr} broke before the reply: {why}")]
    Broken { addr: String, why: String },
    #[error("no reply from {addr} within {0:?}", .timeout)]
    Timeout { addr: String, timeout: Duration },
    /// The remote handler's error text.
    #[error("{0}")]
    Remote(String),
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Vec<u8>, String>>>>>;

struct Live {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    waiters: Waiters,
    /// Set by the reader when the socket ends.
    broken: Arc<std::sync::atomic::AtomicBool>,
}

/// A client for one member's peer address. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct PeerClient {
    inner: Arc<Inner>,
}

struct Inner {
    cluster: String,
    me: u64,
    addr: String,
    security: Security,
    live: tokio::sync::Mutex<Option<Live>>,
    next_id: std::sync::atomic::AtomicU64,
}

/// A sent request's reply, to be awaited.
pub struct Reply {
    addr: String,
    rx: oneshot::Receiver<Result<Vec<u8>, String>>,
}

impl Reply {
    pub async fn wait(self, timeout: Duration) -> Result<Vec<u8>, PeerError> {
        match tokio::time::timeout(timeout, self.rx).await {
            Err(_) => Err(PeerError::Timeout {
                addr: self.addr,
                timeout,
            }),
            Ok(Err(_)) => Err(PeerError::Broken {
                addr: self.addr,
                why: "connection closed".into(),
            }),
            Ok(Ok(Err(remote))) => Err(PeerError::Remote(remote)),
            Ok(Ok(Ok(body))) => Ok(body),
        }
    }
}

impl PeerClient {
    pub fn new(cluster: &str, me: u64, addr: &str, security: Security) -> PeerClient {
        PeerClient {
            inner: Arc::new(Inner {
                cluster: cluster.to_string(),
                me,
                addr: addr.to_string(),
                security,
                live: tokio::sync::Mutex::new(None),
                next_id: std::sync::atomic::AtomicU64::new(1),
            }),
        }
    }

    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// Sends a request and waits for its reply.
    pub async fn call(
        &self,
        kind: Kind,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, PeerError> {
        self.send(kind, body).await?.wait(timeout).await
    }

    /// Queues a request on the connection (after every earlier `send` on this client) and
    /// returns its reply to await.
    pub async fn send(&self, kind: Kind, body: Vec<u8>) -> Result<Reply, PeerError> {
        let mut live = self.inner.live.lock().await;
        let reusable = live
            .as_ref()
            .is_some_and(|l| !l.broken.load(std::sync::atomic::Ordering::Acquire));
        if !reusable {
            *live = Some(self.connect().await?);
        }
        let l = live.as_ref().expect("just set");
        let id = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        l.waiters.lock().expect("not poisoned").insert(id, tx);
        let frame = frame::encode(&Frame::Request { id, kind, body });
        if l.frames.send(frame).is_err() {
            l.waiters.lock().expect("not poisoned").remove(&id);
            *live = None;
            return Err(PeerError::Broken {
                addr: self.inner.addr.clone(),
                why: "writer stopped".into(),
            });
        }
        Ok(Reply {
            addr: self.inner.addr.clone(),
            rx,
        })
    }

    async fn connect(&self) -> Result<Live, PeerError> {
        let addr = self.inner.addr.clone();
        let unreachable = |why: String| PeerError::Unreachable {
            addr: addr.clone(),
            why,
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
            .await
            .map_err(|_| unreachable("connect timed out".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = self
            .inner
            .security
            .connect(stream, &addr)
            .await
            .map_err(unreachable)?;
        let hello = Frame::Hello(Hello {
            cluster: self.inner.cluster.clone(),
            from: self.inner.me,
            version: PROTOCOL_VERSION,
        });
        frame::write(&mut wr, &hello)
            .await
            .map_err(|e| unreachable(e.to_string()))?;

        let waiters: Waiters = Arc::default();
        let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (frames, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer_broken = broken.clone();
        tokio::spawn(async move {
            if frame::write_queued(&mut wr, &mut queue).await.is_err() {
                writer_broken.store(true, std::sync::atomic::Ordering::Release);
            }
        });
        let reader_waiters = waiters.clone();
        let reader_broken = broken.clone();
        let reader_addr = addr.clone();
        tokio::spawn(async move {
            let why = loop {
                match frame::read(&mut rd).await {
                    Ok(Some(Frame::Response { id, result })) => {
                        let waiter = reader_waiters.lock().expect("not poisoned").remove(&id);
                        if let Some(w) = waiter {
                            let _ = w.send(result);
                        }
                    }
                    Ok(Some(other)) => break Some(format!("unexpected frame {other:?}")),
                    Ok(None) => break None,
                    Err(e) => break Some(e.to_string()),
                }
            };
            match why {
                // A refused certificate shows here under TLS 1.3: the dialler's handshake
                // ends before the listener has checked its certificate.
                Some(why) => tracing::warn!("peer connection to {reader_addr} failed: {why}"),
                None => tracing::debug!("peer connection to {reader_addr} closed by the peer"),
            }
            reader_broken.store(true, std::sync::atomic::Ordering::Release);
            // Dropping the senders fails every request still waiting.
            reader_waiters.lock().expect("not poisoned").clear();
        });
        Ok(Live {
            frames,
            waiters,
            broken,
        })
    }
}
