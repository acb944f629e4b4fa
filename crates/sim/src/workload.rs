//! The clients inside the simulation: registers (blind writes, compare-and-set on the data
//! version, linearizable reads) and a counter (read, then compare-and-set the next value),
//! each a znode changed by real logged `Txn`s.
//!
//! A write goes only to a node whose metrics say it leads (else to the leader they name):
//! once sent, a `ForwardToLeader` answer is ambiguous, so it ends the operation with an
//! unknown answer, like a timeout or a crash. This simulation found why (seed 7163):
//! openraft answers `ForwardToLeader` both when it refuses a proposal and when a leader's
//! entries conflict with its log and are truncated, and a truncated entry can still commit:
//! another node kept a copy and later leads (in openraft 0.9, possibly in the same term).
//! Retrying such a write applies it twice ([`Bug::RetryForwarded`]). corral's proposer
//! already gives up any unconfirmed batch as unknown (`pipeline::submit`).
//!
//! A read asks the node for its read index (`get_read_log_id`: leadership confirmed by a
//! quorum), waits until that node has applied up to it and up to the end of its log, then
//! reads its tree. The end of the log is this simulation's finding: openraft 0.9.25's read
//! index alone (what `ensure_linearizable` waits for) is stale after a leader restarts
//! without losing its term. It resumes leadership with the commit index it recovered from
//! disk (`save_committed` is not synced) and its old first entry as the no-op, so an entry
//! it had committed and acknowledged before the crash is above the read index
//! (`LeaderHandler::get_read_log_id`; [`Bug::BareReadIndex`] reproduces it). Every
//! committed entry is in the leader's log, so waiting for the log's end is safe. The wait
//! polls, rather than calling `Raft::wait`, whose unbiased `select!` tokio would randomize
//! outside the seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corral_datatree::{Txn, TxnOp};
use corral_jute::{perms, Acl, ErrorCode, Id};
use corral_raft::LogPayload;
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::history::{Call, History, Ret};
use crate::runtime;
use crate::trace;
use crate::types::{NodeId, Outcome};
use crate::Bug;

/// How long a client waits for one operation, in virtual milliseconds.
pub const OP_TIMEOUT_MS: u64 = 1_000;

/// Pause before asking another node, in virtual milliseconds (a real client's retry delay).
const RETRY_MS: (u64, u64) = (5, 30);

pub fn path(key: usize) -> String {
    format!("/r{key}")
}

/// What a write's answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Applied(Outcome),
    /// Timed out, or the node crashed: it may or may not take effect.
    Unknown,
}

/// The clients' shared view: where to send, what happened.
pub struct Workload {
    pub cluster: Arc<Cluster>,
    pub history: History,
    pub bug: Option<Bug>,
    /// Counter increments acknowledged, and those whose answer is unknown.
    pub increments_acked: AtomicU64,
    pub increments_unknown: AtomicU64,
}

fn set_data(key: usize, value: u64, version: i32) -> Txn {
    Txn {
        session_id: 0,
        time_ms: 0,
        auth: Vec::new(),
        op: TxnOp::SetData {
            path: path(key),
            data: Some(value.to_string().into_bytes()),
            version,
        },
    }
}

/// The txn that creates register `key` holding 0.
pub fn create(key: usize) -> Txn {
    Txn {
        session_id: 0,
        time_ms: 0,
        auth: Vec::new(),
        op: TxnOp::Create {
            path: path(key),
            data: Some(b"0".to_vec()),
            acl: vec![Acl {
                perms: perms::ALL,
                id: Id::new("world", "anyone"),
            }],
            flags: 0,
            ttl_ms: -1,
        },
    }
}

async fn retry_pause() {
    let ms = runtime::gen_range(RETRY_MS.0..=RETRY_MS.1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl Workload {
    /// A node to try: the last leader seen, else any member.
    fn pick(&self, hint: Option<NodeId>) -> NodeId {
        hint.or(self.cluster.leader_hint()).unwrap_or_else(|| {
            let ids = &self.cluster.ids;
            ids[runtime::gen_range(0..ids.len())]
        })
    }

    fn random_node(&self) -> NodeId {
        let ids = &self.cluster.ids;
        ids[runtime::gen_range(0..ids.len())]
    }

    /// Proposes one txn; see the module header for what the answer means.
    pub async fn submit(&self, txn: &Txn) -> Answer {
        let payload = LogPayload(corral_raft::batch::encode_batch(&[txn.to_log_bytes()]));
        let deadline = Instant::now() + Duration::from_millis(OP_TIMEOUT_MS);
        let mut target = self.pick(None);
        while Instant::now() < deadline {
            let Some((raft, _)) = self.cluster.node(target) else {
                target = self.random_node();
                retry_pause().await;
                continue;
            };
            let retry_forwarded = self.bug == Some(Bug::RetryForwarded);
            if !retry_forwarded {
                let m = raft.metrics().borrow().clone();
                if m.state != openraft::ServerState::Leader {
                    target = m.current_leader.unwrap_or_else(|| self.random_node());
                    retry_pause().await;
                    continue;
                }
            }
            let reply = if self.bug == Some(Bug::AckBeforeCommit) {
                // The planted bug: acknowledge once proposed, unless the answer is immediate.
                let Ok(rx) = raft.client_write_ff(payload.clone()).await else {
                    return Answer::Unknown;
                };
                match tokio::time::timeout(Duration::from_millis(1), rx).await {
                    Ok(Ok(r)) => r.map_err(RaftError::APIError),
                    Ok(Err(_)) => return Answer::Unknown,
                    Err(_) => return Answer::Applied(Outcome::Version(-1)),
                }
            } else {
                match tokio::time::timeout_at(deadline, raft.client_write(payload.clone())).await {
                    Ok(r) => r,
                    Err(_) => return Answer::Unknown,
                }
            };
            match reply {
                Ok(r) => {
                    trace!("write applied at {} via node {target}", r.log_id);
                    return Answer::Applied(r.data.0[0]);
                }
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))
                    if retry_forwarded =>
                {
                    target = f.leader_id.unwrap_or_else(|| self.random_node());
                    retry_pause().await;
                }
                Err(_) => return Answer::Unknown,
            }
        }
        Answer::Unknown
    }

    /// A linearizable read of `key`: (value, version), or `None` if no node could serve it.
    pub async fn read(&self, key: usize) -> Option<(u64, i32)> {
        let deadline = Instant::now() + Duration::from_millis(OP_TIMEOUT_MS);
        let mut target = self.pick(None);
        while Instant::now() < deadline {
            if self.bug == Some(Bug::StaleRead) {
                // The planted bug: any node's tree, without asking for a read index.
                target = self.random_node();
                if let Some((_, sm)) = self.cluster.node(target) {
                    if let Some(got) = read_tree(&sm.lock().tree, key) {
                        return Some(got);
                    }
                }
                retry_pause().await;
                continue;
            }
            let Some((raft, sm)) = self.cluster.node(target) else {
                target = self.random_node();
                retry_pause().await;
                continue;
            };
            let index = match tokio::time::timeout_at(deadline, raft.get_read_log_id()).await {
                Err(_) => return None,
                Ok(Ok((read_log_id, _))) => {
                    let read_index = read_log_id.map_or(0, |id| id.index);
                    if self.bug == Some(Bug::BareReadIndex) {
                        read_index
                    } else {
                        // A leader that restarted in its own term answers with the commit
                        // index it recovered, which can be older than entries it had
                        // committed before the crash; they are all in its log.
                        read_index.max(raft.metrics().borrow().last_log_index.unwrap_or(0))
                    }
                }
                Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                    target = f.leader_id.unwrap_or_else(|| self.random_node());
                    retry_pause().await;
                    continue;
                }
                Ok(Err(_)) => {
                    target = self.random_node();
                    retry_pause().await;
                    continue;
                }
            };
            // Wait for this incarnation to apply up to the read index.
            while Instant::now() < deadline {
                {
                    let applied = sm.lock();
                    if applied.last_applied.map_or(0, |id| id.index) >= index {
                        trace!(
                            "read of {key} served by node {target} at read index {index}, applied {:?}",
                            applied.last_applied
                        );
                        let got = read_tree(&applied.tree, key);
                        return Some(got.expect("registers exist before clients start"));
                    }
                }
                if !self.cluster.is_up(target) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        None
    }

    /// One recorded read.
    pub async fn recorded_read(&self, client: usize, key: usize) -> Option<(u64, i32)> {
        let op = self.history.invoke(client, key, Call::Read);
        let got = self.read(key).await;
        let ret = got.map(|(value, version)| Ret::Read { value, version });
        self.history.complete(op, ret);
        got
    }

    /// One recorded write or compare-and-set (`expect` -1: blind).
    pub async fn recorded_write(
        &self,
        client: usize,
        key: usize,
        value: u64,
        expect: i32,
    ) -> Answer {
        let call = if expect == -1 {
            Call::Write { value }
        } else {
            Call::Cas { expect, value }
        };
        let op = self.history.invoke(client, key, call);
        let answer = self.submit(&set_data(key, value, expect)).await;
        let ret = match answer {
            Answer::Applied(Outcome::Version(version)) => Some(Ret::Written { version }),
            Answer::Applied(Outcome::Error(code)) if code == ErrorCode::BadVersion.as_i32() => {
                Some(Ret::BadVersion)
            }
            Answer::Applied(Outcome::Error(code)) => panic!("setData on {key} failed: {code}"),
            Answer::Unknown => None,
        };
        self.history.complete(op, ret);
        answer
    }

    /// Adds one to the counter in `key`: read, then compare-and-set, a few times over.
    async fn increment(&self, client: usize, key: usize) {
        const ATTEMPTS: usize = 4;
        for _ in 0..ATTEMPTS {
            let Some((value, version)) = self.recorded_read(client, key).await else {
                return;
            };
            match self.recorded_write(client, key, value + 1, version).await {
                Answer::Applied(Outcome::Version(_)) => {
                    self.increments_acked.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Answer::Unknown => {
                    self.increments_unknown.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Answer::Applied(Outcome::Error(_)) => {}
            }
        }
    }

    /// One client: `ops` operations on random keys; the last key is the counter.
    pub async fn client(self: Arc<Self>, client: usize, keys: usize, ops: usize) {
        let mut versions = vec![0i32; keys];
        for i in 0..ops {
            let think = runtime::gen_range(0..=40u64);
            tokio::time::sleep(Duration::from_millis(think)).await;
            let key = runtime::gen_range(0..keys);
            if key == keys - 1 {
                self.increment(client, key).await;
                continue;
            }
            // Unique among all clients' writes.
            let value = (client as u64 + 1) * 1_000_000 + i as u64;
            match runtime::gen_range(0..10) {
                0..=3 => {
                    if let Answer::Applied(Outcome::Version(v)) =
                        self.recorded_write(client, key, value, -1).await
                    {
                        versions[key] = v;
                    }
                }
                4..=6 => {
                    if let Answer::Applied(Outcome::Version(v)) =
                        self.recorded_write(client, key, value, versions[key]).await
                    {
                        versions[key] = v;
                    }
                }
                _ => {
                    if let Some((_, v)) = self.recorded_read(client, key).await {
                        versions[key] = v;
                    }
                }
            }
        }
    }
}

/// (value, version) of register `key`; `None` if this tree has not created it yet.
pub fn read_tree(tree: &corral_datatree::DataTree, key: usize) -> Option<(u64, i32)> {
    let (data, stat) = tree.get_data(&path(key), &[]).ok()?;
    let text = std::str::from_utf8(data.unwrap_or_default()).expect("a number");
    Some((text.parse().expect("a number"), stat.version))
}
