//! The queue every election and lock stands in: an ephemeral sequential node per waiter under
//! one parent, ordered by sequence number (ZooKeeper's lock and election recipes).
//!
//! A [`Candidate`] owns at most one node. [`Candidate::turn`] waits until the node's
//! [`Rule`] admits it and grants a [`Fence`]:
//! - No herd effect: a waiter watches exactly one node, the one its rule waits for
//!   (an `exists` watch on it), never the parent's children.
//! - When that node goes, the waiter reads the children again instead of assuming its turn:
//!   the node may have left the queue without having been admitted (a waiter that gave up).
//! - The node is created protected ([`crate::nodes::create_protected`]), so a lost reply
//!   leaves no ghost.
//! - Any session state change while waiting sends it back to reading the children once the
//!   session is connected again; the grant needs the session unchanged since before that
//!   read. Expiry ends the candidate with `SessionExpired`.
//! - A candidate dropped with a node (or a create in flight) deletes it in the background.

use corral_client::{Client, CreateMode, Error, Result, SessionState};

use crate::fence::{self, Fence, Revoker};
use crate::nodes::{
    base_name, create_protected, find_protected, join, protected_name, sort_sequential,
};
use crate::sessions::{is_transient, terminal_error, wait_connected, wait_connected_or_expired};

/// Which earlier node a waiter waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Admitted when it is first: waits for the node just before it (elections, mutexes,
    /// write locks).
    Exclusive,
    /// Admitted when no earlier node's name contains the marker: waits for the nearest such
    /// node (read locks wait only for earlier writers).
    SharedUnless(&'static str),
}

impl Rule {
    /// The node `sorted[me]` waits for, if any.
    fn blocker(self, sorted: &[String], me: usize) -> Option<&str> {
        match self {
            Rule::Exclusive => me.checked_sub(1).map(|i| sorted[i].as_str()),
            Rule::SharedUnless(marker) => sorted[..me]
                .iter()
                .rev()
                .find(|n| n.contains(marker))
                .map(|s| s.as_str()),
        }
    }
}

/// One waiter's place in a queue. See the module docs.
pub(crate) struct Candidate {
    client: Client,
    parent: String,
    name: &'static str,
    data: Vec<u8>,
    rule: Rule,
    node: Option<String>,
    /// The protected name of a create whose outcome this candidate does not know yet.
    creating: Option<String>,
    revoker: Option<Revoker>,
}

impl Candidate {
    /// A waiter under `parent` whose nodes are named `_c_<uuid>-<name><sequence>`.
    pub fn new(client: Client, parent: &str, name: &'static str, data: &[u8], rule: Rule) -> Self {
        Candidate {
            client,
            parent: parent.to_string(),
            name,
            data: data.to_vec(),
            rule,
            node: None,
            creating: None,
            revoker: None,
        }
    }

    /// A candidate that already has its node `node` under `parent` (created by the caller),
    /// holding `revoker`'s fence: [`withdraw`](Candidate::withdraw) and drop delete it.
    pub fn holding(client: Client, parent: &str, node: String, revoker: Revoker) -> Self {
        let mut c = Candidate::new(client, parent, "", b"", Rule::Exclusive);
        c.node = Some(node);
        c.revoker = Some(revoker);
        c
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the candidate's node (at the end of the queue) unless it has one.
    pub async fn enlist(&mut self) -> Result<()> {
        if self.node.is_some() {
            return Ok(());
        }
        // An earlier call was cancelled during its create: it may have created the node.
        if let Some(prefix) = &self.creating {
            if let Some(node) = find_protected(&self.client, &self.parent, prefix).await? {
                self.creating = None;
                self.node = Some(node);
                return Ok(());
            }
        }
        let prefix = self
            .creating
            .get_or_insert_with(|| protected_name(self.name))
            .clone();
        let node = create_protected(
            &self.client,
            &self.parent,
            &prefix,
            &self.data,
            CreateMode::EphemeralSequential,
            None,
        )
        .await?;
        self.creating = None;
        self.node = Some(node);
        Ok(())
    }

    /// Waits until the rule admits the candidate's node (creating it first if needed) and
    /// grants a fence. Called again after the fence is lost, it grants a new one when the
    /// node is (still, or again) admitted.
    pub async fn turn(&mut self) -> Result<Fence> {
        self.revoker = None;
        loop {
            let mut session = self.client.state();
            let s = *session.borrow_and_update();
            match s {
                SessionState::Connected => {}
                s if s.is_terminal() => return Err(terminal_error(s)),
                _ => {
                    wait_connected(&self.client).await?;
                    continue;
                }
            }
            match self.step(session).await {
                Ok(Some(fence)) => return Ok(fence),
                Ok(None) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One look at the queue: `Some` if admitted, `None` to look again (after waiting for the
    /// node this one waits for, or for the session to change).
    async fn step(
        &mut self,
        mut session: tokio::sync::watch::Receiver<SessionState>,
    ) -> Result<Option<Fence>> {
        self.enlist().await?;
        let node = self.node.clone().expect("enlisted");
        let sorted = match self.client.get_children(&self.parent).await {
            Ok(children) => sort_sequential(children),
            Err(Error::NoNode) => Vec::new(),
            Err(e) => return Err(e),
        };
        let Some(me) = sorted.iter().position(|c| c == base_name(&node)) else {
            // Deleted by someone else (or the session is ending): stand in line again.
            tracing::debug!(%node, "candidate's node is gone; enlisting again");
            self.node = None;
            return Ok(None);
        };
        match self.rule.blocker(&sorted, me) {
            None => match fence::grant(&self.client, &node, session).await? {
                Some((fence, revoker)) => {
                    self.revoker = Some(revoker);
                    Ok(Some(fence))
                }
                None => Ok(None),
            },
            Some(prev) => {
                let (stat, gone) = self.client.exists_w(&join(&self.parent, prev)).await?;
                if stat.is_some() {
                    tokio::select! {
                        _ = gone => {}
                        _ = session.changed() => {}
                    }
                }
                Ok(None)
            }
        }
    }

    /// Ends the current fence and deletes the node: the candidate leaves the queue (a later
    /// [`enlist`](Candidate::enlist) or [`turn`](Candidate::turn) joins at the end again).
    ///
    /// When the client stays disconnected for a whole session timeout it gives up: the server
    /// has expired the session, and its ephemeral node with it.
    pub async fn withdraw(&mut self) -> Result<()> {
        self.revoker = None;
        let Some(node) = self.node.clone() else {
            return Ok(());
        };
        loop {
            match self.client.delete(&node, None).await {
                Ok(()) | Err(Error::NoNode) => break,
                Err(e) if is_transient(&e) => {
                    if !wait_connected_or_expired(&self.client).await? {
                        break;
                    }
                }
                // The session is over: its ephemerals are gone (or go with it).
                Err(Error::SessionExpired | Error::Closed) => break,
                Err(e) => return Err(e),
            }
        }
        self.node = None;
        Ok(())
    }
}

impl Drop for Candidate {
    fn drop(&mut self) {
        self.revoker = None;
        let node = self.node.take();
        let creating = self.creating.take();
        if node.is_none() && creating.is_none() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let parent = self.parent.clone();
        rt.spawn(async move {
            if let Some(n) = node {
                let _ = client.delete(&n, None).await;
            }
            // A cancelled create: the session's requests are applied in order, so the list
            // taken now shows the node if it was created.
            if let Some(prefix) = creating {
                if let Ok(Some(n)) = find_protected(&client, &parent, &prefix).await {
                    let _ = client.delete(&n, None).await;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exclusive_waits_for_the_one_before() {
        let q = names(&["a-01", "b-02", "c-03"]);
        assert_eq!(Rule::Exclusive.blocker(&q, 0), None);
        assert_eq!(Rule::Exclusive.blocker(&q, 2), Some("b-02"));
    }

    #[test]
    fn readers_wait_only_for_earlier_writers() {
        let q = names(&["__READ__01", "__WRIT__02", "__READ__03", "__READ__04"]);
        let read = Rule::SharedUnless("__WRIT__");
        assert_eq!(read.blocker(&q, 0), None);
        assert_eq!(read.blocker(&q, 3), Some("__WRIT__02"));
        assert_eq!(Rule::Exclusive.blocker(&q, 3), Some("__READ__03"));
    }
}
