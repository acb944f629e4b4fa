//! Counters the four-letter words report (ZooKeeper's `ServerStats`): packets, request
//! latency, reply and proposal sizes, failed authentications.

use std::time::{Duration, Instant};

pub struct ServerStats {
    pub received: u64,
    pub sent: u64,
    pub started: Instant,
    pub latency: Latency,
    /// Sizes of the replies sent (ZooKeeper's `clientResponseStats`).
    pub client_response: BufferSizes,
    /// Sizes of the entries this server proposed (a leader's `getProposalStats`).
    pub proposal_sizes: BufferSizes,
    /// Authentications refused (`auth_failed_count`).
    pub auth_failed: u64,
    /// When this member last became a serving leader (`leader_uptime`).
    pub leading_since: Option<Instant>,
}

/// Last, smallest and largest of some sizes in bytes; -1 before the first, as ZooKeeper's
/// `BufferStats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

impl Default for BufferSizes {
    fn default() -> Self {
        BufferSizes {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

impl BufferSizes {
    pub fn record(&mut self, bytes: usize) {
        let n = bytes as i64;
        self.last = n;
        self.min = if self.min < 0 { n } else { self.min.min(n) };
        self.max = self.max.max(n);
    }
}

impl ServerStats {
    pub fn new() -> ServerStats {
        ServerStats {
            received: 0,
            sent: 0,
            started: Instant::now(),
            latency: Latency::default(),
            client_response: BufferSizes::default(),
            proposal_sizes: BufferSizes::default(),
            auth_failed: 0,
            leading_since: None,
        }
    }

    /// `srst`: counters back to zero (ZooKeeper's `ServerStats.reset`, and a leader's
    /// proposal sizes); uptime keeps counting.
    pub fn reset(&mut self) {
        self.received = 0;
        self.sent = 0;
        self.latency = Latency::default();
        self.client_response = BufferSizes::default();
        self.proposal_sizes = BufferSizes::default();
        self.auth_failed = 0;
    }
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats::new()
    }
}

/// Request latency in whole milliseconds, as ZooKeeper reports it.
pub struct Latency {
    min_ms: u64,
    max_ms: u64,
    total_ms: u64,
    /// The same sum in microseconds: whole milliseconds round most requests down to 0.
    total_us: u64,
    count: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            min_ms: u64::MAX,
            max_ms: 0,
            total_ms: 0,
            total_us: 0,
            count: 0,
        }
    }
}

impl Latency {
    pub fn record(&mut self, d: Duration) {
        let ms = d.as_millis() as u64;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
        self.total_ms += ms;
        self.total_us += d.as_micros() as u64;
        self.count += 1;
    }

    /// (requests counted, their summed latency in µs): the dashboard's charts take the
    /// difference between two readings.
    pub fn totals(&self) -> (u64, u64) {
        (self.count, self.total_us)
    }

    /// (min, avg, max), zeros before the first request, the average rounded to 4 decimals,
    /// as ZooKeeper's `AvgMinMaxCounter`.
    pub fn summary_ms(&self) -> (u64, f64, u64) {
        if self.count == 0 {
            return (0, 0.0, 0);
        }
        let avg = self.total_ms as f64 / self.count as f64;
        (
            self.min_ms,
            (avg * 10_000.0).round() / 10_000.0,
            self.max_ms,
        )
    }
}

/// Per-connection figures for `cons`, in ZooKeeper's field names.
pub struct ConnStats {
    /// Wall-clock ms when the connection was established (`est`).
    pub established_ms: i64,
    /// Short name of the last operation (`lop`), as ZooKeeper abbreviates it.
    pub last_op: &'static str,
    pub last_cxid: i32,
    pub last_zxid: i64,
    /// Wall-clock ms of the last response (`lresp`).
    pub last_response_ms: i64,
    pub last_latency_ms: u64,
    pub latency: Latency,
}

impl ConnStats {
    pub fn new(established_ms: i64) -> ConnStats {
        ConnStats {
            established_ms,
            last_op: "NA",
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: Latency::default(),
        }
    }
}

/// ZooKeeper's four-character names for operations in `cons` (`lop=`).
pub fn op_name(op: corral_jute::OpCode) -> &'static str {
    use corral_jute::OpCode::*;
    match op {
        Create | Create2 | CreateContainer | CreateTtl => "CREA",
        Delete | DeleteContainer => "DELE",
        Exists => "EXIS",
        GetData => "GETD",
        SetData => "SETD",
        GetAcl => "GETA",
        SetAcl => "SETA",
        GetChildren => "GETC",
        GetChildren2 => "GETC",
        Sync => "SYNC",
        Ping => "PING",
        Check => "CHEC",
        Multi => "MULT",
        MultiRead => "MLTR",
        SetWatches | SetWatches2 => "SETW",
        AddWatch => "ADDW",
        CheckWatches => "CHKW",
        RemoveWatches => "REMW",
        GetEphemerals => "GETE",
        GetAllChildrenNumber => "GETACN",
        WhoAmI => "HOMI",
        Reconfig => "RECO",
        CloseSession => "CLOS",
        CreateSession => "SESS",
        Auth => "AUTH",
        _ => "NA",
    }
}
