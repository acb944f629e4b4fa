//! Four-letter words on the client port (`ruok`, `srvr`, `mntr`, …), with Apache ZooKeeper
//! 3.8's output formats so existing scripts and monitoring parse them. The whitelist
//! (`4lw.commands.whitelist`, default `srvr` only) gates them exactly as in ZooKeeper.
//!
//! This file has the dispatch and the server-wide words; `sessions` has those that list
//! connections, sessions and watches (`cons`, `stat`'s clients, `dump`, `wch*`).

mod sessions;

use std::fmt::Write;
use std::path::Path;

use crate::ensemble::role::Mode;
use crate::metrics::java_double;
use crate::pipeline::Core;

/// Every four-letter word corral knows (the connection recognizes them by their first bytes):
/// ZooKeeper 3.8's, less `stmk` (trace masks do not exist here, see `gtmk`).
pub const WORDS: [&str; 17] = [
    "ruok", "srvr", "stat", "conf", "cons", "envi", "mntr", "wchs", "wchc", "wchp", "dump", "isro",
    "srst", "crst", "dirs", "gtmk", "hash",
];

/// The version string scripts look for after `Zookeeper version: `.
pub const VERSION: &str = concat!(
    "3.8.0-corral-",
    env!("CARGO_PKG_VERSION"),
    ", built on corral"
);

/// ZooKeeper's default trace mask (`gtmk`); corral has no tracing by mask, so it never changes.
pub const TRACE_MASK: u64 = 306;

pub fn is_word(first: &[u8]) -> Option<&'static str> {
    WORDS.iter().copied().find(|w| w.as_bytes() == first)
}

/// ZooKeeper's answer to a word that needs a running server when there is none.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

impl Core {
    pub(crate) fn mode(&self) -> Mode {
        self.ensemble
            .as_ref()
            .map_or(Mode::Standalone, |e| e.role.mode)
    }

    pub fn four_letter(&mut self, word: &str) -> String {
        if !self.cfg.four_letter_whitelist.allows(word) {
            return format!("{word} is not executed because it is not in the whitelist.\n");
        }
        // As ZooKeeper: without a quorum, only what needs no running server answers.
        if !self.serving() {
            match word {
                "ruok" | "envi" | "gtmk" => {}
                "isro" => return "null".to_string(),
                "hash" => return NOT_SERVING.to_string(),
                _ => return format!("{NOT_SERVING}\n"),
            }
        }
        match word {
            "ruok" => "imok".to_string(),
            "isro" => "rw".to_string(),
            "gtmk" => TRACE_MASK.to_string(),
            "srvr" => self.srvr(false),
            "stat" => self.srvr(true),
            "conf" => self.conf(),
            "cons" => self.cons(),
            "envi" => envi(),
            "mntr" => self.mntr(),
            "wchs" => self.wchs(),
            "wchc" => self.wchc(),
            "wchp" => self.wchp(),
            "dump" => self.dump(),
            "srst" => {
                self.reset_server_stats();
                "Server stats reset.\n".to_string()
            }
            "crst" => {
                self.reset_connection_stats();
                "Connection stats reset.\n".to_string()
            }
            "dirs" => {
                let (data, log) = self.dir_sizes();
                format!("datadir_size: {data}\nlogdir_size: {log}\n")
            }
            // ZooKeeper's digests of recent zxids (`digestEnabled`); corral keeps none.
            "hash" => String::new(),
            _ => String::new(),
        }
    }

    /// `srst`: ZooKeeper's `ServerStats.reset`, which also starts its metrics over.
    pub(crate) fn reset_server_stats(&mut self) {
        self.stats.reset();
        self.metrics.reset();
    }

    /// `crst`: every connection's figures start over (ZooKeeper's `ServerCnxn.resetStats`).
    pub(crate) fn reset_connection_stats(&mut self) {
        for c in self.registry.conns.values_mut() {
            c.received = 0;
            c.sent = 0;
            c.stats = crate::stats::ConnStats::new(c.stats.established_ms);
        }
    }

    /// Bytes in the data and log directories (`dirs`, `conf`'s sizes).
    pub(crate) fn dir_sizes(&self) -> (u64, u64) {
        (
            dir_size(&self.cfg.data_dir),
            dir_size(&self.cfg.data_log_dir),
        )
    }

    fn srvr(&self, with_clients: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Zookeeper version: {VERSION}");
        if with_clients {
            s.push_str("Clients:\n");
            s.push_str(&self.cons_lines(false));
            s.push('\n');
        }
        let (min, avg, max) = self.stats.latency.summary_ms();
        let _ = writeln!(s, "Latency min/avg/max: {min}/{}/{max}", java_double(avg));
        let _ = writeln!(s, "Received: {}", self.stats.received);
        let _ = writeln!(s, "Sent: {}", self.stats.sent);
        let _ = writeln!(s, "Connections: {}", self.connection_count());
        let _ = writeln!(s, "Outstanding: {}", self.outstanding());
        let _ = writeln!(s, "Zxid: {:#x}", self.tree.last_zxid());
        let _ = writeln!(s, "Mode: {}", self.mode().name());
        if let Some(leader) = self.ensemble.as_ref().and_then(|e| e.role.leader) {
            // corral's addition (ZooKeeper names no leader here); after Mode, which scripts read.
            let _ = writeln!(s, "Leader: {leader}");
        }
        let _ = writeln!(s, "Node count: {}", self.tree.node_count());
        if self.mode() == Mode::Leader {
            let p = &self.stats.proposal_sizes;
            let _ = writeln!(
                s,
                "Proposal sizes last/min/max: {}/{}/{}",
                p.last, p.min, p.max
            );
        }
        s
    }

    fn mntr(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.mntr_rows() {
            let _ = writeln!(s, "zk_{k}\t{v}");
        }
        s
    }

    /// ZooKeeper's `conf`: `ZookeeperServerConf`, then on an ensemble member the quorum's
    /// settings and the membership (ZooKeeper's dynamic config, without a final newline).
    fn conf(&self) -> String {
        let cfg = &self.cfg;
        let (min, max) = cfg.session_timeout_bounds_ms();
        let (data_size, log_size) = self.dir_sizes();
        let mut s = String::new();
        let _ = writeln!(s, "clientPort={}", cfg.client_port);
        let secure = cfg.secure_client_port.map_or(-1, i32::from);
        let _ = writeln!(s, "secureClientPort={secure}");
        let _ = writeln!(s, "dataDir={}", cfg.data_dir.display());
        let _ = writeln!(s, "dataDirSize={data_size}");
        let _ = writeln!(s, "dataLogDir={}", cfg.data_log_dir.display());
        let _ = writeln!(s, "dataLogSize={log_size}");
        let _ = writeln!(s, "tickTime={}", cfg.tick_time_ms);
        let _ = writeln!(s, "maxClientCnxns={}", cfg.max_client_cnxns);
        let _ = writeln!(s, "minSessionTimeout={min}");
        let _ = writeln!(s, "maxSessionTimeout={max}");
        let _ = writeln!(s, "clientPortListenBacklog=-1");
        let Some(e) = &self.ensemble else {
            let _ = writeln!(s, "serverId=0");
            return s;
        };
        let _ = writeln!(s, "serverId={}", e.my_id);
        let me = cfg.servers.get(&e.my_id);
        for key in ["initLimit", "syncLimit"] {
            let _ = writeln!(s, "{key}={}", self.source_value(key).unwrap_or("0"));
        }
        // ZooKeeper's only election algorithm; corral elects with Raft and takes the setting.
        let _ = writeln!(s, "electionAlg=3");
        let _ = writeln!(s, "electionPort={}", me.map_or(0, |m| m.election_port));
        let _ = writeln!(s, "quorumPort={}", me.map_or(0, |m| m.peer_port));
        let observer = me.is_some_and(|m| m.observer);
        let _ = writeln!(s, "peerType={}", u8::from(observer));
        s.push_str("membership: \n");
        s.push_str(&self.membership_text());
        s
    }

    fn source_value(&self, key: &str) -> Option<&str> {
        self.cfg
            .source
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The membership in force: `/zookeeper/config`'s text, or zoo.cfg's lines before the
    /// first leader wrote it.
    pub(crate) fn membership_text(&self) -> String {
        let node = self
            .tree
            .node(crate::pipeline::reconfig::CONFIG_NODE)
            .and_then(|n| n.data().map(|d| String::from_utf8_lossy(d).into_owned()))
            .unwrap_or_default();
        if !node.is_empty() {
            return node;
        }
        let lines: Vec<String> = self.cfg.servers.values().map(|m| m.config_line()).collect();
        String::from_utf8_lossy(&crate::ensemble::reconfig::config_text(&lines, 0)).into_owned()
    }

    /// Requests received and not yet answered, across sessions.
    pub(crate) fn outstanding(&self) -> usize {
        self.registry.sessions.values().map(|s| s.fifo.len()).sum()
    }
}

fn envi() -> String {
    let mut s = String::from("Environment:\n");
    for (k, v) in environment() {
        let _ = writeln!(s, "{k}={v}");
    }
    s
}

/// `envi`'s entries (also the admin server's `environment`), under ZooKeeper's keys: the
/// `java.*` ones describe the JVM and have no counterpart; the others are this process'.
pub(crate) fn environment() -> Vec<(&'static str, String)> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    let mut v = vec![
        ("zookeeper.version", VERSION.to_string()),
        ("host.name", read("/proc/sys/kernel/hostname")),
        ("os.name", capitalized(std::env::consts::OS)),
        ("os.arch", java_arch(std::env::consts::ARCH).to_string()),
        ("os.version", read("/proc/sys/kernel/osrelease")),
        ("user.name", user),
        ("user.home", std::env::var("HOME").unwrap_or_default()),
    ];
    if let Ok(dir) = std::env::current_dir() {
        v.push(("user.dir", dir.display().to_string()));
    }
    // The JVM's heap figures; here: nothing held in reserve, the machine's memory as the
    // limit, and what the process holds.
    let p = crate::metrics::process::Process::read();
    let mib = |b: f64| format!("{}MB", (b / (1024.0 * 1024.0)) as u64);
    let machine_kib = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    v.push(("os.memory.free", mib(0.0)));
    v.push(("os.memory.max", mib(machine_kib * 1024.0)));
    v.push((
        "os.memory.total",
        mib(p.resident_memory_bytes.unwrap_or(0.0)),
    ));
    v
}

/// The architecture as Java names it (`os.arch`).
fn java_arch(rust: &str) -> &str {
    match rust {
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
}

/// `linux` → `Linux`, as Java's `os.name`.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Bytes of the files under `dir`, as ZooKeeper's `getDataDirSize` (which counts its
/// `version-2` directory). Bounded in depth: corral's directories are two levels deep.
fn dir_size(dir: &Path) -> u64 {
    fn walk(dir: &Path, depth: u32) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() && depth > 0 => walk(&e.path(), depth - 1),
                Ok(m) if m.is_file() => m.len(),
                _ => 0,
            })
            .sum()
    }
    walk(dir, 4)
}
