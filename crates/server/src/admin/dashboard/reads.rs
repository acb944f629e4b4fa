//! The core's answers to the dashboard's reads: a node, the sessions, the watches, an
//! election queue and the figures behind the live charts.
//!
//! Reading is open to whoever reaches the admin port, as `/commands/` are, with one
//! exception: a node's data is shown only when its ACL grants READ to `world:anyone` or to
//! the digest identity the user entered (or that identity is `superDigest`'s). Stat, ACL and
//! children are shown regardless, as ZooKeeper's `exists` and a parent's `getChildren` do.

use std::collections::HashMap;

use base64::Engine;
use corral_datatree::acl::{check_acl, digest_id};
use corral_datatree::path::validate_path;
use corral_jute::{perms, Acl, Id, Stat};

use super::super::http::Response;
use super::super::json::Json;
use super::{api_error, hex, obj, ok, Read};
use crate::pipeline::{wall_clock_ms, Core};
use crate::watch::ConnId;

/// Children listed per page of a node.
pub const CHILDREN_PAGE: usize = 500;
/// Watches listed at most (a summary counts them all).
const MAX_WATCHES_LISTED: usize = 10_000;
/// Members of an election queue listed at most.
const MAX_QUEUE_LISTED: usize = 1_000;

impl Core {
    pub(crate) fn dashboard(&self, read: Read) -> Response {
        match read {
            Read::Node { path, offset, auth } => {
                self.node_page(&path, offset, auth.as_ref().map(|a| a.0.as_str()))
            }
            Read::Sessions => self.sessions_page(),
            Read::Watches => self.watches_page(),
            Read::Election { path } => self.election_page(&path),
            Read::Stats => self.stats_page(),
        }
    }

    /// The identities a dashboard user has: the digest of `user:password`, and `super` when
    /// that digest is the configured superDigest.
    fn dashboard_ids(&self, auth: Option<&str>) -> Vec<Id> {
        let Some(auth) = auth.filter(|a| a.contains(':')) else {
            return vec![];
        };
        let id = digest_id(auth);
        let mut ids = vec![];
        if self.cfg.super_digest.as_deref() == Some(id.as_str()) {
            ids.push(Id {
                scheme: "super".into(),
                id: id.clone(),
            });
        }
        ids.push(Id {
            scheme: "digest".into(),
            id,
        });
        ids
    }

    fn node_page(&self, path: &str, offset: usize, auth: Option<&str>) -> Response {
        if validate_path(path).is_err() {
            return api_error(400, "BadArguments", &format!("invalid path {path:?}"));
        }
        let Some(node) = self.tree.node(path) else {
            return api_error(404, "NoNode", &format!("no node {path}"));
        };
        let readable = check_acl(node.acl(), perms::READ, &self.dashboard_ids(auth));
        let data = match node.data() {
            Some(d) if readable => Json::Str(base64::engine::general_purpose::STANDARD.encode(d)),
            _ => Json::Null,
        };
        let children = node.children();
        let page = children
            .iter()
            .skip(offset)
            .take(CHILDREN_PAGE)
            .map(Json::str)
            .collect();
        ok(vec![
            ("path", Json::str(path)),
            (
                "kind",
                Json::str(format!("{:?}", node.kind()).to_lowercase()),
            ),
            ("stat", stat_json(&node.stat())),
            ("acl", Json::Arr(node.acl().iter().map(acl_json).collect())),
            ("readable", Json::Bool(readable)),
            ("data", data),
            ("children", Json::Arr(page)),
            ("childrenOffset", Json::num(offset)),
            ("childrenPage", Json::num(CHILDREN_PAGE)),
            ("numChildren", Json::num(children.len())),
        ])
    }

    /// The client address of each local connection that has a session.
    fn session_addresses(&self) -> HashMap<i64, String> {
        self.registry
            .conns
            .values()
            .filter_map(|c| Some((c.session?, c.outbox.peer.to_string())))
            .collect()
    }

    fn sessions_page(&self) -> Response {
        let addresses = self.session_addresses();
        let list = self
            .tree
            .session_ids()
            .into_iter()
            .map(|id| {
                let timeout = self.tree.session(id).map_or(0, |s| s.timeout_ms);
                let ephemerals = self.tree.get_ephemerals(id, "/");
                obj(vec![
                    ("id", hex(id)),
                    ("timeoutMs", Json::num(timeout)),
                    (
                        "client",
                        addresses
                            .get(&id)
                            .map_or(Json::Null, |a| Json::str(a.as_str())),
                    ),
                    (
                        "ephemerals",
                        Json::Arr(ephemerals.into_iter().map(Json::Str).collect()),
                    ),
                ])
            })
            .collect();
        ok(vec![("sessions", Json::Arr(list))])
    }

    fn watches_page(&self) -> Response {
        let sessions: HashMap<ConnId, (Option<i64>, String)> = self
            .registry
            .conns
            .iter()
            .map(|(id, c)| (*id, (c.session, c.outbox.peer.to_string())))
            .collect();
        let mut all = self.watches.all();
        all.sort_by(|a, b| (&a.2, a.0).cmp(&(&b.2, b.0)));
        let total = all.len();
        let list = all
            .into_iter()
            .take(MAX_WATCHES_LISTED)
            .map(|(conn, kind, path)| {
                let (session, client) = sessions
                    .get(&conn)
                    .cloned()
                    .unwrap_or((None, String::new()));
                obj(vec![
                    ("path", Json::Str(path)),
                    ("kind", Json::str(format!("{kind:?}"))),
                    ("session", session.map_or(Json::Null, hex)),
                    ("client", Json::Str(client)),
                ])
            })
            .collect();
        ok(vec![
            ("total", Json::num(total)),
            ("watches", Json::Arr(list)),
        ])
    }

    /// The children of `path` in the order of their sequence suffix (the last ten digits a
    /// sequential create appends), as election and lock recipes order them: the first one is
    /// the leader or holder. Children without a suffix come last, by name.
    fn election_page(&self, path: &str) -> Response {
        if validate_path(path).is_err() {
            return api_error(400, "BadArguments", &format!("invalid path {path:?}"));
        }
        let Some(node) = self.tree.node(path) else {
            return api_error(404, "NoNode", &format!("no node {path}"));
        };
        let mut queue: Vec<(Option<u64>, &str)> = node
            .children()
            .iter()
            .map(|c| (sequence_of(c), c))
            .collect();
        queue.sort_by(|a, b| (a.0.is_none(), a.0, a.1).cmp(&(b.0.is_none(), b.0, b.1)));
        let addresses = self.session_addresses();
        let list = queue
            .into_iter()
            .take(MAX_QUEUE_LISTED)
            .map(|(seq, name)| {
                let child = format!("{}/{name}", path.trim_end_matches('/'));
                let stat = self.tree.node(&child).map(|n| n.stat()).unwrap_or_default();
                let owner = stat.ephemeral_owner;
                obj(vec![
                    ("name", Json::str(name)),
                    ("sequence", seq.map_or(Json::Null, Json::num)),
                    ("ephemeralOwner", hex(owner)),
                    (
                        "client",
                        addresses
                            .get(&owner)
                            .map_or(Json::Null, |a| Json::str(a.as_str())),
                    ),
                    ("czxid", hex(stat.czxid)),
                ])
            })
            .collect();
        ok(vec![("path", Json::str(path)), ("queue", Json::Arr(list))])
    }

    fn stats_page(&self) -> Response {
        let (count, total_us) = self.stats.latency.totals();
        let (min, avg, max) = self.stats.latency.summary_ms();
        ok(vec![
            ("timeMs", Json::num(wall_clock_ms())),
            ("mode", Json::str(self.mode().name())),
            ("serving", Json::Bool(self.serving())),
            ("zxid", hex(self.tree.last_zxid())),
            ("packetsReceived", Json::num(self.stats.received)),
            ("packetsSent", Json::num(self.stats.sent)),
            ("requestsCompleted", Json::num(count)),
            ("latencyTotalUs", Json::num(total_us)),
            ("minLatencyMs", Json::num(min)),
            ("avgLatencyMs", Json::num(format!("{avg:.3}"))),
            ("maxLatencyMs", Json::num(max)),
            ("outstandingRequests", Json::num(self.outstanding())),
            ("connections", Json::num(self.registry.conn_count())),
            ("sessions", Json::num(self.tree.session_ids().len())),
            ("znodes", Json::num(self.tree.node_count())),
            ("watches", Json::num(self.watches.watch_count())),
        ])
    }
}

/// The number a sequential create appended (`%010d`, ZooKeeper's format), if the name ends
/// with one.
pub fn sequence_of(name: &str) -> Option<u64> {
    let digits = name.get(name.len().checked_sub(10)?..)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

pub(crate) fn stat_json(s: &Stat) -> Json {
    obj(vec![
        ("czxid", hex(s.czxid)),
        ("mzxid", hex(s.mzxid)),
        ("ctime", Json::num(s.ctime)),
        ("mtime", Json::num(s.mtime)),
        ("version", Json::num(s.version)),
        ("cversion", Json::num(s.cversion)),
        ("aversion", Json::num(s.aversion)),
        ("ephemeralOwner", hex(s.ephemeral_owner)),
        ("dataLength", Json::num(s.data_length)),
        ("numChildren", Json::num(s.num_children)),
        ("pzxid", hex(s.pzxid)),
    ])
}

/// An ACL entry with its permissions as zkCli's `getAcl` prints them (`cdrwa`).
fn acl_json(a: &Acl) -> Json {
    let letters = [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ];
    let p: String = letters
        .iter()
        .filter(|(bit, _)| a.perms & bit != 0)
        .map(|(_, c)| c)
        .collect();
    obj(vec![
        ("scheme", Json::str(a.id.scheme.as_str())),
        ("id", Json::str(a.id.id.as_str())),
        ("perms", Json::Str(p)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_suffixes_are_the_last_ten_digits() {
        assert_eq!(sequence_of("n_0000000042"), Some(42));
        assert_eq!(sequence_of("_c_1234-lock-0000000007"), Some(7));
        assert_eq!(sequence_of("0000000003"), Some(3));
        assert_eq!(sequence_of("leader"), None);
        assert_eq!(sequence_of("x-00000000a1"), None);
        assert_eq!(sequence_of("é00000001"), None);
    }

    #[test]
    fn acl_permissions_read_as_zkcli_prints_them() {
        let a = Acl {
            perms: perms::READ | perms::ADMIN,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        };
        assert_eq!(
            acl_json(&a).to_text(),
            r#"{"scheme":"world","id":"anyone","perms":"ra"}"#
        );
    }
}
