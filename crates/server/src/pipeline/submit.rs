//! The proposer task: passes the core's entries to the log in order, as batches (group
//! commit), to this member's Raft when it leads, or forwarded to the leader over the peer
//! port when it does not.
//!
//! Batches: while `MAX_BATCHES_IN_FLIGHT` batches are being logged it waits for the oldest,
//! and the entries queued meanwhile form the next batch: under load one fsync covers many
//! writes, and a lone write still goes out at once.
//!
//! Order: a session's writes must commit in the order it sent them. Batches sent to one
//! target keep their order (one Raft API channel locally, one connection and an in-order
//! handler remotely). Before sending to a different target, every batch still in flight is
//! given up (below): a deposed leader's entries commit before the new leader's or never.
//! When a batch fails (the leader died or stepped down), its fate is unknown:
//! it may still commit, or be gone. Its proposer id is then given up: a new one is drawn,
//! entries of the old id still queued are dropped, and the core is told
//! (`CoreMsg::WritesLost`) so that it closes the connections whose writes were pending.
//! Their clients see a connection loss, which in ZooKeeper means exactly "outcome unknown".

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corral_peer::client::Reply;
use corral_peer::Kind;
use corral_raft::node::Applied;
use corral_raft::RaftNode;
use tokio::sync::mpsc;

use super::propose::proposer_of;
use super::CoreMsg;
use crate::ensemble::peers::Peers;

/// Batches handed to Raft and not yet applied. Two: one being fsynced while the next waits
/// its turn in openraft, so the disk is never idle under load.
const MAX_BATCHES_IN_FLIGHT: usize = 2;
/// Bounds on one batch (one Raft entry, one raft-log record).
const MAX_BATCH_ENTRIES: usize = 4096;
const MAX_BATCH_BYTES: usize = 4 << 20;
/// How long a forwarded batch may take to commit before its fate is given up as unknown.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a batch awaiting its outcome looks whether its leader still leads.
const LEADER_POLL: Duration = Duration::from_millis(20);
/// Pause between attempts to send to a leader whose port refuses connections.
const FORWARD_RETRY: Duration = Duration::from_millis(20);

enum Flight {
    Local(Applied),
    Remote(Reply),
}

struct InFlight {
    proposer: u64,
    target: u64,
    flight: Flight,
}

pub struct Submitter {
    pub node: RaftNode,
    pub queue: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Entries taken from the queue and put back (a batch that could not be sent).
    pub held: VecDeque<Vec<u8>>,
    /// The proposer id entries are accepted under (shared with the core's `Proposer`).
    pub current: Arc<AtomicU64>,
    /// `None` for a standalone server: everything goes to the local Raft.
    pub peers: Option<Peers>,
    pub core: mpsc::Sender<CoreMsg>,
}

impl Submitter {
    /// Runs until Raft stops for good (a storage failure; `RaftNode::stopped` tells the
    /// server) or the core is gone.
    pub async fn run(mut self) {
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let status = self.node.status();
        loop {
            while in_flight.len() >= MAX_BATCHES_IN_FLIGHT {
                let oldest = in_flight.pop_front().expect("non-empty");
                self.resolve(oldest, &status).await;
            }
            let Some(first) = self.next_entry(true).await else {
                return;
            };
            let mut bytes = first.len();
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH_ENTRIES && bytes < MAX_BATCH_BYTES {
                match self.next_entry(false).await {
                    Some(next) => {
                        bytes += next.len();
                        batch.push(next);
                    }
                    None => break,
                }
            }
            let target = match &self.peers {
                None => self.node.id(),
                Some(_) => match self.wait_for_leader(&status).await {
                    Some(leader) => leader,
                    None => return,
                },
            };
            if in_flight.iter().any(|f| f.target != target) {
                // The leader changed: what was sent to the old one either committed before
                // anything the new one logs, or never will. Waiting for a deposed leader's
                // answer could take a timeout; give those writes up as unknown now.
                while let Some(f) = in_flight.pop_front() {
                    tracing::info!(
                        "leader changed from member {} to {target}: writes sent to it have an \
                         unknown outcome",
                        f.target
                    );
                    self.give_up(f.proposer).await;
                }
            }
            // Entries of a given-up proposer id are dropped (the core no longer waits).
            let current = self.current.load(Ordering::Acquire);
            batch.retain(|e| proposer_of(e) == Some(current));
            if batch.is_empty() {
                continue;
            }
            let flight = if target == self.node.id() {
                match self.node.propose(&batch).await {
                    Ok(applied) => Flight::Local(applied),
                    Err(e) => {
                        tracing::warn!("cannot propose: {e}");
                        return;
                    }
                }
            } else {
                match self.forward(&status, target, current, &batch).await {
                    Some(reply) => Flight::Remote(reply),
                    // The leader changed or the entries were given up meanwhile: the batch
                    // was never sent; its entries go again through the loop's filter.
                    None => {
                        self.requeue(batch);
                        continue;
                    }
                }
            };
            in_flight.push_back(InFlight {
                proposer: current,
                target,
                flight,
            });
        }
    }

    /// Sends a batch to leader `target`. A batch that could not be sent (the leader's port
    /// refuses connections: it is dead or restarting) certainly did not reach any log, so it
    /// is retried, rather than given up, until it is sent, the leader changes, or the core
    /// gives up `proposer` (then `None`).
    async fn forward(
        &self,
        status: &corral_raft::StatusWatch,
        target: u64,
        proposer: u64,
        batch: &[Vec<u8>],
    ) -> Option<Reply> {
        let peers = self.peers.as_ref().expect("forwarding needs peers");
        let body = corral_raft::batch::encode_batch(batch);
        let mut logged = false;
        loop {
            let st = status.get();
            let given_up = self.current.load(Ordering::Acquire) != proposer;
            if st.leader != Some(target) || st.stopped.is_some() || given_up {
                return None;
            }
            let addr = st
                .leader_node()
                .map(|n| n.peer_addr.clone())
                .unwrap_or_default();
            match peers
                .client(target, &addr)
                .send(Kind::Forward, body.clone())
                .await
            {
                Ok(reply) => return Some(reply),
                Err(e) => {
                    if !logged {
                        tracing::info!("cannot forward writes to leader {target} yet: {e}");
                        logged = true;
                    }
                    tokio::time::sleep(FORWARD_RETRY).await;
                }
            }
        }
    }

    /// Puts an unsent batch back, ahead of everything queued after it.
    fn requeue(&mut self, batch: Vec<Vec<u8>>) {
        for e in batch.into_iter().rev() {
            self.held.push_front(e);
        }
    }

    /// The next entry: a held one, else the next queued one (waiting for it if `wait`).
    async fn next_entry(&mut self, wait: bool) -> Option<Vec<u8>> {
        if let Some(e) = self.held.pop_front() {
            return Some(e);
        }
        if wait {
            self.queue.recv().await
        } else {
            self.queue.try_recv().ok()
        }
    }

    /// Waits until some member leads; `None` once Raft is gone.
    async fn wait_for_leader(&self, status: &corral_raft::StatusWatch) -> Option<u64> {
        loop {
            let st = status.get();
            if st.stopped.is_some() {
                return None;
            }
            if let Some(leader) = st.leader {
                if leader == st.id || st.leader_node().is_some() {
                    return Some(leader);
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for a batch's outcome; an unknown one (no answer in time, or `f.target` no
    /// longer leads: a deposed leader's entries may never commit nor fail) gives up its
    /// proposer id.
    async fn resolve(&self, f: InFlight, status: &corral_raft::StatusWatch) {
        let outcome = async {
            match f.flight {
                Flight::Local(applied) => applied.wait().await,
                Flight::Remote(reply) => reply
                    .wait(FORWARD_TIMEOUT)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            }
        };
        let result = tokio::select! {
            r = outcome => r,
            () = leads_no_more(status, f.target) => {
                Err(format!("member {} no longer leads", f.target))
            }
        };
        if let Err(why) = result {
            tracing::info!(
                "a batch sent to member {} was not confirmed ({why}); its writes' outcome is \
                 unknown",
                f.target
            );
            self.give_up(f.proposer).await;
        }
    }

    /// Gives up proposer id `proposer`, if it is still the current one.
    async fn give_up(&self, proposer: u64) {
        let fresh = loop {
            let id: u64 = rand::random();
            if id != proposer {
                break id;
            }
        };
        if self
            .current
            .compare_exchange(proposer, fresh, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let _ = self.core.send(CoreMsg::WritesLost { proposer }).await;
        }
    }
}

/// Resolves once `target` is not the leader `status` knows of.
async fn leads_no_more(status: &corral_raft::StatusWatch, target: u64) {
    while status.get().leader == Some(target) {
        tokio::time::sleep(LEADER_POLL).await;
    }
}
