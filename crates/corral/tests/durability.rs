//! Faults on disk, with the real binary: a server is killed with SIGKILL, its files are damaged
//! the way a crash or a bad disk would, and the next start must do the expected thing.
//!
//! - A torn log tail is cut off (and logged); everything before it is served, writes go on.
//! - A flipped byte inside committed log data stops the start, naming the file and offset.
//! - A flipped byte in the newest snapshot makes the start fall back to the previous snapshot
//!   plus the log (and log it); every acknowledged write is there.
//!
//! `corral admin dump-log` is checked on the same directories: it reads a killed server's log
//! without changing it, and names damage instead of panicking.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use corral_client::{Acl, Client, CreateMode};

/// Upper bound for any single wait here.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

/// A server process and everything it printed so far.
struct Server {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

/// A data directory with a zoo.cfg; removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Dir {
    fn new(name: &str, snap_count: u64) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("corral-durability-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = format!(
            "tickTime=500\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\n\
             snapCount={snap_count}\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("zoo.cfg"), cfg).unwrap();
        Dir(dir)
    }

    fn log_dir(&self) -> PathBuf {
        self.0.join("data").join("log")
    }

    fn snapshot_dir(&self) -> PathBuf {
        self.0.join("data").join("snapshots")
    }

    /// Starts the binary; the output is collected by two reader threads.
    fn spawn(&self) -> (Child, Arc<Mutex<String>>, mpsc::Receiver<SocketAddr>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["server", "--config"])
            .arg(self.0.join("zoo.cfg"))
            .env("RUST_LOG", "info,openraft=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let output = output.clone();
            let addr_tx = addr_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = serving_addr(&line) {
                        let _ = addr_tx.send(addr);
                    }
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        (child, output, addr_rx)
    }

    /// Starts a server and waits until it serves clients.
    fn start(&self) -> Server {
        let (mut child, output, addr_rx) = self.spawn();
        match addr_rx.recv_timeout(WAIT) {
            Ok(addr) => Server {
                child,
                addr,
                output,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not start in {WAIT:?}:\n{}",
                    output.lock().unwrap()
                );
            }
        }
    }

    /// Starts a server that must fail; returns its exit status and output.
    fn start_failing(&self) -> (ExitStatus, String) {
        let (mut child, output, addr_rx) = self.spawn();
        let status = wait_exit(&mut child);
        let text = output.lock().unwrap().clone();
        assert!(
            addr_rx.try_recv().is_err(),
            "the server served clients:\n{text}"
        );
        (status, text)
    }
}

/// `... serving clients on 127.0.0.1:PORT`.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("serving clients on ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    panic!("the server did not exit in {WAIT:?}");
}

impl Server {
    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Everything printed so far, once it contains `needle` (bounded wait).
    fn output_containing(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.output.lock().unwrap().clone();
            if text.contains(needle) || Instant::now() >= deadline {
                return text;
            }
            std::thread::sleep(POLL);
        }
    }

    async fn client(&self) -> Client {
        Client::connect(&self.addr.to_string(), Duration::from_secs(10))
            .await
            .expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node(i: usize) -> String {
    format!("/n{i:04}")
}

fn data(i: usize) -> Vec<u8> {
    format!("value {i}").into_bytes()
}

/// Writes nodes `from..to`, each acknowledged before the next is sent.
async fn write_nodes(zk: &Client, range: std::ops::Range<usize>) {
    for i in range {
        zk.create(&node(i), &data(i), &Acl::open(), CreateMode::Persistent)
            .await
            .unwrap();
    }
}

/// The `/nNNNN` nodes present, checked against their data; they must be `0..m` with no gap.
async fn present_prefix(zk: &Client) -> usize {
    let mut children: Vec<String> = zk
        .get_children("/")
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.starts_with('n'))
        .collect();
    children.sort();
    for (i, c) in children.iter().enumerate() {
        assert_eq!(
            format!("/{c}"),
            node(i),
            "nodes form a prefix: {children:?}"
        );
        let (d, _) = zk.get_data(&node(i)).await.unwrap();
        assert_eq!(d, data(i), "data of {}", node(i));
    }
    children.len()
}

/// The file in `dir` whose name gives the largest key.
fn newest(dir: &Path, key: impl Fn(&str) -> Option<u64>) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some((key(p.file_name()?.to_str()?)?, p)))
        .max()
        .unwrap_or_else(|| panic!("no file in {}", dir.display()))
        .1
}

/// `r-<offset>.wal`: the offset, zero-padded with `_` separators.
fn wal_offset(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix("r-")?
        .strip_suffix(".wal")?
        .replace('_', "");
    digits.parse().ok()
}

/// `snapshot.<zxid hex>`: the zxid.
fn snapshot_zxid(name: &str) -> Option<u64> {
    u64::from_str_radix(name.strip_prefix("snapshot.")?, 16).ok()
}

/// Flips one bit of the byte in the middle of `path`; returns its offset and the new bytes.
fn flip_middle_byte(path: &Path) -> (usize, Vec<u8>) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    std::fs::write(path, &bytes).unwrap();
    (at, bytes)
}

/// Every file in `dir` with its bytes.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    all.sort();
    all
}

fn dump_log(dir: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["admin", "dump-log"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The start offsets of the records `dump-log` lists (`  @OFFSET ...`).
fn record_offsets(listing: &str) -> Vec<u64> {
    listing
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('@'))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

const NODES: usize = 40;

/// A server that acknowledged `NODES` writes, then was killed with SIGKILL.
async fn killed_after_writes(name: &str, snap_count: u64) -> Dir {
    killed_after_snapshots(name, snap_count, 0).await
}

/// As `killed_after_writes`, once at least `snapshots` snapshot files are complete. They are
/// written in the background at a lower priority than requests, and a snapshot falling due
/// while the previous one is still being written waits for the next `snap_count` txns; so
/// until there are enough, node 0 is set again (to its own data: the tree's contents stay
/// those of `write_nodes`), a write every 20 ms, for at most 30 s.
async fn killed_after_snapshots(name: &str, snap_count: u64, snapshots: usize) -> Dir {
    let dir = Dir::new(name, snap_count);
    let server = dir.start();
    let zk = server.client().await;
    write_nodes(&zk, 0..NODES).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while snapshot_count(&dir) < snapshots && std::time::Instant::now() < deadline {
        zk.set_data(&node(0), &data(0), None).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(zk);
    server.kill();
    dir
}

/// Complete snapshot files in `dir` (a temp file being written has no zxid name).
fn snapshot_count(dir: &Dir) -> usize {
    std::fs::read_dir(dir.snapshot_dir())
        .unwrap()
        .filter(|e| snapshot_zxid(e.as_ref().unwrap().file_name().to_str().unwrap()).is_some())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_log_tail_is_cut_and_everything_before_it_is_served() {
    let dir = killed_after_writes("torn", 15).await;

    // dump-log reads the killed server's log and changes nothing.
    let before = contents(&dir.log_dir());
    let (code, listing, err) = dump_log(&dir.0.join("data"));
    assert_eq!(code, Some(0), "{err}\n{listing}");
    assert!(listing.contains("createSession timeout"), "{listing}");
    let last = node(NODES - 1);
    assert!(
        listing.contains(&format!(
            "create {last} data 8 bytes \"value {}\"",
            NODES - 1
        )),
        "{listing}"
    );
    assert_eq!(
        contents(&dir.log_dir()),
        before,
        "dump-log wrote to the log"
    );

    // A crash mid-write: the newest file loses its last bytes.
    let wal = newest(&dir.log_dir(), wal_offset);
    let len = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let (code, listing, _) = dump_log(&dir.log_dir());
    assert_eq!(code, Some(0), "a torn tail is not an error:\n{listing}");
    assert!(listing.contains("torn tail"), "{listing}");

    let server = dir.start();
    let text = server.output_containing("torn tail cut off");
    let name = wal.file_name().unwrap().to_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("torn tail cut off") && l.contains(name)),
        "the cut is logged with the file:\n{text}"
    );
    let zk = server.client().await;
    let present = present_prefix(&zk).await;
    // 5 bytes reach at most into the last entry (a commit record is longer).
    assert!(present >= NODES - 1, "only {present} of {NODES} nodes");
    write_nodes(&zk, present..present + 3).await;
    assert_eq!(present_prefix(&zk).await, present + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_in_committed_log_data_stops_the_start_naming_file_and_offset() {
    // No snapshot, so every record of the log is live.
    let dir = killed_after_writes("flip-log", 100_000).await;

    let (code, listing, err) = dump_log(&dir.0.join("data"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        listing.matches(".wal (").count(),
        1,
        "one chunk file:\n{listing}"
    );
    let wal = newest(&dir.log_dir(), wal_offset);
    let (at, bytes) = flip_middle_byte(&wal);
    // The record holding the flipped byte.
    let record = record_offsets(&listing)
        .into_iter()
        .filter(|&o| o <= at as u64)
        .max()
        .unwrap();

    let (status, text) = dir.start_failing();
    assert!(!status.success(), "{text}");
    let name = wal.file_name().unwrap().to_str().unwrap();
    assert!(
        text.lines().any(|l| l.contains("corral: cannot start")
            && l.contains(name)
            && l.contains(&format!("at offset {record}"))),
        "the refusal names file and offset {record}:\n{text}"
    );
    assert_eq!(std::fs::read(&wal).unwrap(), bytes, "nothing was cut");

    let (code, listing, err) = dump_log(&dir.log_dir());
    assert_eq!(code, Some(1), "{listing}");
    assert!(
        listing.contains(&format!("{name}: damaged record"))
            && listing.contains(&format!("at offset {record}")),
        "{listing}"
    );
    assert!(err.contains("damaged"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_in_newest_snapshot_falls_back_to_the_previous_one() {
    let dir = killed_after_snapshots("flip-snap", 8, 2).await;

    let snapshots = snapshot_count(&dir);
    assert!(
        snapshots >= 2,
        "several snapshots were written ({snapshots})"
    );
    let snap = newest(&dir.snapshot_dir(), snapshot_zxid);
    flip_middle_byte(&snap);

    let server = dir.start();
    let name = snap.file_name().unwrap().to_str().unwrap();
    let text = server.output_containing("falling back to an older one");
    assert!(
        text.lines()
            .any(|l| l.contains(name) && l.contains("falling back to an older one")),
        "the skipped snapshot is logged:\n{text}"
    );
    let zk = server.client().await;
    assert_eq!(present_prefix(&zk).await, NODES, "every acknowledged write");
    write_nodes(&zk, NODES..NODES + 3).await;
    assert_eq!(present_prefix(&zk).await, NODES + 3);
}
