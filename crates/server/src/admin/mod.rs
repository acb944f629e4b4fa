//! The HTTP side of operating corral, as ZooKeeper's AdminServer and Prometheus provider:
//!
//! - admin port (`admin.serverPort`): `GET /commands` lists the commands as ZooKeeper's
//!   links page, `GET /commands/<name>` answers one by any of its names in JSON with
//!   ZooKeeper's field names (every answer has `command` and `error`); `GET /health` (the core answers) and `GET /ready` (it serves clients: 503 for
//!   an ensemble member without a quorum).
//! - metrics port (`metricsProvider.httpPort`): `GET /metrics`, Prometheus text format.
//!
//! [`http`] is the wire, [`json`] the encoding; the answers are computed by the core task
//! (`commands`, `metrics`) from a [`CoreMsg::Admin`] message, as four-letter words are, so
//! they read one consistent state. A port that cannot be bound is logged and skipped, as in
//! ZooKeeper: clients are served regardless.

mod commands;
pub mod http;
pub mod json;
mod metrics;
mod quorum;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::pipeline::CoreMsg;
use http::{Response, JSON};
use json::Json;

/// What the HTTP side asks the core.
#[derive(Debug)]
pub enum Query {
    /// A command by its primary name (see [`COMMANDS`]).
    Command(&'static str),
    Ready,
    Metrics,
}

/// ZooKeeper 3.8's AdminServer commands, each with its names: the primary one first (which
/// answers carry in `command`, in the order `/commands` lists them), then its aliases.
pub const COMMANDS: [&[&str]; 26] = [
    &["configuration", "conf", "config"],
    &["connection_stat_reset", "crst"],
    &["connections", "cons"],
    &["dirs"],
    &["dump"],
    &["environment", "env", "envi"],
    &["get_trace_mask", "gtmk"],
    &["hash"],
    &["initial_configuration", "icfg"],
    &["is_read_only", "isro"],
    &["last_snapshot", "lsnp"],
    &["leader", "lead"],
    &["monitor", "mntr"],
    &["observer_connection_stat_reset", "orst"],
    &["observers", "obsr"],
    &["ruok"],
    &["server_stats", "srvr"],
    &["set_trace_mask", "stmk"],
    &["stat_reset", "srst"],
    &["stats", "stat"],
    &["system_properties", "sysp"],
    &["voting_view"],
    &["watch_summary", "wchs"],
    &["watches", "wchc"],
    &["watches_by_path", "wchp"],
    &["zabstate"],
];

/// The primary name of a command given by any of its names.
pub fn command_named(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|names| names.contains(&name))
        .map(|names| names[0])
}

/// ZooKeeper's `/commands` page: a link per command.
fn commands_page() -> Response {
    let body = COMMANDS
        .iter()
        .map(|names| format!("<a href=\"/commands/{0}\">{0}</a>\n<br/>\n", names[0]))
        .collect();
    Response {
        status: 200,
        content_type: "text/html",
        body,
    }
}

/// Binds the admin and metrics ports the configuration enables, and serves them.
pub async fn start(cfg: &Config, core: mpsc::Sender<CoreMsg>) {
    if cfg.admin_enabled {
        let addr = SocketAddr::new(cfg.admin_address, cfg.admin_port);
        if let Some(listener) = bind(addr, "admin server").await {
            let core = core.clone();
            tokio::spawn(http::serve(listener, move |path| {
                admin_route(core.clone(), path)
            }));
        }
    }
    if cfg.metrics_enabled {
        let addr = SocketAddr::new(cfg.metrics_address, cfg.metrics_port);
        if let Some(listener) = bind(addr, "metrics").await {
            tokio::spawn(http::serve(listener, move |path| {
                metrics_route(core.clone(), path)
            }));
        }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> Option<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => {
            tracing::info!("{what} listening on http://{addr}");
            Some(l)
        }
        Err(e) => {
            tracing::warn!("{what} not started: cannot bind {addr}: {e}");
            None
        }
    }
}

async fn ask(core: &mpsc::Sender<CoreMsg>, query: Query) -> Option<Response> {
    let (reply, answer) = oneshot::channel();
    let limit = Duration::from_millis(http::REQUEST_TIMEOUT_MS);
    core.send_timeout(CoreMsg::Admin { query, reply }, limit)
        .await
        .ok()?;
    answer.await.ok()
}

async fn admin_route(core: mpsc::Sender<CoreMsg>, path: String) -> Response {
    let path = path.trim_end_matches('/');
    match path {
        "/commands" | "" => commands_page(),
        "/health" => match ask(&core, Query::Ready).await {
            Some(_) => ok_json(Json::Obj(vec![
                ("command".into(), Json::str("health")),
                ("error".into(), Json::Null),
                ("status".into(), Json::str("ok")),
            ])),
            None => http::error(503, "health", "the server is not running"),
        },
        "/ready" => match ask(&core, Query::Ready).await {
            Some(r) => r,
            None => http::error(503, "ready", "the server is not running"),
        },
        _ => {
            let Some(name) = path.strip_prefix("/commands/") else {
                return http::error(404, "", &format!("no such path {path}"));
            };
            let Some(command) = command_named(name) else {
                return http::error(404, name, &format!("Command {name} not found"));
            };
            match ask(&core, Query::Command(command)).await {
                Some(r) => r,
                None => http::error(503, command, "the server is not running"),
            }
        }
    }
}

async fn metrics_route(core: mpsc::Sender<CoreMsg>, path: String) -> Response {
    if path != "/metrics" {
        return http::error(404, "", &format!("no such path {path}"));
    }
    match ask(&core, Query::Metrics).await {
        Some(r) => r,
        None => http::error(503, "metrics", "the server is not running"),
    }
}

pub(crate) fn ok_json(body: Json) -> Response {
    Response {
        status: 200,
        content_type: JSON,
        body: body.to_text(),
    }
}
