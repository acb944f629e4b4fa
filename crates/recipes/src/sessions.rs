//! Where a recipe gets its ZooKeeper session, and the session-state helpers every recipe
//! shares.
//!
//! A [`Client`] is one session: once it has expired it stays expired. Recipes that must
//! outlive a session (leader election re-enlists after expiry) take a [`Sessions`], which
//! either wraps one fixed client or opens a new session when the current one expired.

use std::sync::Arc;
use std::time::Duration;

use corral_client::{Client, Error, Options, Result, SessionState};
use tokio::sync::Mutex;

/// A source of sessions: one fixed [`Client`], or a connect string from which a new
/// session is opened whenever the current one has expired.
///
/// Clones share the current session.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Options;
/// use corral_recipes::Sessions;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let sessions = Sessions::renewing("127.0.0.1:2181", Options::new(Duration::from_secs(5)));
/// let zk = sessions.client().await?; // opens the first session
/// zk.exists("/").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    renew: Option<(String, Options)>,
    current: Mutex<Option<Client>>,
}

impl Sessions {
    /// Only `client`'s session: once it has expired, [`client`](Sessions::client) fails with
    /// `SessionExpired` and recipes using it stop.
    pub fn fixed(client: Client) -> Sessions {
        Sessions {
            inner: Arc::new(Inner {
                renew: None,
                current: Mutex::new(Some(client)),
            }),
        }
    }

    /// Sessions on `connect_string`, the first opened on demand, a new one after each expiry.
    pub fn renewing(connect_string: &str, options: Options) -> Sessions {
        Sessions {
            inner: Arc::new(Inner {
                renew: Some((connect_string.to_string(), options)),
                current: Mutex::new(None),
            }),
        }
    }

    /// The current session, or a new one if it has expired (and this source renews).
    /// Fails with the terminal error of a session that was closed or refused its
    /// credentials: those are the caller's decisions, not accidents to repair.
    pub async fn client(&self) -> Result<Client> {
        let mut current = self.inner.current.lock().await;
        if let Some(c) = current.as_ref() {
            let state = *c.state().borrow();
            match state {
                SessionState::Connected | SessionState::Disconnected => return Ok(c.clone()),
                SessionState::Expired if self.inner.renew.is_some() => {}
                s => return Err(terminal_error(s)),
            }
        }
        let (cs, options) = self
            .inner
            .renew
            .as_ref()
            .expect("only renewing sources get here");
        let c = Client::connect_with(cs, options.clone()).await?;
        *current = Some(c.clone());
        Ok(c)
    }

    /// True if a new session replaces an expired one.
    pub fn renews(&self) -> bool {
        self.inner.renew.is_some()
    }

    /// Closes the current session (its ephemerals go at once).
    pub async fn close(&self) -> Result<()> {
        match self.inner.current.lock().await.take() {
            Some(c) => c.close().await,
            None => Ok(()),
        }
    }
}

/// The error a call on a session in terminal state `s` fails with.
pub(crate) fn terminal_error(s: SessionState) -> Error {
    match s {
        SessionState::Expired => Error::SessionExpired,
        SessionState::AuthFailed => Error::AuthFailed,
        _ => Error::Closed,
    }
}

/// Errors after which the request may or may not have been applied and the session may
/// still be live: wait for the connection and look again.
pub(crate) fn is_transient(e: &Error) -> bool {
    matches!(
        e,
        Error::ConnectionLoss | Error::Timeout | Error::OperationTimeout
    )
}

/// Runs `op` until it returns anything but a transient error, waiting for the connection
/// after each transient one. For operations that are safe to repeat.
pub(crate) async fn retrying<T, F, Fut>(client: &Client, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    loop {
        match op().await {
            Err(e) if is_transient(&e) => wait_connected(client).await?,
            r => return r,
        }
    }
}

/// Waits until `client` is connected; fails once its session is over.
pub(crate) async fn wait_connected(client: &Client) -> Result<()> {
    let mut state = client.state();
    let s = *state
        .wait_for(|s| *s == SessionState::Connected || s.is_terminal())
        .await
        .map_err(|_| Error::Closed)?;
    match s {
        SessionState::Connected => Ok(()),
        s => Err(terminal_error(s)),
    }
}

/// [`wait_connected`] for at most the session timeout. `Ok(false)` when the client stayed
/// disconnected that long: the server has then expired the session (its ephemerals are gone)
/// even though the client cannot hear it yet.
pub(crate) async fn wait_connected_or_expired(client: &Client) -> Result<bool> {
    match tokio::time::timeout(client.session_timeout(), wait_connected(client)).await {
        Ok(r) => r.map(|()| true),
        Err(_) => Ok(false),
    }
}

/// Pause before trying to open a session again after a failure.
pub(crate) const RENEW_BACKOFF: Duration = Duration::from_millis(200);
