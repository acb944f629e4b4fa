//! The core's answers to admin queries, in ZooKeeper's AdminServer JSON (`Commands.java`):
//! field names as ZooKeeper's, `command` and `error` in every answer. The 4lw whitelist does
//! not apply, as in ZooKeeper; the "not serving" rule of four-letter words does.

use super::http::{self, Response};
use super::json::Json;
use super::metrics;
use super::{ok_json, primary_name, Query};
use crate::fourlw::{environment, VERSION};
use crate::pipeline::Core;

type Fields = Vec<(String, Json)>;

fn field(k: &str, v: Json) -> (String, Json) {
    (k.to_string(), v)
}

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
                body: metrics::render(&self.mntr_rows()),
            },
            Query::Dashboard(read) => self.dashboard(read),
            Query::Command(name) => {
                let command = primary_name(name);
                // As ZooKeeper: without a quorum, only what needs no running server answers.
                if !self.serving() && !matches!(name, "ruok" | "envi" | "isro") {
                    return http::error(
                        200,
                        command,
                        "This ZooKeeper instance is not currently serving requests",
                    );
                }
                let mut fields = vec![
                    field("command", Json::str(command)),
                    field("error", Json::Null),
                ];
                fields.extend(self.command_fields(name));
                ok_json(Json::Obj(fields))
            }
        }
    }

    fn command_fields(&self, name: &str) -> Fields {
        match name {
            "srvr" => self.server_stats(),
            "stat" => {
                let mut f = self.server_stats();
                f.push(field("connections", self.connections(false)));
                f.push(field("secure_connections", Json::Arr(vec![])));
                f
            }
            "mntr" => self
                .mntr_rows()
                .into_iter()
                .map(|(k, v)| field(k.trim_start_matches("zk_"), Json::guess(&v)))
                .collect(),
            "conf" => self.configuration(),
            "envi" => environment()
                .into_iter()
                .map(|(k, v)| field(k, Json::Str(v)))
                .collect(),
            "cons" => vec![
                field("connections", self.connections(true)),
                field("secure_connections", Json::Arr(vec![])),
            ],
            "dump" => self.dump_fields(),
            "wchs" => {
                let watches = self.data_watches();
                let sessions: std::collections::HashSet<i64> =
                    watches.iter().map(|(s, _)| *s).collect();
                let paths: std::collections::HashSet<&str> =
                    watches.iter().map(|(_, p)| p.as_str()).collect();
                vec![
                    field("num_connections", Json::num(sessions.len())),
                    field("num_paths", Json::num(paths.len())),
                    field("num_total_watches", Json::num(watches.len())),
                ]
            }
            "isro" => vec![field("read_only", Json::Bool(false))],
            _ => vec![], // ruok: the command and a null error say it all.
        }
    }

    /// ZooKeeper's `ServerStatsCommand`, with its fields (those corral has no counterpart
    /// for as ZooKeeper reports them unused: 0, -1, false).
    fn server_stats(&self) -> Fields {
        let (min, avg, max) = self.stats.latency.summary_ms();
        let no_buffers = || {
            Json::Obj(vec![
                field("last_buffer_size", Json::num(-1)),
                field("min_buffer_size", Json::num(-1)),
                field("max_buffer_size", Json::num(-1)),
            ])
        };
        let stats = Json::Obj(vec![
            field("packets_sent", Json::num(self.stats.sent)),
            field("packets_received", Json::num(self.stats.received)),
            field("fsync_threshold_exceed_count", Json::num(0)),
            field("client_response_stats", no_buffers()),
            field("data_dir_size", Json::num(0)),
            field("log_dir_size", Json::num(0)),
            field("provider_null", Json::Bool(false)),
            field("max_latency", Json::num(max)),
            field("min_latency", Json::num(min)),
            field("avg_latency", Json::num(avg)),
            field(
                "num_alive_client_connections",
                Json::num(self.registry.conn_count()),
            ),
            field("outstanding_requests", Json::num(self.outstanding())),
            field("server_state", Json::str(self.mode().name())),
            field("last_processed_zxid", Json::num(self.tree.last_zxid())),
            field(
                "uptime",
                Json::num(self.stats.started.elapsed().as_millis()),
            ),
            field("auth_failed_count", Json::num(0)),
            field("non_mtlsremote_conn_count", Json::num(0)),
            field("non_mtlslocal_conn_count", Json::num(0)),
        ]);
        vec![
            field("version", Json::str(VERSION)),
            field("read_only", Json::Bool(false)),
            field("server_stats", stats),
            field("client_response", no_buffers()),
            field("node_count", Json::num(self.tree.node_count())),
        ]
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

    /// ZooKeeper's `ServerCnxn.getConnectionInfo`, one object per connection: `stat` gives
    /// the brief form, `cons` the full one (`full`) with the session's figures.
    fn connections(&self, full: bool) -> Json {
        let mut conns: Vec<_> = self.registry.conns.values().collect();
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
                        field("session_timeout", Json::num(to)),
                        field("last_cxid", Json::num(st.last_cxid)),
                        field("last_zxid", Json::num(st.last_zxid)),
                        field("last_response_time", Json::num(st.last_response_ms)),
                        field("last_latency", Json::num(st.last_latency_ms)),
                        field("min_latency", Json::num(min)),
                        field("avg_latency", Json::num(avg as u64)),
                        field("max_latency", Json::num(max)),
                        field("established", Json::num(st.established_ms)),
                    ]);
                }
                Json::Obj(f)
            })
            .collect();
        Json::Arr(list)
    }

    /// ZooKeeper's `DumpCommand`: each session's ephemeral nodes. corral adds each session's
    /// timeout (`session_id_to_timeout`) where ZooKeeper gives its expiry buckets.
    fn dump_fields(&self) -> Fields {
        let mut ids: Vec<i64> = self.registry.sessions.keys().copied().collect();
        ids.sort();
        let ephemerals = ids
            .iter()
            .filter_map(|id| {
                let mut paths = self.tree.get_ephemerals(*id, "/");
                paths.sort();
                (!paths.is_empty()).then(|| {
                    field(
                        &id.to_string(),
                        Json::Arr(paths.into_iter().map(Json::Str).collect()),
                    )
                })
            })
            .collect();
        let timeouts = ids
            .iter()
            .map(|id| {
                field(
                    &id.to_string(),
                    Json::num(self.registry.sessions[id].timeout_ms),
                )
            })
            .collect();
        vec![
            field("session_id_to_ephemeral_paths", Json::Obj(ephemerals)),
            field("session_id_to_timeout", Json::Obj(timeouts)),
        ]
    }
}
