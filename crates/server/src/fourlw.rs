//! Four-letter words on the client port (`ruok`, `srvr`, `mntr`, …), with ZooKeeper's output
//! formats so existing scripts and monitoring parse them. The whitelist
//! (`4lw.commands.whitelist`) gates them exactly as in ZooKeeper.

use std::fmt::Write;

use crate::ensemble::role::Mode;
use crate::pipeline::Core;

/// Every four-letter word corral knows (the connection recognizes them by their first bytes).
pub const WORDS: [&str; 15] = [
    "ruok", "srvr", "stat", "conf", "cons", "envi", "mntr", "wchs", "wchc", "wchp", "dump", "isro",
    "srst", "crst", "dirs",
];

/// The version string scripts look for after `Zookeeper version: `.
pub const VERSION: &str = concat!(
    "3.8.0-corral-",
    env!("CARGO_PKG_VERSION"),
    ", built on corral"
);

pub fn is_word(first: &[u8]) -> Option<&'static str> {
    WORDS.iter().copied().find(|w| w.as_bytes() == first)
}

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
        if !self.serving() && !matches!(word, "ruok" | "envi" | "isro" | "dirs" | "srst" | "crst") {
            return "This ZooKeeper instance is not currently serving requests\n".to_string();
        }
        match word {
            "ruok" => "imok".to_string(),
            "isro" => "rw".to_string(),
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
                self.stats.reset();
                "Server stats reset.\n".to_string()
            }
            "crst" => {
                for c in self.registry.conns.values_mut() {
                    c.received = 0;
                    c.sent = 0;
                }
                "Connection stats reset.\n".to_string()
            }
            "dirs" => "datadir_size: 0\nlogdir_size: 0\n".to_string(),
            _ => String::new(),
        }
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
        let _ = writeln!(s, "Latency min/avg/max: {min}/{avg:.4}/{max}");
        let _ = writeln!(s, "Received: {}", self.stats.received);
        let _ = writeln!(s, "Sent: {}", self.stats.sent);
        let _ = writeln!(s, "Connections: {}", self.registry.conn_count());
        let _ = writeln!(s, "Outstanding: {}", self.outstanding());
        let _ = writeln!(s, "Zxid: {:#x}", self.tree.last_zxid());
        let _ = writeln!(s, "Mode: {}", self.mode().name());
        if let Some(leader) = self.ensemble.as_ref().and_then(|e| e.role.leader) {
            // corral's addition (ZooKeeper names no leader here); after Mode, which scripts read.
            let _ = writeln!(s, "Leader: {leader}");
        }
        let _ = writeln!(s, "Node count: {}", self.tree.node_count());
        s
    }

    fn mntr(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.mntr_rows() {
            let _ = writeln!(s, "{k}\t{v}");
        }
        s
    }

    /// `mntr`'s keys and values, in its order (also the admin server's `monitor` and the
    /// Prometheus metrics).
    pub(crate) fn mntr_rows(&self) -> Vec<(&'static str, String)> {
        let (min, avg, max) = self.stats.latency.summary_ms();
        let rows: Vec<(&str, String)> = vec![
            ("zk_version", VERSION.to_string()),
            ("zk_server_state", self.mode().name().into()),
            ("zk_avg_latency", format!("{avg:.4}")),
            ("zk_max_latency", max.to_string()),
            ("zk_min_latency", min.to_string()),
            ("zk_packets_received", self.stats.received.to_string()),
            ("zk_packets_sent", self.stats.sent.to_string()),
            (
                "zk_num_alive_connections",
                self.registry.conn_count().to_string(),
            ),
            ("zk_outstanding_requests", self.outstanding().to_string()),
            ("zk_znode_count", self.tree.node_count().to_string()),
            ("zk_watch_count", self.watches.watch_count().to_string()),
            (
                "zk_ephemerals_count",
                self.tree.ephemeral_count().to_string(),
            ),
            (
                "zk_approximate_data_size",
                self.tree.approximate_data_size().to_string(),
            ),
            ("zk_open_file_descriptor_count", open_fds().to_string()),
            ("zk_max_file_descriptor_count", max_fds().to_string()),
            (
                "zk_uptime",
                self.stats.started.elapsed().as_millis().to_string(),
            ),
            (
                "zk_global_sessions",
                self.registry.sessions.len().to_string(),
            ),
            ("zk_local_sessions", "0".into()),
            ("zk_last_proposal_size", "-1".into()),
        ];
        let mut rows = rows;
        if let Some(leader) = self.ensemble.as_ref().and_then(|e| e.role.leader) {
            rows.push(("zk_leader_id", leader.to_string()));
        }
        if let Some(e) = self
            .ensemble
            .as_ref()
            .filter(|e| e.role.mode == Mode::Leader)
        {
            let synced = e.role.followers.iter().filter(|(_, ok)| *ok).count();
            rows.push(("zk_learners", e.role.followers.len().to_string()));
            rows.push(("zk_synced_followers", synced.to_string()));
        }
        rows
    }

    fn conf(&self) -> String {
        let cfg = &self.cfg;
        let (min, max) = cfg.session_timeout_bounds_ms();
        let mut s = String::new();
        let _ = writeln!(s, "clientPort={}", cfg.client_port);
        let _ = writeln!(s, "secureClientPort=-1");
        let _ = writeln!(s, "dataDir={}", cfg.data_dir.display());
        let _ = writeln!(s, "dataDirSize=0");
        let _ = writeln!(s, "dataLogDir={}", cfg.data_log_dir.display());
        let _ = writeln!(s, "dataLogSize=0");
        let _ = writeln!(s, "tickTime={}", cfg.tick_time_ms);
        let _ = writeln!(s, "maxClientCnxns={}", cfg.max_client_cnxns);
        let _ = writeln!(s, "minSessionTimeout={min}");
        let _ = writeln!(s, "maxSessionTimeout={max}");
        let _ = writeln!(s, "clientPortListenBacklog=-1");
        let _ = writeln!(s, "serverId=0");
        s
    }

    /// Requests received and not yet answered, across sessions.
    pub(crate) fn outstanding(&self) -> usize {
        self.registry.sessions.values().map(|s| s.fifo.len()).sum()
    }

    /// One line per connection: ZooKeeper's short form for `stat`, full form for `cons`.
    fn cons_lines(&self, full: bool) -> String {
        let mut conns: Vec<_> = self.registry.conns.values().collect();
        conns.sort_by_key(|c| c.connected_at);
        let mut s = String::new();
        for c in conns {
            let _ = write!(
                s,
                " /{}[1](queued={},recved={},sent={}",
                c.outbox.peer,
                c.outbox.queued_bytes(),
                c.received,
                c.sent
            );
            if full {
                let st = &c.stats;
                let sid = c.session.unwrap_or(0);
                let to = self.registry.sessions.get(&sid).map_or(0, |x| x.timeout_ms);
                let (min, avg, max) = st.latency.summary_ms();
                let _ = write!(
                    s,
                    ",sid={sid:#x},lop={},est={},to={to},lcxid={:#x},lzxid={:#x},lresp={},\
                     llat={},minlat={min},avglat={},maxlat={max}",
                    st.last_op,
                    st.established_ms,
                    st.last_cxid,
                    st.last_zxid,
                    st.last_response_ms,
                    st.last_latency_ms,
                    avg as u64,
                );
            }
            s.push_str(")\n");
        }
        s
    }

    fn cons(&self) -> String {
        let mut s = self.cons_lines(true);
        s.push('\n');
        s
    }

    /// The data watches (ZooKeeper's `DataTree.getWatches`): (session, path) pairs.
    pub(crate) fn data_watches(&self) -> Vec<(i64, String)> {
        let mut v: Vec<(i64, String)> = self
            .watches
            .data_watches()
            .into_iter()
            .filter_map(|(conn, path)| {
                let sid = self.registry.conns.get(&conn)?.session?;
                Some((sid, path))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn wchc(&self) -> String {
        let mut s = String::new();
        let mut current = None;
        for (sid, path) in self.data_watches() {
            if current != Some(sid) {
                if current.is_some() {
                    s.push('\n');
                }
                let _ = writeln!(s, "{sid:#x}");
                current = Some(sid);
            }
            let _ = writeln!(s, "\t{path}");
        }
        s.push('\n');
        s
    }

    fn wchp(&self) -> String {
        let mut by_path: Vec<(String, i64)> = self
            .data_watches()
            .into_iter()
            .map(|(sid, p)| (p, sid))
            .collect();
        by_path.sort();
        let mut s = String::new();
        let mut current: Option<String> = None;
        for (path, sid) in by_path {
            if current.as_deref() != Some(path.as_str()) {
                if current.is_some() {
                    s.push('\n');
                }
                let _ = writeln!(s, "{path}");
                current = Some(path);
            }
            let _ = writeln!(s, "\t{sid:#x}");
        }
        s.push('\n');
        s
    }

    fn dump(&self) -> String {
        let mut s = String::from("SessionTracker dump:\n");
        let mut ids: Vec<i64> = self.registry.sessions.keys().copied().collect();
        ids.sort();
        let _ = writeln!(s, "Global Sessions({}):", ids.len());
        for id in &ids {
            let to = self.registry.sessions[id].timeout_ms;
            let _ = writeln!(s, "{id:#x}\t{to}ms");
        }
        s.push_str("ephemeral nodes dump:\n");
        let with: Vec<(i64, Vec<String>)> = ids
            .iter()
            .map(|id| (*id, self.tree.get_ephemerals(*id, "/")))
            .filter(|(_, e)| !e.is_empty())
            .collect();
        let _ = writeln!(s, "Sessions with Ephemerals ({}):", with.len());
        for (id, mut paths) in with {
            paths.sort();
            let _ = writeln!(s, "{id:#x}:");
            for p in paths {
                let _ = writeln!(s, "\t{p}");
            }
        }
        s
    }

    /// Counts data watches only, as ZooKeeper's `DataTree.getWatchesSummary` does.
    fn wchs(&self) -> String {
        let watches = self.data_watches();
        let conns: std::collections::HashSet<i64> = watches.iter().map(|(s, _)| *s).collect();
        let paths: std::collections::HashSet<&str> =
            watches.iter().map(|(_, p)| p.as_str()).collect();
        format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            conns.len(),
            paths.len(),
            watches.len()
        )
    }
}

fn envi() -> String {
    let mut s = String::from("Environment:\n");
    for (k, v) in environment() {
        let _ = writeln!(s, "{k}={v}");
    }
    s
}

/// `envi`'s entries (also the admin server's `environment`).
pub(crate) fn environment() -> Vec<(&'static str, String)> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut v = vec![
        ("zookeeper.version", VERSION.to_string()),
        ("host.name", host.trim().to_string()),
        ("os.name", std::env::consts::OS.to_string()),
        ("os.arch", std::env::consts::ARCH.to_string()),
    ];
    if let Ok(dir) = std::env::current_dir() {
        v.push(("user.dir", dir.display().to_string()));
    }
    v
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn max_fds() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
