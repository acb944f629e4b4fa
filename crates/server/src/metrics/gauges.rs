//! The gauges the core computes from its state when asked (ZooKeeper registers them as
//! callbacks: `ZooKeeperServer.registerMetrics`, and on a leader `LeaderZooKeeperServer`),
//! and `mntr`'s rows: version and state, then every metric as ZooKeeper's default provider
//! prints it.

use super::process::{max_fds, open_fds};
use super::{mntr_rows, Metric, Num};
use crate::ensemble::role::Mode;
use crate::fourlw::VERSION;
use crate::pipeline::Core;

impl Core {
    /// Every metric: gauges first, then the registry's counters and summaries.
    pub(crate) fn all_metrics(&self) -> Vec<Metric> {
        let mut all = self.gauges();
        all.extend(self.metrics.snapshot());
        // ZooKeeper's quota gauge sets, from the quota nodes as they are now.
        let quota = self.tree.quota_per_namespace();
        for m in &mut all {
            if let Metric::LabelledSet { name, members, .. } = m {
                if let Some(i) = super::GAUGE_SETS.iter().position(|g| g == name) {
                    *members = quota[i].iter().map(|(k, v)| (k.clone(), *v)).collect();
                }
            }
        }
        all
    }

    fn gauges(&self) -> Vec<Metric> {
        let int = |v: i64| Num::Int(v);
        let (min, avg, max) = self.stats.latency.summary_ms();
        let resp = &self.stats.client_response;
        let mut g: Vec<(&'static str, Num)> = vec![
            ("avg_latency", Num::Float(avg)),
            ("max_latency", int(max as i64)),
            ("min_latency", int(min as i64)),
            ("packets_received", int(self.stats.received as i64)),
            ("packets_sent", int(self.stats.sent as i64)),
            ("num_alive_connections", int(self.connection_count() as i64)),
            ("outstanding_requests", int(self.outstanding() as i64)),
            (
                "uptime",
                int(self.stats.started.elapsed().as_millis() as i64),
            ),
            ("znode_count", int(self.tree.node_count() as i64)),
            ("watch_count", int(self.watches.watch_count() as i64)),
            ("ephemerals_count", int(self.tree.ephemeral_count() as i64)),
            (
                "approximate_data_size",
                int(self.tree.approximate_data_size() as i64),
            ),
            ("global_sessions", int(self.registry.sessions.len() as i64)),
            // corral has no local sessions (`localSessionsEnabled`).
            ("local_sessions", int(0)),
            ("open_file_descriptor_count", int(open_fds() as i64)),
            ("max_file_descriptor_count", int(max_fds() as i64)),
            // ZooKeeper's fault injection for tests, off unless set.
            ("connection_drop_probability", Num::Float(0.0)),
            ("last_client_response_size", int(resp.last)),
            ("max_client_response_size", int(resp.max)),
            ("min_client_response_size", int(resp.min)),
            // No TLS on the client port: no handshakes, every connection is non-mTLS but
            // ZooKeeper counts those only on a secure port.
            ("outstanding_tls_handshake", int(0)),
            ("auth_failed_count", int(self.stats.auth_failed as i64)),
            ("non_mtls_remote_conn_count", int(0)),
            ("non_mtls_local_conn_count", int(0)),
        ];
        if let Some(e) = &self.ensemble {
            let voters = self
                .cfg
                .ensemble()
                .ok()
                .flatten()
                .map_or(0, |en| en.voters().count());
            g.push(("quorum_size", int(voters as i64)));
            if e.role.mode == Mode::Leader {
                let observers = self.observer_ids();
                let synced = |observer: bool| {
                    e.role
                        .followers
                        .iter()
                        .filter(|(id, ok)| *ok && observers.contains(id) == observer)
                        .count() as i64
                };
                let proposals = &self.stats.proposal_sizes;
                g.extend([
                    ("learners", int(e.role.followers.len() as i64)),
                    ("synced_followers", int(synced(false))),
                    // Non-voting followers exist in ZooKeeper only during a reconfig.
                    ("synced_non_voting_followers", int(0)),
                    ("synced_observers", int(synced(true))),
                    // A `sync` is a log entry here, not a request waiting on the leader.
                    ("pending_syncs", int(0)),
                    (
                        "leader_uptime",
                        int(self
                            .stats
                            .leading_since
                            .map_or(0, |t| t.elapsed().as_millis() as i64)),
                    ),
                    ("last_proposal_size", int(proposals.last)),
                    ("max_proposal_size", int(proposals.max)),
                    ("min_proposal_size", int(proposals.min)),
                ]);
            }
        }
        g.into_iter().map(|(n, v)| Metric::Gauge(n, v)).collect()
    }

    /// The ids of the configured observers.
    fn observer_ids(&self) -> Vec<u64> {
        self.cfg.ensemble().ok().flatten().map_or(vec![], |en| {
            en.members
                .values()
                .filter(|m| m.observer)
                .map(|m| m.id)
                .collect()
        })
    }

    /// ZooKeeper's `getDetailedPeerState`: the peer state, and the Zab phase once settled.
    pub(crate) fn peer_state(&self) -> Option<&'static str> {
        let e = self.ensemble.as_ref()?;
        Some(match (e.role.serving, e.role.mode) {
            (false, _) => "looking",
            (true, Mode::Leader) => "leading - broadcast",
            (true, Mode::Observer) => "observing - broadcast",
            (true, _) => "following - broadcast",
        })
    }

    /// `mntr`'s keys (without `zk_`) and values, in its order (also the admin server's
    /// `monitor`).
    pub(crate) fn mntr_rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![
            ("version".to_string(), VERSION.to_string()),
            ("server_state".to_string(), self.mode().name().to_string()),
        ];
        if let Some(state) = self.peer_state() {
            rows.push(("peer_state".to_string(), state.to_string()));
        }
        if let Some(e) = self
            .ensemble
            .as_ref()
            .filter(|e| e.role.mode == Mode::Observer)
        {
            // ZooKeeper's observer names the member it follows; corral's follow the leader.
            let master = e.role.leader.map_or(-1, |id| id as i64);
            rows.push(("observer_master_id".to_string(), master.to_string()));
        }
        if let Some(leader) = self.ensemble.as_ref().and_then(|e| e.role.leader) {
            // corral's addition (ZooKeeper's `mntr` names no leader), as `srvr`'s `Leader:`.
            rows.push(("leader_id".to_string(), leader.to_string()));
        }
        rows.extend(mntr_rows(&self.all_metrics()));
        rows
    }
}
