//! The web dashboard on the admin port: static files (`index.html`, `app.js`, `style.css`,
//! embedded in the binary; no build step, nothing fetched from elsewhere) and their JSON API:
//!
//! - `GET /api/ensemble`: the members as Raft here knows them, roles, leader, lag (`ensemble`)
//! - `GET /api/node?path=P[&offset=N]`: Stat, ACL, a page of children and, when the ACL lets
//!   world or the digest in `X-Corral-Auth` read it, the data (`reads`)
//! - `GET /api/sessions`, `/api/watches`, `/api/election?path=P`, `/api/stats` (`reads`)
//! - `POST /api/write` (JSON body): set, create or delete as a client with the digest the
//!   user entered (`write`)
//!
//! Reads are answered by the core (one consistent state), as `/commands/` are. Every answer is
//! JSON; a refusal is `{"error": name, "message": why}` with a 4xx or 5xx status.

mod ensemble;
mod reads;
mod write;

use super::http::{Request, Response, JSON};
use super::json::Json;
use super::{ask, Admin, Query};
use crate::config::Dashboard;

/// The header that carries `user:password` for reads of data (never logged).
pub const AUTH_HEADER: &str = "x-corral-auth";

/// `user:password` as the user entered it. Its `Debug` hides it, so no log line or panic
/// message can carry a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(pub String);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<hidden>)")
    }
}

/// What the core answers for the dashboard.
#[derive(Debug)]
pub enum Read {
    Node {
        path: String,
        /// The first child listed (children come in pages of `reads::CHILDREN_PAGE`).
        offset: usize,
        /// For a digest identity, if the user entered one.
        auth: Option<Credentials>,
    },
    Sessions,
    Watches,
    Election {
        path: String,
    },
    Stats,
}

/// Whether a path belongs to the dashboard rather than to ZooKeeper's admin commands.
pub fn serves(path: &str) -> bool {
    path == "/"
        || path == "/dashboard"
        || path.starts_with("/dashboard/")
        || path.starts_with("/api/")
}

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = include_str!("style.css");

pub async fn route(admin: &Admin, req: Request) -> Response {
    let method = req.head.method.as_str();
    let path = req.head.path.trim_end_matches('/');
    if path == "/api/write" {
        return match method {
            "POST" if admin.dashboard == Dashboard::ReadOnly => api_error(
                403,
                "ReadOnly",
                "this dashboard is read-only (admin.dashboard)",
            ),
            "POST" => write::run(admin, &req).await,
            _ => api_error(405, "MethodNotAllowed", "writes are POSTs"),
        };
    }
    if method != "GET" {
        return api_error(405, "MethodNotAllowed", "only GET here");
    }
    let file = |content_type, body: &str| Response {
        status: 200,
        content_type,
        body: body.to_string(),
    };
    let read = match path {
        "" | "/dashboard" | "/dashboard/index.html" => {
            return file("text/html; charset=utf-8", INDEX_HTML)
        }
        "/dashboard/app.js" => return file("text/javascript; charset=utf-8", APP_JS),
        "/dashboard/style.css" => return file("text/css; charset=utf-8", STYLE_CSS),
        "/api/ensemble" => return ensemble::answer(admin).await,
        "/api/node" => {
            let Some(path) = req.param("path") else {
                return api_error(400, "BadArguments", "path is required");
            };
            let offset = match req.param("offset").map(|o| o.parse::<usize>()) {
                None => 0,
                Some(Ok(o)) => o,
                Some(Err(_)) => return api_error(400, "BadArguments", "offset is not a number"),
            };
            let auth = req
                .head
                .header(AUTH_HEADER)
                .map(|a| Credentials(a.to_string()));
            Read::Node { path, offset, auth }
        }
        "/api/sessions" => Read::Sessions,
        "/api/watches" => Read::Watches,
        "/api/election" => match req.param("path") {
            Some(path) => Read::Election { path },
            None => return api_error(400, "BadArguments", "path is required"),
        },
        "/api/stats" => Read::Stats,
        _ => return api_error(404, "NotFound", &format!("no such path {path}")),
    };
    match ask(&admin.core, Query::Dashboard(read)).await {
        Some(r) => r,
        None => api_error(503, "NotRunning", "the server is not running"),
    }
}

pub(crate) fn ok(fields: Vec<(&str, Json)>) -> Response {
    Response {
        status: 200,
        content_type: JSON,
        body: obj(fields).to_text(),
    }
}

pub(crate) fn obj(fields: Vec<(&str, Json)>) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// `{"error": name, "message": why}`: `name` is ZooKeeper's error name where one applies.
pub(crate) fn api_error(status: u16, name: &str, why: &str) -> Response {
    Response {
        status,
        content_type: JSON,
        body: obj(vec![
            ("error", Json::str(name)),
            ("message", Json::str(why)),
        ])
        .to_text(),
    }
}

/// Session ids and zxids as ZooKeeper prints them (`0x…`): JSON numbers would lose digits
/// past 2^53 in a browser.
pub(crate) fn hex(n: i64) -> Json {
    Json::Str(format!("{:#x}", n as u64))
}
