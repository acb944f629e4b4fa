//! The dashboard's writes: set, create or delete, made as a ZooKeeper client of this server
//! with the digest credentials the user entered. They take the client path (prep, the log,
//! commit): replicated, given a zxid, checked against the node's ACL in apply, exactly as any
//! client's with that `addAuth digest user:password`. One session per write, closed after it.
//!
//! The session's connection comes from this server's loopback address, so `ip` ACL entries
//! are matched against it (documented in the README). The password is never logged.
//!
//! Body: `{"op": "set"|"create"|"delete", "path", "data" (text, or base64 when
//! "encoding" is "base64"), "version" (optional: the expected version), "auth"
//! ("user:password", optional), "acl" ("open" (default) or "creator", for create),
//! "sequential" (bool, for create)}`. A JSON content type is required: a cross-site form
//! cannot send one without the browser asking first (which this server never allows).

use std::time::Duration;

use base64::Engine;
use corral_client::{perms, Acl, Client, CreateMode, Error, Id, Options};
use corral_datatree::path::validate_path;

use super::super::http::{Request, Response};
use super::super::json::Json;
use super::super::Admin;
use super::reads::stat_json;
use super::{api_error, ok, Credentials};

/// How long a write may take: connect, authenticate, the op, close. Within the admin
/// server's request timeout, so the user gets the answer rather than a dropped connection.
const WRITE_TIMEOUT_MS: u64 = 4_000;
const SESSION_TIMEOUT_MS: u64 = 10_000;

/// A write the user asked for, checked for form before the server sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Write {
    pub op: Op,
    pub path: String,
    pub version: Option<i32>,
    pub auth: Option<Credentials>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    Set {
        data: Vec<u8>,
    },
    Create {
        data: Vec<u8>,
        creator_acl: bool,
        sequential: bool,
    },
    Delete,
}

pub async fn run(admin: &Admin, req: &Request) -> Response {
    let json_type = req
        .head
        .header("content-type")
        .is_some_and(|t| t.split(';').next().unwrap_or("").trim() == "application/json");
    if !json_type {
        return api_error(
            415,
            "BadContentType",
            "writes need Content-Type: application/json",
        );
    }
    let write = match std::str::from_utf8(&req.body)
        .map_err(|_| "the body is not UTF-8".to_string())
        .and_then(|text| Json::parse(text).map_err(|e| format!("bad JSON: {e}")))
        .and_then(|body| Write::from_json(&body))
    {
        Ok(w) => w,
        Err(why) => return api_error(400, "BadArguments", &why),
    };
    let limit = Duration::from_millis(WRITE_TIMEOUT_MS);
    match tokio::time::timeout(limit, perform(admin, &write)).await {
        Ok(Ok(fields)) => ok(fields),
        Ok(Err(e)) => {
            let name = error_name(&e);
            api_error(status_of(&e), &name, &e.to_string())
        }
        Err(_) => api_error(504, "OperationTimeout", "the write did not finish in time"),
    }
}

impl Write {
    pub fn from_json(body: &Json) -> Result<Write, String> {
        let text = |key: &str| -> Result<Option<&str>, String> {
            match body.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(Some)
                    .ok_or(format!("{key} must be a string")),
            }
        };
        let flag = |key: &str| -> Result<bool, String> {
            match body.get(key) {
                None | Some(Json::Null) | Some(Json::Bool(false)) => Ok(false),
                Some(Json::Bool(true)) => Ok(true),
                Some(_) => Err(format!("{key} must be true or false")),
            }
        };
        let path = text("path")?.ok_or("path is required")?.to_string();
        validate_path(&path).map_err(|_| format!("invalid path {path:?}"))?;
        let version = match body.get("version") {
            None | Some(Json::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or("version must be a 32-bit integer")?,
            ),
        };
        let data = || -> Result<Vec<u8>, String> {
            let raw = text("data")?.unwrap_or("");
            match text("encoding")? {
                None | Some("text") => Ok(raw.as_bytes().to_vec()),
                Some("base64") => base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .map_err(|_| "data is not base64".to_string()),
                Some(other) => Err(format!("unknown encoding {other:?}")),
            }
        };
        let op = match text("op")? {
            Some("set") => Op::Set { data: data()? },
            Some("create") => Op::Create {
                data: data()?,
                creator_acl: match text("acl")? {
                    None | Some("open") => false,
                    Some("creator") => true,
                    Some(other) => return Err(format!("unknown acl {other:?}")),
                },
                sequential: flag("sequential")?,
            },
            Some("delete") => Op::Delete,
            _ => return Err("op must be set, create or delete".into()),
        };
        let auth = text("auth")?
            .filter(|a| !a.is_empty())
            .map(|a| Credentials(a.to_string()));
        if auth.as_ref().is_some_and(|a| !a.0.contains(':')) {
            return Err("auth must be user:password".into());
        }
        Ok(Write {
            op,
            path,
            version,
            auth,
        })
    }
}

async fn perform(admin: &Admin, w: &Write) -> Result<Vec<(&'static str, Json)>, Error> {
    let options = Options::new(Duration::from_millis(SESSION_TIMEOUT_MS))
        .connect_timeout(Duration::from_millis(WRITE_TIMEOUT_MS))
        .request_timeout(Duration::from_millis(WRITE_TIMEOUT_MS));
    let zk = Client::connect_with(&admin.client_addr.to_string(), options).await?;
    let result = op(&zk, w).await;
    // The session ends either way; a failed close only leaves it to expire.
    let _ = zk.close().await;
    result
}

async fn op(zk: &Client, w: &Write) -> Result<Vec<(&'static str, Json)>, Error> {
    if let Some(auth) = &w.auth {
        zk.add_auth("digest", auth.0.as_bytes()).await?;
    }
    Ok(match &w.op {
        Op::Set { data } => {
            let stat = zk.set_data(&w.path, data, w.version).await?;
            vec![
                ("path", Json::str(w.path.as_str())),
                ("stat", stat_json(&stat)),
            ]
        }
        Op::Create {
            data,
            creator_acl,
            sequential,
        } => {
            let acl = if *creator_acl {
                vec![Acl {
                    perms: perms::ALL,
                    id: Id::new("auth", ""),
                }]
            } else {
                Acl::open()
            };
            let mode = if *sequential {
                CreateMode::PersistentSequential
            } else {
                CreateMode::Persistent
            };
            let (path, stat) = zk.create(&w.path, data, &acl, mode).await?;
            vec![("path", Json::Str(path)), ("stat", stat_json(&stat))]
        }
        Op::Delete => {
            zk.delete(&w.path, w.version).await?;
            vec![("path", Json::str(w.path.as_str()))]
        }
    })
}

/// ZooKeeper's name of an error (`KeeperException.Code`): the variant's name.
fn error_name(e: &Error) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("SystemError")
        .to_string()
}

fn status_of(e: &Error) -> u16 {
    match e {
        Error::NoAuth | Error::AuthFailed => 403,
        Error::NoNode => 404,
        Error::ConnectionLoss | Error::Timeout | Error::SessionExpired | Error::Io(_) => 503,
        Error::BadArguments | Error::InvalidAcl => 400,
        _ => 409,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Write, String> {
        Write::from_json(&Json::parse(text).unwrap())
    }

    #[test]
    fn reads_a_set_with_version_and_credentials() {
        let w = parse(r#"{"op":"set","path":"/a","data":"hi","version":3,"auth":"u:p"}"#);
        assert_eq!(
            w,
            Ok(Write {
                op: Op::Set {
                    data: b"hi".to_vec()
                },
                path: "/a".into(),
                version: Some(3),
                auth: Some(Credentials("u:p".into())),
            })
        );
        assert!(!format!("{w:?}").contains("u:p"));
        let c = parse(r#"{"op":"create","path":"/b","data":"AAE=","encoding":"base64","acl":"creator","sequential":true}"#).unwrap();
        assert_eq!(
            c.op,
            Op::Create {
                data: vec![0, 1],
                creator_acl: true,
                sequential: true
            }
        );
    }

    #[test]
    fn refuses_malformed_writes() {
        for bad in [
            r#"{"op":"set"}"#,
            r#"{"op":"set","path":"a"}"#,
            r#"{"op":"set","path":"/a/"}"#,
            r#"{"op":"move","path":"/a"}"#,
            r#"{"op":"set","path":"/a","version":1.5}"#,
            r#"{"op":"set","path":"/a","version":4294967296}"#,
            r#"{"op":"set","path":"/a","auth":"nocolon"}"#,
            r#"{"op":"set","path":"/a","data":"!","encoding":"base64"}"#,
            r#"{"op":"create","path":"/a","acl":"everyone"}"#,
            r#"{"op":"create","path":"/a","sequential":"yes"}"#,
            r#"[1]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_carry_zookeepers_names() {
        assert_eq!(error_name(&Error::NoAuth), "NoAuth");
        assert_eq!(error_name(&Error::BadVersion), "BadVersion");
        assert_eq!(error_name(&Error::Unknown(-7)), "Unknown");
        assert_eq!(status_of(&Error::NoAuth), 403);
        assert_eq!(status_of(&Error::NodeExists), 409);
    }
}
