//! Servers for the client tests: an in-process corral, or Apache ZooKeeper 3.8 (Debian's
//! package) run by `java` on a free port, and a TCP proxy the tests can cut.
//!
//! Every scenario runs against both through [`both!`]. ZooKeeper is required unless
//! `CORRAL_SKIP_ZOOKEEPER=1`: a missing `java` or jar fails the test with a clear message.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_client::{Client, SessionState};
use corral_jute::{frame, ConnectRequest, ConnectResponse, Decode, Encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Upper bound for any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);
/// Both servers run with this tick: sessions may last 2 to 20 ticks (1 s to 10 s).
pub const TICK_MS: u32 = 500;
pub const SESSION: Duration = Duration::from_secs(10);
const ZK_JARS: &str = "/usr/share/java";
const ZK_CLASSPATH_JARS: [&str; 4] = ["zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple"];
const ZK_START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Corral,
    ZooKeeper,
}

/// A running server; a ZooKeeper process is killed when this drops.
pub struct TestServer {
    pub kind: Kind,
    pub addr: SocketAddr,
    zk: Option<Child>,
    dir: PathBuf,
}

impl TestServer {
    pub fn hosts(&self) -> String {
        self.addr.to_string()
    }

    pub async fn client(&self) -> Client {
        connect(&self.hosts()).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.zk.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn connect(hosts: &str) -> Client {
    tokio::time::timeout(WAIT, Client::connect(hosts, SESSION))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Awaits `fut` for at most [`WAIT`].
pub async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub async fn wait_state(c: &Client, want: SessionState) {
    let mut rx = c.state();
    within(&format!("state {want:?}"), rx.wait_for(|s| *s == want))
        .await
        .expect("state channel open");
}

fn temp_dir(kind: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    // The time too: a later run may reuse the pid, and must not find this run's data.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let d = std::env::temp_dir().join(format!(
        "corral-client-{kind}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts a server of `kind`; `None` when ZooKeeper is skipped by `CORRAL_SKIP_ZOOKEEPER=1`.
pub async fn start(kind: Kind) -> Option<TestServer> {
    match kind {
        Kind::Corral => Some(start_corral().await),
        Kind::ZooKeeper => {
            if std::env::var("CORRAL_SKIP_ZOOKEEPER").as_deref() == Ok("1") {
                eprintln!("CORRAL_SKIP_ZOOKEEPER=1: skipping the ZooKeeper variant");
                return None;
            }
            Some(start_zookeeper().await)
        }
    }
}

async fn start_corral() -> TestServer {
    let dir = temp_dir("corral");
    let cfg = corral_server::Config {
        tick_time_ms: TICK_MS,
        client_port: 0,
        client_port_address: [127, 0, 0, 1].into(),
        data_dir: dir.clone(),
        data_log_dir: dir.clone(),
        max_client_cnxns: 0,
        extended_types_enabled: true,
        ..corral_server::Config::default()
    };
    let server = corral_server::Server::bind(cfg).await.expect("bind corral");
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    TestServer {
        kind: Kind::Corral,
        addr,
        zk: None,
        dir,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_zookeeper() -> TestServer {
    let java_ok = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        java_ok,
        "the ZooKeeper variant needs `java` on PATH (apt-get install default-jre-headless \
         zookeeper), or set CORRAL_SKIP_ZOOKEEPER=1 to skip it"
    );
    let jars: Vec<String> = ZK_CLASSPATH_JARS
        .iter()
        .map(|j| format!("{ZK_JARS}/{j}.jar"))
        .collect();
    for j in &jars {
        assert!(
            std::path::Path::new(j).exists(),
            "the ZooKeeper variant needs {j} (Debian package `zookeeper`), or set \
             CORRAL_SKIP_ZOOKEEPER=1 to skip it"
        );
    }
    let dir = temp_dir("zk");
    let port = free_port();
    let cfg = dir.join("zoo.cfg");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "tickTime={TICK_MS}\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\nextendedTypesEnabled=true\nmaxClientCnxns=0\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    // Quick JVM start (C1 only, serial GC, small heap); no fsync, since tests never crash it.
    let child = Command::new("java")
        .args([
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dzookeeper.forceSync=no",
        ])
        .arg(format!("-Dzookeeper.log.dir={}", dir.display()))
        .arg("-cp")
        .arg(jars.join(":"))
        .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
        .arg(&cfg)
        .current_dir(&dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn java");
    let mut server = TestServer {
        kind: Kind::ZooKeeper,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        zk: Some(child),
        dir,
    };
    // ZooKeeper listens before it serves: ready means a handshake gets a session.
    let deadline = Instant::now() + ZK_START_TIMEOUT;
    loop {
        if let Some(st) = server.zk.as_mut().unwrap().try_wait().unwrap() {
            let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
            panic!("ZooKeeper exited with {st} before serving:\n{log}");
        }
        if probe_session(server.addr).await {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "ZooKeeper did not serve sessions within {ZK_START_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True if a handshake at `addr` gets a session.
async fn probe_session(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let req = ConnectRequest {
            time_out: 2 * TICK_MS as i32,
            passwd: vec![0; 16],
            ..Default::default()
        };
        let mut out = Vec::new();
        let at = frame::begin(&mut out);
        req.encode(&mut out);
        frame::finish(&mut out, at);
        s.write_all(&out).await.ok()?;
        let len = s.read_i32().await.ok()?;
        let mut body = vec![0; len.max(0) as usize];
        s.read_exact(&mut body).await.ok()?;
        let rsp = ConnectResponse::from_bytes(&body).ok()?;
        // Close the probe's session so that it does not linger.
        Some(rsp.time_out > 0)
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// A TCP proxy in front of one server. `cut` drops every connection through it; while
/// `refuse` is on, new connections are accepted and closed at once; while `hold` is on,
/// client-to-server bytes are kept back (so a request can be caught in flight).
pub struct Proxy {
    pub addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    refuse: watch::Sender<bool>,
    hold: watch::Sender<bool>,
    held_bytes: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (refuse, refuse_rx) = watch::channel(false);
        let (hold, hold_rx) = watch::channel(false);
        let (held_bytes, _) = watch::channel(0u64);
        let held = held_bytes.clone();
        let c = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if *refuse_rx.borrow() {
                    drop(down);
                    continue;
                }
                let Ok(up) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (mut dr, mut dw) = down.into_split();
                let (mut ur, mut uw) = up.into_split();
                let mut hold_rx = hold_rx.clone();
                let held = held.clone();
                let to_server = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let n = match dr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if *hold_rx.borrow() {
                            held.send_modify(|b| *b += n as u64);
                            let _ = hold_rx.wait_for(|h| !*h).await;
                        }
                        if uw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
                let to_client = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut ur, &mut dw).await;
                });
                let mut g = c.lock().unwrap();
                g.push(to_server);
                g.push(to_client);
            }
        });
        Proxy {
            addr,
            conns,
            refuse,
            hold,
            held_bytes,
            accept,
        }
    }

    pub fn hosts(&self) -> String {
        self.addr.to_string()
    }

    /// Drops every connection through the proxy (both directions).
    pub fn cut(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    pub fn refuse(&self, on: bool) {
        self.refuse.send_replace(on);
    }

    pub fn hold(&self, on: bool) {
        self.held_bytes.send_replace(0);
        self.hold.send_replace(on);
    }

    /// Waits until the proxy holds back at least one client byte.
    pub async fn wait_held(&self) {
        let mut rx = self.held_bytes.subscribe();
        within("bytes held by the proxy", rx.wait_for(|b| *b > 0))
            .await
            .unwrap();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Runs the scenario `$name(server)` against corral and against ZooKeeper, as two tests.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::common::{start, Kind};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn corral() {
                let server = start(Kind::Corral).await.unwrap();
                super::$name(&server).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn zookeeper() {
                if let Some(server) = start(Kind::ZooKeeper).await {
                    super::$name(&server).await;
                }
            }
        }
    };
}
