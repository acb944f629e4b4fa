//! The HTTP side of operating corral, as ZooKeeper's AdminServer and Prometheus provider:
//!
//! - admin port (`admin.serverPort`): `GET /commands` lists the commands as ZooKeeper's
//!   links page, `GET /commands/<name>` answers one by any of its names in JSON with
//!   ZooKeeper's field names (every answer has `command` and `error`); `GET /health` (the core answers) and `GET /ready` (it serves clients: 503 for
//!   an ensemble member without a quorum).
//! - metrics port (`metricsProvider.httpPort`): `GET /metrics`, Prometheus text format.
//! - the web dashboard on the admin port (`GET /`, `/dashboard`) and its JSON API under
//!   `/api/` ([`dashboard`]); corral's own addition.
//!
//! [`http`] is the wire, [`json`] the encoding; the answers are computed by the core task
//! (`commands`, `metrics`, the dashboard's reads) from a [`CoreMsg::Admin`] message, as
//! four-letter words are, so they read one consistent state. A port that cannot be bound is
//! logged and skipped, as in ZooKeeper: clients are served regardless.

mod commands;
pub mod dashboard;
pub mod http;
pub mod json;
mod metrics;
mod quorum;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use corral_raft::StatusWatch;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::pipeline::CoreMsg;
use http::{Request, Response, JSON};
use json::Json;

/// What the admin port's handlers share.
#[derive(Clone)]
pub struct Admin {
    pub core: mpsc::Sender<CoreMsg>,
    /// Raft's view of the ensemble, for the dashboard's ensemble page.
    pub status: Arc<StatusWatch>,
    /// Where this server's clients connect: the dashboard writes as a client there.
    pub client_addr: SocketAddr,
    pub standalone: bool,
    pub dashboard: crate::config::Dashboard,
}

/// What the HTTP side asks the core.
#[derive(Debug)]
pub enum Query {
    /// A command by its primary name (see [`COMMANDS`]).
    Command(&'static str),
    Ready,
    Metrics,
    /// A read of the dashboard's API.
    Dashboard(dashboard::Read),
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
pub async fn start(cfg: &Config, admin: Admin) {
    if cfg.admin_enabled {
        let addr = SocketAddr::new(cfg.admin_address, cfg.admin_port);
        if let Some(listener) = bind(addr, "admin server").await {
            let admin = admin.clone();
            tokio::spawn(http::serve(listener, move |req| {
                admin_route(admin.clone(), req)
            }));
        }
    }
    if cfg.metrics_enabled {
        let addr = SocketAddr::new(cfg.metrics_address, cfg.metrics_port);
        if let Some(listener) = bind(addr, "metrics").await {
            let core = admin.core;
            tokio::spawn(http::serve(listener, move |req| {
                metrics_route(core.clone(), req)
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

async fn admin_route(admin: Admin, req: Request) -> Response {
    if admin.dashboard != crate::config::Dashboard::Off && dashboard::serves(&req.head.path) {
        return dashboard::route(&admin, req).await;
    }
    if req.head.method != "GET" {
        return http::error(405, "", &format!("{} is not allowed", req.head.method));
    }
    let core = admin.core;
    let path = req.head.path.trim_end_matches('/');
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

async fn metrics_route(core: mpsc::Sender<CoreMsg>, req: Request) -> Response {
    let path = req.head.path;
    if req.head.method != "GET" {
        return http::error(405, "", &format!("{} is not allowed", req.head.method));
    }
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
