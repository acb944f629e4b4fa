//! This member's role and whether it may serve clients, watched from Raft's status.
//!
//! Serving, as ZooKeeper: a member serves only while it is part of a working quorum. A
//! leader serves while a quorum acknowledged it within the longest election window; a
//! follower or observer while it knows a leader and heard from it within that window, and
//! once it has applied what its log held at start. When serving stops, the core closes every
//! client connection and refuses new sessions, so clients move to a member that can serve.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_raft::{RaftNode, RaftRole, Status};
use tokio::sync::mpsc;

use crate::metrics::ServerMetrics;
use crate::pipeline::CoreMsg;

/// What `srvr`, `stat` and `mntr` call this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Standalone,
    Leader,
    Follower,
    Observer,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
        }
    }
}

/// The core's view of the ensemble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    pub mode: Mode,
    pub leader: Option<u64>,
    pub serving: bool,
    /// On a leader: members (other than itself) and whether each is in sync.
    pub followers: Vec<(u64, bool)>,
}

impl RoleInfo {
    pub fn standalone() -> RoleInfo {
        RoleInfo {
            mode: Mode::Standalone,
            leader: None,
            serving: true,
            followers: vec![],
        }
    }
}

/// When this member last heard from a leader (AppendEntries, heartbeats included), as
/// milliseconds since `epoch`. Written by the peer handler.
#[derive(Clone)]
pub struct LeaderContact {
    epoch: Instant,
    last_ms: Arc<AtomicU64>,
}

impl LeaderContact {
    pub fn new() -> LeaderContact {
        LeaderContact {
            epoch: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn heard(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.store(now.max(1), Ordering::Relaxed);
    }

    pub fn since(&self) -> Option<Duration> {
        let last = self.last_ms.load(Ordering::Relaxed);
        (last != 0).then(|| {
            self.epoch
                .elapsed()
                .saturating_sub(Duration::from_millis(last))
        })
    }
}

impl Default for LeaderContact {
    fn default() -> Self {
        LeaderContact::new()
    }
}

/// How often the role is re-evaluated (Raft's metrics change all the time; a poll is enough).
const POLL: Duration = Duration::from_millis(20);

/// Tells the core the role whenever it changes, until Raft or the core is gone.
pub async fn watch(
    node: RaftNode,
    contact: LeaderContact,
    core: mpsc::Sender<CoreMsg>,
    log_index_at_start: u64,
    metrics: Arc<ServerMetrics>,
) {
    let status = node.status();
    let mut last: Option<RoleInfo> = None;
    let mut caught_up = false;
    let mut outages = Outages::new(metrics.clone());
    let mut lag_sampled = Instant::now();
    loop {
        let st = status.get();
        if st.stopped.is_some() {
            return;
        }
        caught_up |= st.last_applied_index >= log_index_at_start;
        let info = role_of(&st, &contact, caught_up);
        let heard_at = contact.since().map(|ago| Instant::now() - ago);
        outages.saw(&info, st.term, heard_at);
        if info.mode == Mode::Leader && lag_sampled.elapsed() >= LAG_SAMPLE_INTERVAL {
            lag_sampled = Instant::now();
            sample_lag(&st, &metrics);
        }
        if last.as_ref() != Some(&info) {
            let moved = last.as_ref().is_none_or(|l| {
                (l.mode, l.leader, l.serving) != (info.mode, info.leader, info.serving)
            });
            if moved {
                tracing::info!(
                    mode = info.mode.name(),
                    leader = ?info.leader,
                    serving = info.serving,
                    term = st.term,
                    "ensemble role"
                );
            }
            if core.send(CoreMsg::Role(info.clone())).await.is_err() {
                return;
            }
            last = Some(info);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How often a leader samples each member's lag behind its log.
const LAG_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// A leader's sample of how far each other member is behind its log, in entries, under
/// ZooKeeper's `learner_handler_qp_size` (the packets queued for a learner, keyed by its id):
/// corral has no per-learner queue, and what is not yet matched is what one would hold.
fn sample_lag(st: &Status, metrics: &ServerMetrics) {
    for (id, matched) in &st.matched {
        if *id != st.id {
            let lag = st.last_log_index.saturating_sub(*matched);
            metrics.observe_in("learner_handler_qp_size", &id.to_string(), lag);
        }
    }
}

/// ZooKeeper's election metrics from the roles this member goes through. A spell without
/// serving is ZooKeeper's LOOKING (`looking_count` counts them); it lasts until a leader is
/// known (`election_time`) and then until this member serves again (`unavailable_time`;
/// on a leader also `leader_unavailable_time`; on a follower or observer the time from the
/// leader known to serving is its `follower_sync_time` or `observer_sync_time`). An election
/// can also finish between two looks (a new term, never seen without a leader): that spell
/// began when the old leader was last heard from.
struct Outages {
    metrics: Arc<ServerMetrics>,
    /// Set while not serving: since when, and when a leader became known.
    current: Option<(Instant, Option<Instant>)>,
    /// The Raft term last seen (0 before the first look).
    term: u64,
    /// When a leader was last heard from, as of the last look.
    last_heard: Option<Instant>,
}

impl Outages {
    /// A member starts out looking, as ZooKeeper's peers do.
    fn new(metrics: Arc<ServerMetrics>) -> Outages {
        metrics.count("looking_count", 1);
        Outages {
            metrics,
            current: Some((Instant::now(), None)),
            term: 0,
            last_heard: None,
        }
    }

    fn saw(&mut self, info: &RoleInfo, term: u64, heard_at: Option<Instant>) {
        let now = Instant::now();
        if self.current.is_none() && self.term != 0 && term != self.term {
            self.metrics.count("looking_count", 1);
            self.current = Some((self.last_heard.unwrap_or(now), None));
        }
        self.term = term;
        // A leader hears from no leader; what it heard as a follower stays its last word.
        if info.mode != Mode::Leader {
            self.last_heard = heard_at;
        }
        let m = &self.metrics;
        let Some((since, elected)) = self.current.as_mut() else {
            if !info.serving {
                m.count("looking_count", 1);
                self.current = Some((now, None));
            }
            return;
        };
        if elected.is_none() && (info.leader.is_some() || info.serving) {
            m.observe_ms("election_time", now - *since);
            *elected = Some(now);
        }
        if !info.serving {
            return;
        }
        m.observe_ms("unavailable_time", now - *since);
        let synced = now - elected.unwrap_or(now);
        match info.mode {
            Mode::Leader => m.observe_ms("leader_unavailable_time", now - *since),
            Mode::Follower => m.observe_ms("follower_sync_time", synced),
            Mode::Observer => m.observe_ms("observer_sync_time", synced),
            Mode::Standalone => {}
        }
        self.current = None;
    }
}

fn role_of(st: &Status, contact: &LeaderContact, caught_up: bool) -> RoleInfo {
    let window = Duration::from_millis(corral_raft::node::election_timeout_max_ms(st.voters.len()));
    // Not among the voters of a known membership: an observer (or a removed member).
    let observer = st.learners.contains_key(&st.id)
        || (!st.voters.is_empty() && !st.voters.contains_key(&st.id));
    let (mode, fresh) = match st.role {
        RaftRole::Leader => (
            Mode::Leader,
            st.millis_since_quorum_ack
                .is_some_and(|ms| ms < window.as_millis() as u64),
        ),
        _ => (
            if observer {
                Mode::Observer
            } else {
                Mode::Follower
            },
            st.leader.is_some_and(|l| l != st.id)
                && contact.since().is_some_and(|since| since < window),
        ),
    };
    let followers = if mode == Mode::Leader {
        st.voters
            .keys()
            .chain(st.learners.keys())
            .filter(|&&id| id != st.id)
            .map(|&id| {
                let matched = st.matched.get(&id).copied().unwrap_or(0);
                (id, matched + SYNCED_LAG >= st.last_log_index)
            })
            .collect()
    } else {
        vec![]
    };
    RoleInfo {
        mode,
        leader: st.leader,
        serving: fresh && caught_up,
        followers,
    }
}

/// A member at most this many entries behind the leader's log counts as synced.
const SYNCED_LAG: u64 = 16;
