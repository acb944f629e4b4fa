//! ZooKeeper's `reconfig`: incremental (`-add server.N=…`, `-remove N`) or whole
//! (`-members …`) membership changes, enabled by `reconfigEnabled=true`.
//!
//! The core turns the request into a [`Job`]: the membership change and the text the new
//! configuration will have. This task has the leader carry out the change (joint consensus,
//! see `corral_raft::membership`) and tells the core the outcome; on success the core logs
//! the new text into `/zookeeper/config` (a logged SetData, so every member's tree shows it
//! at the same point of the log, and its watchers fire) and answers the client with it.

use std::collections::BTreeMap;
use std::time::Duration;

use corral_jute::ErrorCode;
use corral_peer::Kind;
use corral_raft::membership::{decode_answer, encode_change};
use corral_raft::{ChangeError, CorralNode, MembershipChange, RaftNode};
use tokio::sync::mpsc;

use super::members::Member;
use super::peers::Peers;
use crate::pipeline::CoreMsg;

/// How long the leader may take (new members must catch up first).
const RECONFIG_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Job {
    pub session_id: i64,
    pub proposer: u64,
    pub change: MembershipChange,
    /// The configuration's server lines after the change.
    pub lines: Vec<String>,
}

/// What the core hears back: the new configuration text, or why not.
pub type Outcome = Result<Vec<u8>, ErrorCode>;

pub async fn run(
    node: RaftNode,
    peers: Peers,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    core: mpsc::Sender<CoreMsg>,
) {
    let status = node.status();
    while let Some(job) = jobs.recv().await {
        let st = status.get();
        let answer = match st.leader {
            Some(leader) if leader == st.id => node.change_membership(job.change).await,
            Some(leader) => match st.leader_node().map(|n| n.peer_addr.clone()) {
                Some(addr) => peers
                    .client(leader, &addr)
                    .call(Kind::Reconfig, encode_change(&job.change), RECONFIG_TIMEOUT)
                    .await
                    .map_or_else(
                        |e| Err(ChangeError::Failed(e.to_string())),
                        |b| decode_answer(&b),
                    ),
                None => Err(ChangeError::NotLeader),
            },
            None => Err(ChangeError::NotLeader),
        };
        let outcome = match answer {
            Ok(index) => {
                let version = corral_raft::batch::zxid_of(index, 0);
                tracing::info!(version = format!("{version:x}"), "reconfig done");
                Ok(config_text(&job.lines, version))
            }
            Err(e) => {
                tracing::info!("reconfig refused: {e}");
                Err(match e {
                    ChangeError::NoQuorum(_) | ChangeError::NoVoters => {
                        ErrorCode::NewConfigNoQuorum
                    }
                    ChangeError::InProgress => ErrorCode::ReconfigInProgress,
                    ChangeError::NotLeader | ChangeError::Failed(_) => ErrorCode::ConnectionLoss,
                })
            }
        };
        let msg = CoreMsg::Reconfigured {
            session_id: job.session_id,
            proposer: job.proposer,
            outcome,
        };
        if core.send(msg).await.is_err() {
            return;
        }
    }
}

/// `/zookeeper/config`'s text: the server lines, then `version=<hex>` (as ZooKeeper).
pub fn config_text(lines: &[String], version: u64) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push_str(&format!("\nversion={version:x}"));
    text.into_bytes()
}

/// The server lines and version of a configuration text.
pub fn parse_config_text(text: &str) -> Result<(BTreeMap<u64, Member>, i64), String> {
    let mut members = BTreeMap::new();
    let mut version = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("'{line}' is not key=value"))?;
        if key == "version" {
            version = i64::from_str_radix(value, 16)
                .map_err(|_| format!("version '{value}' is not hexadecimal"))?;
            continue;
        }
        let id = key
            .strip_prefix("server.")
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| format!("'{key}' is not server.N"))?;
        members.insert(id, Member::parse(id, value)?);
    }
    Ok((members, version))
}

/// The members a request names: `server.N=…` entries separated by commas or newlines.
pub fn parse_servers(list: &str) -> Result<BTreeMap<u64, Member>, String> {
    let text = list.replace(',', "\n");
    parse_config_text(&text).map(|(members, _)| members)
}

/// The change that takes `current` to `target`, and `target`'s lines.
pub fn change_between(
    current: &BTreeMap<u64, Member>,
    target: &BTreeMap<u64, Member>,
) -> Result<(MembershipChange, Vec<String>), String> {
    if !target.values().any(|m| !m.observer) {
        return Err("the new configuration has no participant".into());
    }
    let node_of = |m: &Member| CorralNode {
        peer_addr: m.peer_addr(),
        client_addr: m.client_addr(),
    };
    let mut change = MembershipChange::default();
    for m in target.values() {
        let set = if m.observer {
            &mut change.learners
        } else {
            &mut change.voters
        };
        set.insert(m.id, node_of(m));
    }
    change.remove = current
        .keys()
        .filter(|id| !target.contains_key(id))
        .copied()
        .collect();
    let lines = target.values().map(Member::config_line).collect();
    Ok((change, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_text_round_trips_and_changes_are_computed() {
        let current =
            parse_servers("server.1=127.0.0.1:2888:3888;2181,server.2=127.0.0.1:2889:3889;2182")
                .unwrap();
        let mut target = current.clone();
        target.remove(&2);
        target.extend(parse_servers("server.3=127.0.0.1:2890:3890:observer;2183").unwrap());
        let (change, lines) = change_between(&current, &target).unwrap();
        assert_eq!(change.voters.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!(change.learners.keys().copied().collect::<Vec<_>>(), vec![3]);
        assert_eq!(change.remove.iter().copied().collect::<Vec<_>>(), vec![2]);
        let text = config_text(&lines, 0x1_0000);
        let (back, version) = parse_config_text(std::str::from_utf8(&text).unwrap()).unwrap();
        assert_eq!(back, target);
        assert_eq!(version, 0x1_0000);
        let observers_only = parse_servers("server.3=h:1:2:observer").unwrap();
        assert!(change_between(&current, &observers_only).is_err());
        assert!(parse_servers("server.x=h:1:2").is_err());
    }
}
