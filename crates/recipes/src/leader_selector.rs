//! [`LeaderSelector`]: take turns leading. A contender waits for its turn, leads while its
//! work runs, then gives the turn up and queues again at the end of the line (Curator's
//! `LeaderSelector` with auto-requeue).
//!
//! The election is the same as [`LeaderLatch`](crate::LeaderLatch)'s. What a turn adds:
//! the work runs only while the leadership is valid — the work's future is dropped (cancelled)
//! the moment the fence is lost, so a deposed leader's work stops at its next `.await`
//! instead of running on beside the new leader's.

use std::future::Future;

use corral_client::Result;

use crate::leader_latch::{Leadership, LATCH_NAME};
use crate::sessions::Sessions;
use crate::turn::{Candidate, Rule};

/// How a turn ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn<T> {
    /// The work finished while leading.
    Finished(T),
    /// Leadership was lost first; the work was cancelled.
    Lost,
}

/// A contender that leads in turns. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Options;
/// use corral_recipes::{LeaderSelector, Sessions, Turn};
///
/// # async fn demo() -> corral_client::Result<()> {
/// let sessions = Sessions::renewing("127.0.0.1:2181", Options::new(Duration::from_secs(5)));
/// let mut selector = LeaderSelector::new(&sessions, "/app/scheduler", b"worker-1");
/// loop {
///     let turn = selector
///         .take_turn(|leadership| async move {
///             // Lead: schedule a batch of jobs, fenced by leadership.token().
///             leadership.token()
///         })
///         .await?;
///     if let Turn::Finished(token) = turn {
///         println!("led with token {token}");
///     }
/// #   break;
/// }
/// selector.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct LeaderSelector {
    sessions: Sessions,
    path: String,
    id: Vec<u8>,
    candidate: Option<Candidate>,
}

impl LeaderSelector {
    /// A contender under `path`, not yet queued (the first [`take_turn`](Self::take_turn)
    /// queues it); `id` is stored in its node.
    pub fn new(sessions: &Sessions, path: &str, id: &[u8]) -> LeaderSelector {
        LeaderSelector {
            sessions: sessions.clone(),
            path: path.to_string(),
            id: id.to_vec(),
            candidate: None,
        }
    }

    /// Joins the queue now (if not queued yet), so that the place is kept before the first
    /// turn is taken.
    pub async fn enqueue(&mut self) -> Result<()> {
        self.candidate().await?.enlist().await
    }

    async fn candidate(&mut self) -> Result<&mut Candidate> {
        let stale = match &self.candidate {
            Some(c) => c.client().state().borrow().is_terminal(),
            None => true,
        };
        if stale {
            let client = self.sessions.client().await?;
            self.candidate = Some(Candidate::new(
                client,
                &self.path,
                LATCH_NAME,
                &self.id,
                Rule::Exclusive,
            ));
        }
        Ok(self.candidate.as_mut().expect("set above"))
    }

    /// Waits for this contender's turn, runs `work` with the leadership, and when it finishes
    /// or the leadership is lost (then `work` is dropped), gives the turn up: the node is
    /// deleted and, after a finished turn, a new one queued at the end of the line (after a
    /// lost one, the next call queues).
    ///
    /// A session that expires while waiting is replaced (if `sessions` renews) and the
    /// contender queues again.
    pub async fn take_turn<F, Fut, T>(&mut self, work: F) -> Result<Turn<T>>
    where
        F: FnOnce(Leadership) -> Fut,
        Fut: Future<Output = T>,
    {
        let leadership = loop {
            let renews = self.sessions.renews();
            match self.candidate().await?.turn().await {
                Ok(f) => break f,
                Err(corral_client::Error::SessionExpired) if renews => self.candidate = None,
                Err(e) => return Err(e),
            }
        };
        let out = tokio::select! {
            // Loss first: work that could go on is not polled again once the fence is lost.
            biased;
            _ = leadership.lost() => Turn::Lost,
            t = work(leadership.clone()) => Turn::Finished(t),
        };
        let candidate = self.candidate.as_mut().expect("leading");
        candidate.withdraw().await?;
        // Requeue at once after a finished turn; after a lost one the session may be away, and
        // the next turn queues.
        if matches!(out, Turn::Finished(_)) {
            if let Err(e) = candidate.enlist().await {
                tracing::debug!(error = %e, "selector: requeue failed");
            }
        }
        Ok(out)
    }

    /// Leaves the queue.
    pub async fn close(mut self) -> Result<()> {
        match self.candidate.as_mut() {
            Some(c) => c.withdraw().await,
            None => Ok(()),
        }
    }
}
