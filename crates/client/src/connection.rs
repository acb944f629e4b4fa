//! One TCP connection (plain, or TLS when the options say so) to one server: the handshake, frames in, frames out.
//!
//! Reading happens in the session task (`next_frame` is cancel-safe, so it can sit in a
//! `select!`); writing happens in a writer task that batches queued frames into few socket
//! writes, so the session task never blocks on a slow socket while replies wait to be read.
//! Frames leave in the order they were queued.

use std::time::Duration;

use corral_jute::{frame, ConnectRequest, ConnectResponse, Decode, Encode, RequestHeader};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::tls::Tls;

type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Largest reply frame accepted: ZooKeeper's `jute.maxbuffer` default for the payload plus
/// room for headers; a larger length prefix means a broken or hostile peer.
pub const MAX_REPLY_FRAME_BYTES: usize =
    frame::DEFAULT_MAX_BUFFER_BYTES + 4 * frame::FRAME_EXTRA_BYTES;
/// Most bytes the writer puts into one socket write.
const WRITE_BATCH_BYTES: usize = 64 * 1024;
/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub(crate) struct Connection {
    pub addr: String,
    read: ReadHalf,
    /// Bytes read but not yet returned as frames; `start` is where the next frame begins.
    buf: Vec<u8>,
    start: usize,
    out: mpsc::UnboundedSender<Vec<u8>>,
    writer_gone: oneshot::Receiver<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    /// Connects and does the session handshake; the caller decides what a refused session
    /// (`time_out <= 0`) means.
    pub async fn open(
        addr: String,
        req: ConnectRequest,
        timeout: Duration,
        tls: Option<Tls>,
    ) -> Result<(Connection, ConnectResponse), Error> {
        tokio::time::timeout(timeout, Connection::handshake(addr, req, tls))
            .await
            .map_err(|_| Error::ConnectionLoss)?
    }

    async fn handshake(
        addr: String,
        req: ConnectRequest,
        tls: Option<Tls>,
    ) -> Result<(Connection, ConnectResponse), Error> {
        let stream = TcpStream::connect(addr.as_str()).await?;
        stream.set_nodelay(true)?;
        let (read, mut write): (ReadHalf, WriteHalf) = match tls {
            None => {
                let (r, w) = stream.into_split();
                (Box::new(r), Box::new(w))
            }
            Some(tls) => {
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let (r, w) = tokio::io::split(tls.connect(host, stream).await?);
                (Box::new(r), Box::new(w))
            }
        };
        let mut hello = Vec::new();
        let at = frame::begin(&mut hello);
        req.encode(&mut hello);
        frame::finish(&mut hello, at);
        write.write_all(&hello).await?;

        let (out, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
        let (gone_tx, writer_gone) = oneshot::channel();
        let writer = tokio::spawn(async move {
            let _gone = gone_tx;
            let mut batch = Vec::new();
            while let Some(f) = queue.recv().await {
                batch.clear();
                batch.extend_from_slice(&f);
                while batch.len() < WRITE_BATCH_BYTES {
                    match queue.try_recv() {
                        Ok(f) => batch.extend_from_slice(&f),
                        Err(_) => break,
                    }
                }
                if write.write_all(&batch).await.is_err() {
                    return;
                }
            }
        });
        let mut conn = Connection {
            addr,
            read,
            buf: Vec::new(),
            start: 0,
            out,
            writer_gone,
            writer,
        };
        let payload = conn.next_frame().await?;
        let rsp = ConnectResponse::from_bytes(&payload)?;
        Ok((conn, rsp))
    }

    /// Queues a request frame (`RequestHeader` + body); false if the writer has stopped.
    pub fn send(&self, xid: i32, op: i32, body: &[u8]) -> bool {
        let mut f = Vec::with_capacity(frame::LENGTH_PREFIX_BYTES + 8 + body.len());
        let at = frame::begin(&mut f);
        RequestHeader { xid, op }.encode(&mut f);
        f.extend_from_slice(body);
        frame::finish(&mut f, at);
        self.out.send(f).is_ok()
    }

    /// The next frame's payload; `ConnectionLoss` once the socket closed either way.
    /// Cancel-safe: bytes read so far stay in the buffer.
    pub async fn next_frame(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            let pending = &self.buf[self.start..];
            match frame::check(pending, MAX_REPLY_FRAME_BYTES) {
                Ok(Some(len)) => {
                    let from = self.start + frame::LENGTH_PREFIX_BYTES;
                    let payload = self.buf[from..from + len].to_vec();
                    self.start = from + len;
                    if self.start == self.buf.len() {
                        self.buf.clear();
                        self.start = 0;
                    }
                    return Ok(payload);
                }
                Ok(None) => {}
                Err(e) => return Err(Error::Protocol(e.to_string())),
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            self.buf.reserve(READ_CHUNK_BYTES);
            tokio::select! {
                n = self.read.read_buf(&mut self.buf) => {
                    if n? == 0 {
                        return Err(Error::ConnectionLoss);
                    }
                }
                // The writer stops only when a socket write failed.
                _ = &mut self.writer_gone => return Err(Error::ConnectionLoss),
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.writer.abort();
    }
}
