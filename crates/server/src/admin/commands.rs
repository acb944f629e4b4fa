//! The core's answers to admin queries, in ZooKeeper 3.8's AdminServer JSON (`Commands.java`):
//! field names as ZooKeeper's (Jackson's snake case), `command` and `error` in every answer.
//! The 4lw whitelist does not apply, as in ZooKeeper; a command that needs a running server
//! answers "not serving" without a quorum. The quorum commands are in `quorum`.

use super::http::{self, Response};
use super::json::Json;
use super::metrics;
use super::{ok_json, Query};
use crate::ensemble::role::Mode;
use crate::fourlw::{environment, NOT_SERVING, TRACE_MASK, VERSION};
use crate::pipeline::Core;
use crate::stats::BufferSizes;

pub(super) type Fields = Vec<(String, Json)>;

pub(super) fn field(k: &str, v: Json) -> (String, Json) {
    (k.to_string(), v)
}

/// Commands ZooKeeper runs without a running server (`CommandBase`'s `serverRequired`
/// false; `ruok` is not one of them there either).
const WITHOUT_SERVER: [&str; 6] = [
    "environment",
    "get_trace_mask",
    "monitor",
    "set_trace_mask",
    "system_properties",
    "zabstate",
];

impl Core {
    pub(crate) fn admin(&mut self, query: Query) -> Response {
        match query {
            Query::Ready if self.serving() => ok_json(Json::Obj(vec![
                field("command", Json::str("ready")),
                field("error", Json::Null),
                field("status", Json::str("ready")),
            ])),
            Query::Ready => http::error(503, "ready", "not serving requests (no quorum)"),
            Query::Metrics => Response {
                status: 200,
                content_type: metrics::CONTENT_TYPE,
                body: metrics::render(&self.all_metrics()),
            },
            Query::Dashboard(read) => self.dashboard(read),
            Query::Command(name) => {
                if !self.serving() && !WITHOUT_SERVER.contains(&name) {
                    return http::error(200, name, NOT_SERVING);
                }
                let mut fields = vec![
                    field("command", Json::str(name)),
                    field("error", Json::Null),
                ];
                match self.command_fields(name) {
                    Ok(f) => fields.extend(f),
                    // ZooKeeper puts a command's own failure in `error`, with status 200.
                    Err(why) => fields[1].1 = Json::str(why),
                }
                ok_json(Json::Obj(fields))
            }
        }
    }

    fn command_fields(&mut self, name: &str) -> Result<Fields, &'static str> {
        Ok(match name {
            "server_stats" => self.server_stats(),
            "stats" => {
                let mut f = self.server_stats();
                f.push(field("connections", self.connections(false, false)));
                f.push(field("secure_connections", self.connections(false, true)));
                f
            }
            "monitor" if !self.serving() => return Err(NOT_SERVING),
            "monitor" => self
                .mntr_rows()
                .into_iter()
                .map(|(k, v)| field(&k, Json::guess(&v)))
                .collect(),
            "configuration" => self.configuration(),
            "initial_configuration" => {
                let text: String = self
                    .cfg
                    .source
                    .iter()
                    .map(|(k, v)| format!("{k}={v}\n"))
                    .collect();
                vec![field("initial_configuration", Json::Str(text))]
            }
            "environment" => environment()
                .into_iter()
                .map(|(k, v)| field(k, Json::Str(v)))
                .collect(),
            "system_properties" => system_properties(),
            "connections" => vec![
                field("connections", self.connections(true, false)),
                field("secure_connections", self.connections(true, true)),
            ],
            "connection_stat_reset" => {
                self.reset_connection_stats();
                vec![]
            }
            "stat_reset" => {
                self.reset_server_stats();
                vec![]
            }
            // No observer connects through another member here: nothing to reset.
            "observer_connection_stat_reset" => vec![],
            "dirs" => {
                let (data, log) = self.dir_sizes();
                vec![
                    field("datadir_size", Json::num(data)),
                    field("logdir_size", Json::num(log)),
                ]
            }
            "dump" => self.dump_fields(),
            "watch_summary" => {
                let (sessions, paths, total) = self.watch_summary();
                vec![
                    field("num_connections", Json::num(sessions)),
                    field("num_paths", Json::num(paths)),
                    field("num_total_watches", Json::num(total)),
                ]
            }
            "watches" => vec![field("session_id_to_watched_paths", self.watches_by(false))],
            "watches_by_path" => vec![field("path_to_session_ids", self.watches_by(true))],
            "is_read_only" => vec![field("read_only", Json::Bool(false))],
            "get_trace_mask" => vec![field("tracemask", Json::num(TRACE_MASK))],
            // ZooKeeper's answer without a `traceMask` argument; corral has no trace masks.
            "set_trace_mask" => return Err("setTraceMask requires long traceMask argument"),
            // ZooKeeper's digests of recent zxids; corral keeps none.
            "hash" => vec![field("digests", Json::Arr(vec![]))],
            "last_snapshot" => self.last_snapshot(),
            "leader" => self.leader()?,
            "observers" => self.observers(),
            "voting_view" => vec![field("current_config", self.voting_view())],
            "zabstate" => self.zabstate(),
            _ => vec![], // ruok: the command and a null error say it all.
        })
    }

    /// ZooKeeper's `ServerStatsCommand`, with its fields (those corral has no counterpart
    /// for as ZooKeeper reports them unused: 0, -1, false).
    fn server_stats(&self) -> Fields {
        let (min, avg, max) = self.stats.latency.summary_ms();
        let (data_size, log_size) = self.dir_sizes();
        let stats = Json::Obj(vec![
            field("packets_sent", Json::num(self.stats.sent)),
            field("packets_received", Json::num(self.stats.received)),
            field(
                "fsync_threshold_exceed_count",
                Json::num(self.metrics.fsync_threshold_exceeded()),
            ),
            field(
                "client_response_stats",
                buffer_sizes(&self.stats.client_response),
            ),
            field("data_dir_size", Json::num(data_size)),
            field("log_dir_size", Json::num(log_size)),
            field("provider_null", Json::Bool(false)),
            field("server_state", Json::str(self.mode().name())),
            field("last_processed_zxid", Json::num(self.tree.last_zxid())),
            field("outstanding_requests", Json::num(self.outstanding())),
            field("avg_latency", Json::Num(crate::metrics::java_double(avg))),
            field("max_latency", Json::num(max)),
            field("min_latency", Json::num(min)),
            field(
                "num_alive_client_connections",
                Json::num(self.registry.conn_count()),
            ),
            field(
                "uptime",
                Json::num(self.stats.started.elapsed().as_millis()),
            ),
            field("auth_failed_count", Json::num(self.stats.auth_failed)),
            field("non_mtlsremote_conn_count", Json::num(0)),
            field("non_mtlslocal_conn_count", Json::num(0)),
        ]);
        let mut f = vec![
            field("version", Json::str(VERSION)),
            field("read_only", Json::Bool(false)),
            field("server_stats", stats),
            field("client_response", buffer_sizes(&self.stats.client_response)),
        ];
        if self.mode() == Mode::Leader {
            f.push(field(
                "proposal_stats",
                buffer_sizes(&self.stats.proposal_sizes),
            ));
        }
        f.push(field("node_count", Json::num(self.tree.node_count())));
        f
    }

    /// ZooKeeper's `ZookeeperServerConf.toMap`.
    fn configuration(&self) -> Fields {
        let cfg = &self.cfg;
        let (min, max) = cfg.session_timeout_bounds_ms();
        let server_id = self.ensemble.as_ref().map_or(0, |e| e.my_id);
        vec![
            field("client_port", Json::num(cfg.client_port)),
            field("data_dir", Json::str(cfg.data_dir.display().to_string())),
            field(
                "data_log_dir",
                Json::str(cfg.data_log_dir.display().to_string()),
            ),
            field("tick_time", Json::num(cfg.tick_time_ms)),
            field("max_client_cnxns", Json::num(cfg.max_client_cnxns)),
            field("min_session_timeout", Json::num(min)),
            field("max_session_timeout", Json::num(max)),
            field("server_id", Json::num(server_id)),
            field("client_port_listen_backlog", Json::num(-1)),
        ]
    }

    /// ZooKeeper's `ServerCnxn.getConnectionInfo`, one object per connection: `stats` gives
    /// the brief form, `connections` the full one with the session's figures.
    /// `secure`: the secure port's connections, else the plain port's (ZooKeeper lists its two
    /// connection factories apart).
    fn connections(&self, full: bool, secure: bool) -> Json {
        let mut conns: Vec<_> = self
            .registry
            .conns
            .values()
            .filter(|c| c.outbox.tls.is_some() == secure)
            .collect();
        conns.sort_by_key(|c| c.connected_at);
        let list = conns
            .into_iter()
            .map(|c| {
                let outstanding = c
                    .session
                    .and_then(|sid| self.registry.sessions.get(&sid))
                    .map_or(0, |s| s.fifo.len());
                let mut f = vec![
                    field(
                        "remote_socket_address",
                        Json::str(c.outbox.peer.to_string()),
                    ),
                    field("interest_ops", Json::num(1)),
                    field("outstanding_requests", Json::num(outstanding)),
                    field("packets_received", Json::num(c.received)),
                    field("packets_sent", Json::num(c.sent)),
                ];
                if let Some(sid) = c.session.filter(|_| full) {
                    let st = &c.stats;
                    let to = self.registry.sessions.get(&sid).map_or(0, |x| x.timeout_ms);
                    let (min, avg, max) = st.latency.summary_ms();
                    f.extend([
                        field("session_id", Json::num(sid)),
                        field("last_operation", Json::str(st.last_op)),
                        field("established", Json::num(st.established_ms)),
                        field("session_timeout", Json::num(to)),
                        field("last_cxid", Json::num(st.last_cxid)),
                        field("last_zxid", Json::num(st.last_zxid)),
                        field("last_response_time", Json::num(st.last_response_ms)),
                        field("last_latency", Json::num(st.last_latency_ms)),
                        field("min_latency", Json::num(min)),
                        field("avg_latency", Json::num(avg as u64)),
                        field("max_latency", Json::num(max)),
                    ]);
                }
                Json::Obj(f)
            })
            .collect();
        Json::Arr(list)
    }

    /// ZooKeeper's `DumpCommand`: sessions by when they expire (ms; a learner has no expiry
    /// sets, as in ZooKeeper, where the leader expires sessions), and each session's
    /// ephemeral nodes.
    fn dump_fields(&self) -> Fields {
        let now = std::time::Instant::now();
        let now_ms = crate::pipeline::wall_clock_ms();
        let mut by_expiry: std::collections::BTreeMap<i64, Vec<Json>> = Default::default();
        let mut ids: Vec<i64> = self.registry.sessions.keys().copied().collect();
        ids.sort();
        if !matches!(self.mode(), Mode::Standalone | Mode::Leader) {
            ids.clear();
        }
        for id in ids {
            let at = self.tracker.deadline(id).map_or(now_ms, |d| {
                now_ms + d.saturating_duration_since(now).as_millis() as i64
            });
            by_expiry
                .entry(at / 1000 * 1000)
                .or_default()
                .push(Json::num(id));
        }
        let expiry = by_expiry
            .into_iter()
            .map(|(at, ids)| field(&at.to_string(), Json::Arr(ids)))
            .collect();
        let ephemerals = self
            .ephemerals_by_session()
            .into_iter()
            .map(|(id, paths)| {
                let paths = paths.into_iter().map(Json::Str).collect();
                field(&id.to_string(), Json::Arr(paths))
            })
            .collect();
        vec![
            field("expiry_time_to_session_ids", Json::Obj(expiry)),
            field("session_id_to_ephemeral_paths", Json::Obj(ephemerals)),
        ]
    }

    /// `watches` (session → paths) or `watches_by_path` (path → sessions), data watches only.
    fn watches_by(&self, by_path: bool) -> Json {
        let mut groups: std::collections::BTreeMap<String, Vec<Json>> = Default::default();
        for (sid, path) in self.data_watches() {
            let (key, value) = if by_path {
                (path, Json::num(sid))
            } else {
                (sid.to_string(), Json::Str(path))
            };
            groups.entry(key).or_default().push(value);
        }
        Json::Obj(groups.into_iter().map(|(k, v)| (k, Json::Arr(v))).collect())
    }

    /// The newest snapshot file: its zxid (hex, as ZooKeeper) and when it was written (s).
    fn last_snapshot(&self) -> Fields {
        let dir = self.cfg.data_dir.join(crate::recovery::SNAPSHOT_SUBDIR);
        let newest = corral_datatree::snapshot::files::list_snapshots(&dir)
            .ok()
            .and_then(|files| files.into_iter().next());
        let (zxid, timestamp) = match newest {
            Some(f) => {
                let secs = std::fs::metadata(&f.path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(-1, |d| d.as_secs() as i64);
                (format!("{:x}", f.zxid), secs)
            }
            None => ("-1".to_string(), -1),
        };
        vec![
            field("zxid", Json::Str(zxid)),
            field("timestamp", Json::num(timestamp)),
        ]
    }
}

fn buffer_sizes(b: &BufferSizes) -> Json {
    Json::Obj(vec![
        field("last_buffer_size", Json::num(b.last)),
        field("min_buffer_size", Json::num(b.min)),
        field("max_buffer_size", Json::num(b.max)),
    ])
}

/// Java's system properties where a process has them; the JVM's own (`java.*`, `jdk.*`,
/// `sun.*`) have no counterpart.
fn system_properties() -> Fields {
    let env = environment();
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| *key == k)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let mut f = vec![
        field("file.encoding", Json::str("UTF-8")),
        field("file.separator", Json::str("/")),
        field("line.separator", Json::str("\n")),
        field("native.encoding", Json::str("UTF-8")),
    ];
    for k in ["os.arch", "os.name", "os.version"] {
        f.push(field(k, Json::Str(get(k))));
    }
    f.push(field("path.separator", Json::str(":")));
    for k in ["user.dir", "user.home"] {
        f.push(field(k, Json::Str(get(k))));
    }
    f.push(field("user.name", Json::Str(get("user.name"))));
    f
}
