//! One client connection: frames in, frames out.
//!
//! The reader decodes frames and hands requests to the core; it stops reading while
//! `MAX_OUTSTANDING_PER_CONNECTION` requests of this connection, or `globalOutstandingLimit`
//! requests of the whole server (`outstanding`), await their replies (back-pressure, never a
//! drop). The writer batches whatever the core queued into as few socket writes as it can.
//! Bad input (a malformed or oversized frame, an unknown op code, garbage before the
//! handshake) closes this connection alone, with a log line naming the peer and the reason.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_jute::frame::{self, LENGTH_PREFIX_BYTES};
use corral_jute::Id;
use corral_jute::{ConnectRequest, Decode, Reader, Request, RequestHeader};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use crate::fourlw;
use crate::limits::{HANDSHAKE_TIMEOUT_MS, MAX_OUTSTANDING_PER_CONNECTION, READ_CHUNK_BYTES};
use crate::outbox::{Outbox, OutboxReceiver, Outgoing};
use crate::outstanding::Share;
use crate::pipeline::CoreMsg;
use crate::watch::ConnId;

/// Bytes the writer gathers into one socket write.
const WRITE_BATCH_BYTES: usize = 256 * 1024;
/// Frames this large (a big `getData` or `getChildren`) are written from their own buffer
/// instead of copied into the batch.
const DIRECT_FRAME_BYTES: usize = 16 * 1024;
/// What the writer's batch keeps between bursts. It used to begin at 256 KiB and keep
/// whatever a large reply had grown it to: with each of 10,000 sessions of a flat election
/// sent one 560 KB `getChildren` reply, the server held 4.8 GiB of idle buffers.
const BATCH_KEEP_BYTES: usize = 64 * 1024;

/// Serves one connection over its two halves: a plain socket's, or a TLS stream's after the
/// handshake (`tls`: the ids it authenticated).
pub async fn serve<R, W>(
    (mut rd, mut wr): (R, W),
    peer: SocketAddr,
    conn: ConnId,
    core: mpsc::Sender<CoreMsg>,
    share: Arc<Share>,
    max_frame_bytes: usize,
    tls: Option<Arc<[Id]>>,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = Vec::with_capacity(READ_CHUNK_BYTES);

    let handshake = Duration::from_millis(HANDSHAKE_TIMEOUT_MS);
    let first = tokio::time::timeout(handshake, first_frame(&mut rd, &mut buf, max_frame_bytes));
    let len = match first.await {
        Err(_) => return tracing::info!("closing connection from {peer}: no handshake in time"),
        Ok(Err(why)) => return tracing::info!("closing connection from {peer}: {why}"),
        Ok(Ok(First::FourLetter(word))) => {
            // Monitoring polls these every few seconds: not worth a line at info.
            tracing::debug!("four-letter word {word} from {peer}");
            return four_letter(word, peer, &mut wr, &core).await;
        }
        Ok(Ok(First::Frame(len))) => len,
    };
    let req = match ConnectRequest::from_bytes(&buf[LENGTH_PREFIX_BYTES..LENGTH_PREFIX_BYTES + len])
    {
        Ok(r) => r,
        Err(e) => {
            return tracing::info!("closing connection from {peer}: bad connect request: {e}")
        }
    };
    buf.drain(..LENGTH_PREFIX_BYTES + len);

    let (outbox, out_rx) = Outbox::new(conn, peer, tls);
    let outbox = outbox.with_share(share.clone());
    let permits = Arc::new(Semaphore::new(MAX_OUTSTANDING_PER_CONNECTION));
    let writer_done = Arc::new(Notify::new());
    tokio::spawn(write_loop(wr, out_rx, permits.clone(), writer_done.clone()));
    if core.send(CoreMsg::Connect { outbox, req }).await.is_err() {
        return;
    }
    let why = match read_loop(
        &mut rd,
        &mut buf,
        conn,
        &core,
        (&permits, &share),
        &writer_done,
        max_frame_bytes,
    )
    .await
    {
        Ok(Ended::ByClient) => "the client closed it".to_string(),
        Ok(Ended::ByServer) => "closed by the server".to_string(),
        Err(why) => why,
    };
    // The core logs the close: it knows the connection's session.
    let _ = core.send(CoreMsg::Closed { conn, why }).await;
}

/// How a connection's read loop ended without an error.
enum Ended {
    /// The client closed its end.
    ByClient,
    /// The core closed the connection (session closed or expired, client moved, not serving),
    /// or is shutting down.
    ByServer,
}

enum First {
    FourLetter(&'static str),
    Frame(usize),
}

/// Reads until the first frame is whole, or its first four bytes name a four-letter word.
async fn first_frame(
    rd: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    max_frame_bytes: usize,
) -> Result<First, String> {
    loop {
        if buf.len() >= LENGTH_PREFIX_BYTES {
            if let Some(word) = fourlw::is_word(&buf[..LENGTH_PREFIX_BYTES]) {
                return Ok(First::FourLetter(word));
            }
            match frame::check(buf, max_frame_bytes) {
                Ok(Some(len)) => return Ok(First::Frame(len)),
                Ok(None) => {}
                Err(e) => return Err(format!("bad handshake frame: {e}")),
            }
        }
        if read_more(rd, buf).await? == 0 {
            return Err("closed before the handshake".into());
        }
    }
}

async fn read_more(rd: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> Result<usize, String> {
    buf.reserve(READ_CHUNK_BYTES);
    match rd.read_buf(buf).await {
        // A TLS client that closes its socket without close_notify (the Java client does)
        // has closed the connection all the same.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        r => r.map_err(|e| format!("read error: {e}")),
    }
}

async fn read_loop(
    rd: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    conn: ConnId,
    core: &mpsc::Sender<CoreMsg>,
    (permits, share): (&Semaphore, &Share),
    writer_done: &Notify,
    max_frame_bytes: usize,
) -> Result<Ended, String> {
    loop {
        let mut consumed = 0;
        loop {
            let len = match frame::check(&buf[consumed..], max_frame_bytes) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            let start = consumed + LENGTH_PREFIX_BYTES;
            let (xid, req) = match decode_request(&buf[start..start + len])? {
                Decoded::Request(xid, req) => (xid, req),
                Decoded::UnknownOp(xid, op) => {
                    // As ZooKeeper: answer Unimplemented, then close.
                    let _ = core.send(CoreMsg::Refuse { conn, xid }).await;
                    return Err(format!("unknown op code {op}"));
                }
            };
            consumed = start + len;
            tokio::select! {
                p = permits.acquire() => p.map_err(|_| "closed")?.forget(),
                _ = writer_done.notified() => return Ok(Ended::ByServer),
            }
            tokio::select! {
                _ = share.acquire() => {}
                _ = writer_done.notified() => return Ok(Ended::ByServer),
            }
            let msg = CoreMsg::Request {
                conn,
                xid,
                req,
                received: Instant::now(),
            };
            if core.send(msg).await.is_err() {
                return Ok(Ended::ByServer);
            }
        }
        buf.drain(..consumed);
        if buf.is_empty() {
            // A large request (up to `jute.maxbuffer`) must not leave its capacity behind.
            buf.shrink_to(READ_CHUNK_BYTES);
        }
        tokio::select! {
            n = read_more(rd, buf) => if n? == 0 { return Ok(Ended::ByClient) },
            _ = writer_done.notified() => return Ok(Ended::ByServer),
        }
    }
}

enum Decoded {
    Request(i32, Request),
    /// A well-framed request with an op code this server does not know: (xid, op).
    UnknownOp(i32, i32),
}

fn decode_request(payload: &[u8]) -> Result<Decoded, String> {
    let mut r = Reader::new(payload);
    let h = RequestHeader::decode(&mut r).map_err(|e| format!("bad request header: {e}"))?;
    match Request::decode(h.op, &mut r) {
        Ok(Some(req)) => Ok(Decoded::Request(h.xid, req)),
        Ok(None) => Ok(Decoded::UnknownOp(h.xid, h.op)),
        Err(e) => Err(format!("bad request (op {}): {e}", h.op)),
    }
}

async fn write_loop(
    mut wr: impl AsyncWrite + Unpin,
    mut out: OutboxReceiver,
    permits: Arc<Semaphore>,
    done: Arc<Notify>,
) {
    // Grows with a burst and is cut back after it (see `BATCH_KEEP_BYTES`).
    let mut batch = Vec::new();
    'outer: loop {
        let first = tokio::select! {
            m = out.rx.recv() => m,
            _ = out.abort.notified() => break,
        };
        let Some(mut msg) = first else { break };
        let mut replies = 0;
        let mut close = false;
        // A large frame goes out from its own buffer, after what is batched before it.
        let mut large = None;
        loop {
            match msg {
                Outgoing::Frame { bytes, reply } => {
                    replies += reply as usize;
                    if bytes.len() >= DIRECT_FRAME_BYTES {
                        large = Some(bytes);
                        break;
                    }
                    batch.extend_from_slice(&bytes);
                }
                Outgoing::Close => close = true,
            }
            if close || batch.len() >= WRITE_BATCH_BYTES {
                break;
            }
            match out.rx.try_recv() {
                Ok(m) => msg = m,
                Err(_) => break,
            }
        }
        let mut written = 0;
        for bytes in [&batch[..], large.as_deref().unwrap_or_default()] {
            if bytes.is_empty() {
                continue;
            }
            tokio::select! {
                r = wr.write_all(bytes) => if r.is_err() { break 'outer },
                _ = out.abort.notified() => break 'outer,
            }
            written += bytes.len();
        }
        out.queued_bytes.fetch_sub(written, Ordering::Relaxed);
        permits.add_permits(replies);
        batch.clear();
        batch.shrink_to(BATCH_KEEP_BYTES);
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
    done.notify_one();
}

async fn four_letter(
    word: &'static str,
    peer: SocketAddr,
    wr: &mut (impl AsyncWrite + Unpin),
    core: &mpsc::Sender<CoreMsg>,
) {
    let (tx, rx) = oneshot::channel();
    if core
        .send(CoreMsg::FourLetter {
            word: word.to_string(),
            peer,
            reply: tx,
        })
        .await
        .is_err()
    {
        return;
    }
    if let Ok(text) = rx.await {
        let _ = wr.write_all(text.as_bytes()).await;
    }
    let _ = wr.shutdown().await;
}
