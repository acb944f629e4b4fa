//! The AdminServer commands about the quorum: `leader`, `observers`, `voting_view`,
//! `zabstate`, with ZooKeeper 3.8's fields. A standalone server answers them as ZooKeeper's
//! does (`leader`'s error, empty views); corral's Raft maps onto Zab's words where they mean
//! the same (a serving member is in Zab's `broadcast` phase, one without a quorum in its
//! `election`).

use std::collections::BTreeMap;

use super::commands::{field, Fields};
use super::json::Json;
use crate::ensemble::members::Member;
use crate::ensemble::reconfig::parse_config_text;
use crate::ensemble::role::Mode;
use crate::pipeline::Core;

impl Core {
    /// The members in force (`/zookeeper/config`, else zoo.cfg's lines).
    fn members(&self) -> BTreeMap<u64, Member> {
        parse_config_text(&self.membership_text())
            .map(|(members, _)| members)
            .unwrap_or_else(|_| self.cfg.servers.clone())
    }

    pub(super) fn leader(&self) -> Result<Fields, &'static str> {
        let Some(e) = &self.ensemble else {
            return Err("server is not initialized");
        };
        let leader = e.role.leader;
        let ip = leader
            .and_then(|id| self.members().get(&id).map(|m| m.host.clone()))
            .unwrap_or_default();
        Ok(vec![
            field("is_leader", Json::Bool(e.role.mode == Mode::Leader)),
            // ZooKeeper's "no leader" id.
            field("leader_id", Json::num(leader.map_or(-1, |id| id as i64))),
            field("leader_ip", Json::Str(ip)),
        ])
    }

    /// The observers a leader has: ZooKeeper's `LearnerHandler` info, with what corral
    /// knows of each (no per-learner packet queues here: those figures are 0).
    pub(super) fn observers(&self) -> Fields {
        let members = self.members();
        let list: Vec<Json> = match &self.ensemble {
            Some(e) if e.role.mode == Mode::Leader => e
                .role
                .followers
                .iter()
                .filter(|(id, synced)| *synced && members.get(id).is_some_and(|m| m.observer))
                .map(|(id, _)| {
                    let m = &members[id];
                    Json::Obj(vec![
                        field(
                            "remote_socket_address",
                            Json::Str(format!("/{}:{}", m.host, m.peer_port)),
                        ),
                        field("sid", Json::num(*id)),
                        // When its learner handler started: corral keeps no such time.
                        field("established", Json::num(0)),
                        field("queued_packets", Json::num(0)),
                        field("queued_packets_size", Json::num(0)),
                        field("packets_received", Json::num(0)),
                        field("packets_sent", Json::num(0)),
                        field("requests", Json::num(0)),
                        field("last_zxid", Json::num(self.tree.last_zxid())),
                    ])
                })
                .collect(),
            _ => vec![],
        };
        vec![
            field("synced_observers", Json::num(list.len())),
            field("observers", Json::Arr(list)),
        ]
    }

    /// ZooKeeper's `QuorumServerView` per voting member; empty on a standalone server.
    pub(super) fn voting_view(&self) -> Json {
        if self.ensemble.is_none() {
            return Json::Obj(vec![]);
        }
        let views = self
            .members()
            .into_values()
            .filter(|m| !m.observer)
            .map(|m| {
                let client = m
                    .client
                    .as_ref()
                    .map_or(String::new(), |(h, p)| format!("{h}:{p}"));
                let view = Json::Obj(vec![
                    field(
                        "server_addresses",
                        Json::Arr(vec![Json::Str(format!("{}:{}", m.host, m.peer_port))]),
                    ),
                    field(
                        "election_addresses",
                        Json::Arr(vec![Json::Str(format!("{}:{}", m.host, m.election_port))]),
                    ),
                    field("client_address", Json::Str(client)),
                    field("learner_type", Json::str("participant")),
                ]);
                (m.id.to_string(), view)
            })
            .collect();
        Json::Obj(views)
    }

    pub(super) fn zabstate(&self) -> Fields {
        let Some(e) = &self.ensemble else {
            return vec![
                field("voting", Json::Bool(false)),
                field("zabstate", Json::str("")),
            ];
        };
        let members = self.members();
        let me = members.get(&e.my_id);
        let addr = |port: fn(&Member) -> u16| {
            me.map_or(Json::Obj(vec![]), |m| multiple_addresses(&m.host, port(m)))
        };
        let client = me
            .and_then(|m| m.client.as_ref())
            .map_or(String::new(), |(h, p)| format!("{h}:{p}"));
        let zxid = self.tree.last_zxid();
        vec![
            field("myid", Json::num(e.my_id)),
            field("is_leader", Json::Bool(e.role.mode == Mode::Leader)),
            field("quorum_address", addr(|m| m.peer_port)),
            field("election_address", addr(|m| m.election_port)),
            field("client_address", Json::Str(client)),
            field("voting", Json::Bool(me.is_some_and(|m| !m.observer))),
            field("last_zxid", Json::Str(format!("{zxid:#x}"))),
            field("zab_epoch", Json::num(zxid >> 32)),
            field("zab_counter", Json::num(zxid & 0xffff_ffff)),
            field(
                "zabstate",
                Json::str(if e.role.serving {
                    "broadcast"
                } else {
                    "election"
                }),
            ),
        ]
    }
}

/// ZooKeeper's `MultipleAddresses` as Jackson writes it (its bean properties), for one
/// address: what `zabstate` shows of a member's quorum and election addresses.
fn multiple_addresses(host: &str, port: u16) -> Json {
    let addr = || Json::Str(format!("{host}:{port}"));
    let list = || Json::Arr(vec![addr()]);
    Json::Obj(vec![
        field("empty", Json::Bool(false)),
        field("all_addresses", list()),
        field("all_reachable_addresses", list()),
        field("one", addr()),
        field("reachable_address", addr()),
        field(
            "wildcard_addresses",
            Json::Arr(vec![Json::Str(format!("0.0.0.0:{port}"))]),
        ),
        field("all_ports", Json::Arr(vec![Json::num(port)])),
        field("all_host_strings", Json::Arr(vec![Json::str(host)])),
        field("all_reachable_addresses_or_all", list()),
        field("reachable_or_one", addr()),
    ])
}
