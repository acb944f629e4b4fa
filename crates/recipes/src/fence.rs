//! [`Fence`]: what a leader or lock holder holds — a fencing token and the knowledge of
//! whether it still holds.
//!
//! A fence is granted after a read that showed the holder's node in the winning place, and
//! is valid only while all of these hold:
//! - the session has not changed state since *before* that read: a disconnect (ZooKeeper's
//!   "suspended") invalidates it at once, even if the connection comes back, because while
//!   the client cannot hear the server it cannot know that its session is still live;
//! - the holder's node has not been seen deleted (a watch on it);
//! - the holder has not released it;
//! - for a nested fence, the fence it was granted within is valid.
//!
//! Once invalid, a fence stays invalid; a holder that regains its place gets a new fence.
//! [`Fence::is_valid`] is a local, synchronous check, so a task can test it right before
//! acting. It cannot see the future: a process paused after the check may act late, which
//! is what the [token](Fence::token) is for — hand it to the resource you act on and let it
//! refuse tokens lower than the highest it has seen.

use std::sync::Arc;

use corral_client::{Client, EventType, Result, SessionState, WatchFuture};
use tokio::sync::watch;

use crate::sessions::{is_transient, wait_connected};

/// A holder's fencing token and validity. Cheap to clone; clones share the validity.
#[derive(Clone)]
pub struct Fence {
    token: i64,
    node: Arc<str>,
    session: watch::Receiver<SessionState>,
    lost: watch::Receiver<bool>,
    within: Option<Box<Fence>>,
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fence")
            .field("token", &self.token)
            .field("node", &self.node)
            .field("valid", &self.is_valid())
            .finish()
    }
}

impl Fence {
    /// The fencing token: the zxid that created the holder's node (its `czxid`). Successive
    /// holders of a recipe get strictly increasing tokens, because a later holder's node was
    /// created later. A holder that regains its place with the same node after a disconnect
    /// gets the same token again (no one else can have held it in between: its node, the
    /// winning one, never went away).
    pub fn token(&self) -> i64 {
        self.token
    }

    /// The holder's node.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// True while the holder still holds, as far as this process can know.
    pub fn is_valid(&self) -> bool {
        let session_unchanged = matches!(self.session.has_changed(), Ok(false));
        let not_lost = self.lost.has_changed().is_ok() && !*self.lost.borrow();
        session_unchanged && not_lost && self.within.as_ref().is_none_or(|w| w.is_valid())
    }

    /// Resolves once the fence is invalid (at once if it already is).
    pub async fn lost(&self) {
        let mut session = self.session.clone();
        let mut lost = self.lost.clone();
        let own = async {
            tokio::select! {
                _ = session.changed() => {}
                _ = lost.wait_for(|l| *l) => {}
            }
        };
        match &self.within {
            None => own.await,
            Some(w) => {
                tokio::select! {
                    _ = own => {}
                    _ = Box::pin(w.lost()) => {}
                }
            }
        }
    }

    /// This fence, valid only while `outer` is valid too (a group leader's overall
    /// leadership within its group leadership).
    pub fn within(mut self, outer: &Fence) -> Fence {
        self.within = Some(Box::new(outer.clone()));
        self
    }
}

/// Ends a fence: set on release, and by the watch on the holder's node.
pub(crate) struct Revoker(watch::Sender<bool>);

impl Revoker {
    pub fn revoke(&self) {
        self.0.send_replace(true);
    }
}

impl Drop for Revoker {
    fn drop(&mut self) {
        self.revoke();
    }
}

/// Grants a fence on `node` if it still exists and `session` (taken before the read that
/// showed `node` winning) has not changed since; `None` otherwise. Watches the node so that
/// its deletion revokes the fence.
pub(crate) async fn grant(
    client: &Client,
    node: &str,
    session: watch::Receiver<SessionState>,
) -> Result<Option<(Fence, Revoker)>> {
    let (stat, deleted) = match client.exists_w(node).await? {
        (Some(stat), w) => (stat, w),
        (None, _) => return Ok(None),
    };
    if !matches!(session.has_changed(), Ok(false)) {
        return Ok(None);
    }
    let (tx, lost) = watch::channel(false);
    let fence = Fence {
        token: stat.czxid,
        node: node.into(),
        session: session.clone(),
        lost,
        within: None,
    };
    tokio::spawn(watch_node(
        client.clone(),
        node.to_string(),
        deleted,
        tx.clone(),
        session,
    ));
    Ok(Some((fence, Revoker(tx))))
}

/// Grants a fence on `node`, which the caller owns, once the session is connected: `None`
/// if the node is gone.
pub(crate) async fn hold(client: &Client, node: &str) -> Result<Option<(Fence, Revoker)>> {
    loop {
        let mut session = client.state();
        if *session.borrow_and_update() != SessionState::Connected {
            wait_connected(client).await?;
            continue;
        }
        match grant(client, node, session).await {
            Ok(Some(g)) => return Ok(Some(g)),
            Ok(None) => match client.exists(node).await {
                Ok(None) => return Ok(None),
                Ok(Some(_)) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e),
            },
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Revokes the fence when its node is deleted. Ends when the session changes (the fence is
/// invalid then anyway) or when nothing holds the fence any more.
async fn watch_node(
    client: Client,
    node: String,
    mut deleted: WatchFuture,
    lost: watch::Sender<bool>,
    mut session: watch::Receiver<SessionState>,
) {
    loop {
        tokio::select! {
            ev = &mut deleted => match ev {
                // Someone wrote the node's data: it is still there; watch it again.
                Ok(ev) if ev.event_type == EventType::NodeDataChanged => {
                    match client.exists_w(&node).await {
                        Ok((Some(_), w)) => deleted = w,
                        _ => {
                            lost.send_replace(true);
                            return;
                        }
                    }
                }
                Ok(_) | Err(_) => {
                    lost.send_replace(true);
                    return;
                }
            },
            _ = session.changed() => return,
            _ = lost.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence(
        session: &watch::Sender<SessionState>,
        lost: &watch::Sender<bool>,
        token: i64,
    ) -> Fence {
        Fence {
            token,
            node: "/n".into(),
            session: session.subscribe(),
            lost: lost.subscribe(),
            within: None,
        }
    }

    #[tokio::test]
    async fn a_disconnect_invalidates_for_good() {
        let (session, _) = watch::channel(SessionState::Connected);
        let (lost, _) = watch::channel(false);
        let f = fence(&session, &lost, 7);
        assert!(f.is_valid());
        session.send_replace(SessionState::Disconnected);
        session.send_replace(SessionState::Connected);
        assert!(!f.is_valid());
        f.lost().await;
    }

    #[tokio::test]
    async fn revoking_or_losing_the_outer_fence_invalidates() {
        let (session, _) = watch::channel(SessionState::Connected);
        let (outer_lost, _) = watch::channel(false);
        let (inner_lost, _) = watch::channel(false);
        let outer = fence(&session, &outer_lost, 1);
        let inner = fence(&session, &inner_lost, 2).within(&outer);
        assert!(inner.is_valid());
        Revoker(outer_lost).revoke();
        assert!(!inner.is_valid());
        inner.lost().await;
        let revoker = Revoker(inner_lost);
        let alone = fence(&session, &revoker.0, 3);
        drop(revoker);
        assert!(!alone.is_valid());
    }
}
