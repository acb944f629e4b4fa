//! A raw-bytes test client and a server on an ephemeral port of 127.0.0.1.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use corral_jute::{
    frame, ConnectRequest, ConnectResponse, Decode, Encode, Reader, ReplyHeader, RequestHeader,
};
use corral_server::{Config, Server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn start(tweak: impl FnOnce(&mut Config)) -> SocketAddr {
    let dir = std::env::temp_dir().join(format!("corral-test-{}", rand_suffix()));
    let mut cfg = Config {
        client_port: 0,
        client_port_address: [127, 0, 0, 1].into(),
        data_dir: dir.clone(),
        data_log_dir: dir,
        ..Config::default()
    };
    tweak(&mut cfg);
    let server = Server::bind(cfg).await.expect("bind");
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

/// Unique per test: the process, a counter (tests start in parallel within the clock's
/// resolution), and the time (a later run may reuse the pid). A shared directory would hand one
/// server another's data, or fail on the log's lock.
fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{t}", std::process::id())
}

pub struct Client {
    pub stream: TcpStream,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout_ms: i32,
    buf: Vec<u8>,
}

/// Reads the next frame's payload from any byte stream; `None` once it closed.
pub async fn read_frame(rd: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Ok(Some(len)) = frame::check(buf, usize::MAX >> 1) {
            let payload = buf[4..4 + len].to_vec();
            buf.drain(..4 + len);
            return Some(payload);
        }
        let mut chunk = [0u8; 65536];
        let n = tokio::time::timeout(WAIT, rd.read(&mut chunk))
            .await
            .expect("server answered in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub fn split_reply(p: Vec<u8>) -> (ReplyHeader, Vec<u8>) {
    let mut r = Reader::new(&p);
    let h = ReplyHeader::decode(&mut r).unwrap();
    let rest = p[r.position()..].to_vec();
    (h, rest)
}

pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let at = frame::begin(&mut out);
    out.extend_from_slice(body);
    frame::finish(&mut out, at);
    out
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::resume(addr, 0, vec![0; 16], 30_000)
            .await
            .expect("session")
    }

    /// Handshake; `None` when the server refuses the session (timeout 0).
    pub async fn resume(
        addr: SocketAddr,
        session_id: i64,
        passwd: Vec<u8>,
        timeout_ms: i32,
    ) -> Option<Client> {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let mut c = Client {
            stream,
            session_id: 0,
            passwd: vec![],
            timeout_ms: 0,
            buf: vec![],
        };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout_ms,
            session_id,
            passwd,
            read_only: false,
        };
        c.stream.write_all(&framed(&req.to_bytes())).await.unwrap();
        let payload = c.read_frame().await?;
        let rsp = ConnectResponse::from_bytes(&payload).expect("connect response");
        if rsp.time_out <= 0 {
            return None;
        }
        c.session_id = rsp.session_id;
        c.passwd = rsp.passwd;
        c.timeout_ms = rsp.time_out;
        Some(c)
    }

    pub async fn send(&mut self, xid: i32, op: i32, body: &impl Encode) {
        let mut b = RequestHeader { xid, op }.to_bytes();
        body.encode(&mut b);
        self.stream.write_all(&framed(&b)).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// A connection that has not done a handshake.
    pub fn raw(stream: TcpStream) -> Client {
        Client {
            stream,
            session_id: 0,
            passwd: vec![],
            timeout_ms: 0,
            buf: vec![],
        }
    }

    /// The next frame's payload, or `None` once the server closed the connection.
    pub async fn read_frame(&mut self) -> Option<Vec<u8>> {
        read_frame(&mut self.stream, &mut self.buf).await
    }

    /// The next reply header and the rest of its payload.
    pub async fn reply(&mut self) -> (ReplyHeader, Vec<u8>) {
        split_reply(self.read_frame().await.expect("a reply, not a close"))
    }

    /// True once the server has closed this connection (bounded wait).
    pub async fn closed_by_server(&mut self) -> bool {
        loop {
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(WAIT, self.stream.read(&mut chunk)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }
}
