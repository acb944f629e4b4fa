//! [`LeaderLatch`]: contend for leadership in the background; await it, or ask whether this
//! contender leads.
//!
//! The ZooKeeper recipe, made safe where Curator's `LeaderLatch` was not:
//! - Each contender has one ephemeral sequential node under the election path, created
//!   protected (`_c_<uuid>-latch-<seq>`), so a create whose reply was lost is found again
//!   instead of left behind as a ghost leader.
//! - The lowest sequence leads. The others each watch only the node just before theirs and,
//!   when it goes, read the children again (it may have left rather than led).
//! - Leadership is a [`Leadership`] ([`Fence`]) with a fencing token (the leader node's
//!   `czxid`, strictly increasing across successive leaders). It is invalid from the moment
//!   the session is disconnected ("suspended" counts as not leading), its node is deleted,
//!   or the latch is closed; `is_leader()` is false from that moment too.
//! - After a disconnect that the session survives, the contender reads the children again:
//!   if its node still leads it gets a new fence (the same token). After expiry it
//!   re-enlists with a new session and node (when its [`Sessions`] renews).

use std::future::Future;

use corral_client::{Client, Error, Result};
use tokio::sync::watch;

use crate::fence::Fence;
use crate::sessions::{Sessions, RENEW_BACKOFF};
use crate::turn::{Candidate, Rule};

/// A leader's handle: its fencing token and validity (see [`Fence`]).
pub type Leadership = Fence;

/// The node name (after the protected prefix) of election candidates.
pub(crate) const LATCH_NAME: &str = "latch-";

/// Where a latch stands.
#[derive(Debug, Clone)]
pub enum LatchState {
    /// Enlisted (or enlisting), not leading.
    Waiting,
    /// Leading, while this fence is valid.
    Leading(Leadership),
    /// Closed, or stopped by an error it cannot recover from (a fixed session expired, the
    /// session was closed, credentials were refused).
    Ended(Option<Error>),
}

/// A contender that stays in the election until closed. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Options;
/// use corral_recipes::{LeaderLatch, Sessions};
///
/// # async fn demo() -> corral_client::Result<()> {
/// let sessions = Sessions::renewing("127.0.0.1:2181", Options::new(Duration::from_secs(5)));
/// let latch = LeaderLatch::start(&sessions, "/app/leader", b"worker-1");
/// let leadership = latch.leadership().await?;
/// println!("leading with token {}", leadership.token());
/// while leadership.is_valid() {
///     // Act, passing leadership.token() to whatever is acted on...
/// #   break;
/// }
/// leadership.lost().await; // resolves on disconnect, expiry, deletion or close
/// latch.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct LeaderLatch {
    state: watch::Receiver<LatchState>,
    stop: watch::Sender<bool>,
}

impl LeaderLatch {
    /// Starts contending under `path` with sessions from `sessions`; `id` is stored in the
    /// contender's node (for observers; it need not be unique).
    pub fn start(sessions: &Sessions, path: &str, id: &[u8]) -> LeaderLatch {
        let (path, id) = (path.to_string(), id.to_vec());
        LeaderLatch::spawn(sessions, move |client, publish, stop| {
            let candidate = Candidate::new(client, &path, LATCH_NAME, &id, Rule::Exclusive);
            lead(candidate, publish, stop)
        })
    }

    /// Runs `one_session` on each session of `sessions` in turn until it returns `Ok` (it
    /// was stopped) or fails with anything but an expiry that a new session repairs.
    pub(crate) fn spawn<F, Fut>(sessions: &Sessions, one_session: F) -> LeaderLatch
    where
        F: Fn(Client, watch::Sender<LatchState>, Stop) -> Fut + Send + 'static,
        Fut: Future<Output = Result<()>> + Send,
    {
        let (publish, state) = watch::channel(LatchState::Waiting);
        let (stop, stop_rx) = watch::channel(false);
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let end = run(&sessions, &publish, Stop(stop_rx), one_session).await;
            publish.send_replace(LatchState::Ended(end.err()));
        });
        LeaderLatch { state, stop }
    }

    /// True while this contender leads (its leadership's fence is valid).
    pub fn is_leader(&self) -> bool {
        self.current().is_some()
    }

    /// The current leadership, if this contender leads.
    pub fn current(&self) -> Option<Leadership> {
        match &*self.state.borrow() {
            LatchState::Leading(f) if f.is_valid() => Some(f.clone()),
            _ => None,
        }
    }

    /// Waits until this contender leads. Fails if the latch has ended.
    pub async fn leadership(&self) -> Result<Leadership> {
        let mut state = self.state.clone();
        loop {
            match &*state.borrow_and_update() {
                LatchState::Leading(f) if f.is_valid() => return Ok(f.clone()),
                LatchState::Ended(e) => return Err(e.clone().unwrap_or(Error::Closed)),
                _ => {}
            }
            if state.changed().await.is_err() {
                return Err(Error::Closed);
            }
        }
    }

    /// The latch's state as it changes.
    pub fn state(&self) -> watch::Receiver<LatchState> {
        self.state.clone()
    }

    /// Leaves the election: leadership ends at once, the node is deleted. Returns the error
    /// that had ended the latch, if one had.
    pub async fn close(&self) -> Result<()> {
        self.stop.send_replace(true);
        let mut state = self.state.clone();
        let ended = state
            .wait_for(|s| matches!(s, LatchState::Ended(_)))
            .await
            .map_err(|_| Error::Closed)?;
        match &*ended {
            LatchState::Ended(Some(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }
}

/// A request to stop, shared by a latch's task and what it runs.
#[derive(Clone)]
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once a stop is asked for (or the latch handle is gone).
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

async fn run<F, Fut>(
    sessions: &Sessions,
    publish: &watch::Sender<LatchState>,
    mut stop: Stop,
    one_session: F,
) -> Result<()>
where
    F: Fn(Client, watch::Sender<LatchState>, Stop) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    loop {
        let client = tokio::select! {
            c = sessions.client() => c,
            _ = stop.requested() => return Ok(()),
        };
        let end = match client {
            Ok(c) => one_session(c, publish.clone(), stop.clone()).await,
            Err(e) => Err(e),
        };
        publish.send_replace(LatchState::Waiting);
        match end {
            Ok(()) => return Ok(()),
            Err(e) if sessions.renews() && renewable(&e) => {
                tracing::debug!(error = %e, "election: a new session");
                tokio::select! {
                    _ = tokio::time::sleep(RENEW_BACKOFF) => {}
                    _ = stop.requested() => return Ok(()),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Failures a new session may repair: expiry, or no server reachable to open one. Anything
/// else (the session closed, credentials or ACLs refused) ends the latch.
fn renewable(e: &Error) -> bool {
    matches!(
        e,
        Error::SessionExpired
            | Error::ConnectionLoss
            | Error::Timeout
            | Error::OperationTimeout
            | Error::Io(_)
    )
}

/// Leads with `candidate` whenever its turn comes, until stopped (then withdraws) or its
/// session ends.
async fn lead(
    mut candidate: Candidate,
    publish: watch::Sender<LatchState>,
    mut stop: Stop,
) -> Result<()> {
    loop {
        let fence = tokio::select! {
            f = candidate.turn() => f?,
            _ = stop.requested() => break,
        };
        publish.send_replace(LatchState::Leading(fence.clone()));
        tokio::select! {
            _ = fence.lost() => {}
            _ = stop.requested() => break,
        }
        publish.send_replace(LatchState::Waiting);
    }
    publish.send_replace(LatchState::Waiting);
    candidate.withdraw().await
}
