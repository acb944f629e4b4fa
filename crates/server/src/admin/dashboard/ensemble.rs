//! The ensemble as this member's Raft knows it: every member of the membership in force
//! (voters, and learners, which are observers), which one leads, and on the leader how far
//! each member's log lags behind its own (entries). A follower does not know the others'
//! lag: it reports `null`, and the page says to look at the leader's page.

use corral_raft::{RaftRole, Status};

use super::super::http::Response;
use super::super::json::Json;
use super::super::{ask, Admin, Query};
use super::{obj, ok};

pub async fn answer(admin: &Admin) -> Response {
    // Serving is the core's verdict (quorum freshness, caught up), as /ready reports it.
    let serving = ask(&admin.core, Query::Ready)
        .await
        .is_some_and(|r| r.status == 200);
    let st = admin.status.get();
    ok(fields(&st, serving, admin.standalone))
}

fn role_name(role: RaftRole) -> &'static str {
    match role {
        RaftRole::Leader => "leader",
        RaftRole::Follower => "follower",
        RaftRole::Learner => "observer",
        RaftRole::Candidate => "looking",
    }
}

fn fields(st: &Status, serving: bool, standalone: bool) -> Vec<(&'static str, Json)> {
    let leads = st.role == RaftRole::Leader;
    let members = st
        .voters
        .iter()
        .map(|(id, node)| (id, node, true))
        .chain(st.learners.iter().map(|(id, node)| (id, node, false)))
        .map(|(&id, node, voter)| {
            let role = if id == st.id {
                role_name(st.role)
            } else if Some(id) == st.leader {
                "leader"
            } else if voter {
                "follower"
            } else {
                "observer"
            };
            let matched = match () {
                _ if !leads => None,
                _ if id == st.id => Some(st.last_log_index),
                _ => st.matched.get(&id).copied(),
            };
            obj(vec![
                ("id", Json::num(id)),
                ("peerAddress", Json::str(node.peer_addr.as_str())),
                ("clientAddress", Json::str(node.client_addr.as_str())),
                ("voter", Json::Bool(voter)),
                ("role", Json::str(role)),
                ("self", Json::Bool(id == st.id)),
                ("matchedIndex", matched.map_or(Json::Null, Json::num)),
                (
                    "lag",
                    matched.map_or(Json::Null, |m| {
                        Json::num(st.last_log_index.saturating_sub(m))
                    }),
                ),
            ])
        })
        .collect();
    vec![
        ("myId", Json::num(st.id)),
        (
            "mode",
            Json::str(if standalone {
                "standalone"
            } else {
                role_name(st.role)
            }),
        ),
        ("serving", Json::Bool(serving)),
        ("leader", st.leader.map_or(Json::Null, Json::num)),
        ("term", Json::num(st.term)),
        ("lastLogIndex", Json::num(st.last_log_index)),
        ("lastAppliedIndex", Json::num(st.last_applied_index)),
        ("members", Json::Arr(members)),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use corral_raft::CorralNode;

    use super::*;

    fn node(n: u64) -> CorralNode {
        CorralNode {
            peer_addr: format!("127.0.0.1:{}", 2880 + n),
            client_addr: format!("127.0.0.1:{}", 2180 + n),
        }
    }

    fn status(id: u64, role: RaftRole) -> Status {
        Status {
            id,
            role,
            term: 3,
            leader: Some(1),
            millis_since_quorum_ack: None,
            last_log_index: 100,
            last_applied_index: 100,
            voters: (1..=3).map(|n| (n, node(n))).collect(),
            learners: BTreeMap::from([(4, node(4))]),
            membership_index: 0,
            matched: BTreeMap::from([(2, 100), (3, 90), (4, 99)]),
            stopped: None,
        }
    }

    fn members(st: &Status) -> String {
        let f = fields(st, true, false);
        f.into_iter()
            .find(|(k, _)| *k == "members")
            .unwrap()
            .1
            .to_text()
    }

    #[test]
    fn the_leader_reports_each_members_lag() {
        let text = members(&status(1, RaftRole::Leader));
        assert!(text.contains(r#""id":1,"peerAddress":"127.0.0.1:2881","clientAddress":"127.0.0.1:2181","voter":true,"role":"leader","self":true,"matchedIndex":100,"lag":0"#), "{text}");
        assert!(
            text.contains(r#""id":3,"#) && text.contains(r#""matchedIndex":90,"lag":10"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#""voter":false,"role":"observer","self":false,"matchedIndex":99,"lag":1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn a_follower_knows_the_leader_but_not_the_lag() {
        let text = members(&status(2, RaftRole::Follower));
        assert!(
            text.contains(r#""id":1,"#)
                && text.contains(r#""role":"leader","self":false,"matchedIndex":null,"lag":null"#),
            "{text}"
        );
        assert!(text.contains(r#""role":"follower","self":true"#), "{text}");
    }
}
