//! The peer listener. Each connection starts with a [`Hello`](crate::frame::Hello); then
//! every request is handed to the [`Handler`] in arrival order, and its reply written when
//! the handler's [`Pending`] resolves (replies may leave out of order; ids match them).
//!
//! Why two steps: a forwarded write must reach Raft in the order the follower sent it, but
//! its commit takes an fsync and a quorum. `Handler::handle` runs in arrival order and does
//! the ordered part (hand the batch to Raft); the `Pending` it returns is awaited apart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::frame::{self, Frame, Kind, PROTOCOL_VERSION};
use crate::security::{BoxedRead, BoxedWrite, HandshakeError, Security};

/// The rest of a request's work, awaited off the connection's read loop.
pub type Pending = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

pub trait Handler: Send + Sync + 'static {
    /// Takes one request from member `from`. The part before the returned future runs in
    /// arrival order for the connection.
    fn handle<'a>(
        &'a self,
        from: u64,
        kind: Kind,
        body: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Pending> + Send + 'a>>;

    /// Member `from`'s connection ended (it closed it, or its process died).
    fn closed(&self, _from: u64) {}
}

/// Accepts peer connections until the listener fails; with TLS, only those whose handshake
/// succeeds (a refused one is logged with the address it came from).
pub async fn serve(
    listener: TcpListener,
    cluster: String,
    handler: Arc<dyn Handler>,
    security: Security,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: pause rather than spin.
                tracing::warn!("peer listener: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let cluster = cluster.clone();
        let security = security.clone();
        tokio::spawn(async move {
            let halves = match security.accept(stream, addr).await {
                Ok(halves) => halves,
                Err(why @ HandshakeError::Closed) => {
                    tracing::debug!("peer connection from {addr}: {why}");
                    return;
                }
                Err(why) => {
                    tracing::warn!("peer connection from {addr} refused: {why}");
                    return;
                }
            };
            if let Err(why) = connection(halves, &cluster, handler).await {
                tracing::info!("peer connection from {addr} closed: {why}");
            }
        });
    }
}

async fn connection(
    (mut rd, mut wr): (BoxedRead, BoxedWrite),
    cluster: &str,
    handler: Arc<dyn Handler>,
) -> Result<(), String> {
    let from = match frame::read(&mut rd).await.map_err(|e| e.to_string())? {
        Some(Frame::Hello(h)) if h.cluster == cluster && h.version == PROTOCOL_VERSION => h.from,
        Some(Frame::Hello(h)) => {
            return Err(format!(
                "member {} speaks cluster '{}' protocol {}, we are '{cluster}' protocol \
                 {PROTOCOL_VERSION}",
                h.from, h.cluster, h.version
            ))
        }
        Some(other) => return Err(format!("expected a hello, got {other:?}")),
        None => return Ok(()),
    };
    let (replies, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let _ = frame::write_queued(&mut wr, &mut outgoing).await;
    });
    let result = loop {
        match frame::read(&mut rd).await {
            Ok(Some(Frame::Request { id, kind, body })) => {
                let pending = handler.handle(from, kind, body).await;
                let replies = replies.clone();
                tokio::spawn(async move {
                    let result = pending.await;
                    let _ = replies.send(frame::encode(&Frame::Response { id, result }));
                });
            }
            Ok(Some(other)) => break Err(format!("member {from} sent {other:?}")),
            Ok(None) => break Ok(()),
            Err(e) => break Err(format!("member {from}: {e}")),
        }
    };
    handler.closed(from);
    drop(replies);
    // Replies still pending are written as they complete; the writer ends after the last.
    let _ = writer.await;
    result
}
