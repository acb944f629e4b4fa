//! [`Mutex`]: a distributed lock (Curator's `InterProcessMutex`, not re-entrant).
//!
//! The queue is the election's: a protected ephemeral sequential node per waiter, the lowest
//! holds, each waiter watches only the node before it and reads the children again when it
//! goes. What Curator's lock does not give and this one does: the [`LockGuard`] carries a
//! [`Fence`] — a fencing token (the lock node's `czxid`, strictly increasing across
//! successive holders) and validity that ends the moment the session is disconnected, so a
//! holder can check [`LockGuard::is_valid`] before each step of its critical section and
//! stop when it is false. A cancelled `acquire` (timeout, dropped future) leaves no node
//! behind.

use std::time::Duration;

use corral_client::{Client, Result};

use crate::fence::Fence;
use crate::turn::{Candidate, Rule};

/// The node name (after the protected prefix) of lock waiters.
const LOCK_NAME: &str = "lock-";

/// A lock under one path. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::Mutex;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let lock = Mutex::new(&zk, "/app/locks/accounts");
/// let guard = lock.acquire().await?;
/// if guard.is_valid() {
///     // The critical section; pass guard.token() to the storage it writes.
/// }
/// guard.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Mutex {
    client: Client,
    path: String,
}

impl Mutex {
    pub fn new(client: &Client, path: &str) -> Mutex {
        Mutex {
            client: client.clone(),
            path: path.to_string(),
        }
    }

    /// Waits for the lock. Fails if the session ends first.
    pub async fn acquire(&self) -> Result<LockGuard> {
        LockGuard::acquire(&self.client, &self.path, LOCK_NAME, Rule::Exclusive).await
    }

    /// Waits at most `wait` for the lock; `None` if it was not acquired in time (the waiter's
    /// node is then deleted).
    pub async fn try_acquire(&self, wait: Duration) -> Result<Option<LockGuard>> {
        match tokio::time::timeout(wait, self.acquire()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// A held lock ([`Mutex`], or either side of an [`RwLock`](crate::RwLock)). Release it with
/// [`release`](LockGuard::release); dropping it releases in the background.
pub struct LockGuard {
    candidate: Candidate,
    fence: Fence,
}

impl LockGuard {
    pub(crate) async fn acquire(
        client: &Client,
        path: &str,
        name: &'static str,
        rule: Rule,
    ) -> Result<LockGuard> {
        let mut candidate = Candidate::new(client.clone(), path, name, b"", rule);
        let fence = candidate.turn().await?;
        Ok(LockGuard { candidate, fence })
    }

    pub(crate) fn holding(candidate: Candidate, fence: Fence) -> LockGuard {
        LockGuard { candidate, fence }
    }

    /// The holder's fence: token and validity.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// The fencing token ([`Fence::token`]).
    pub fn token(&self) -> i64 {
        self.fence.token()
    }

    /// True while the lock is held, as far as this process can know ([`Fence::is_valid`]).
    pub fn is_valid(&self) -> bool {
        self.fence.is_valid()
    }

    /// Releases the lock: the fence ends at once, then the node is deleted.
    pub async fn release(mut self) -> Result<()> {
        self.candidate.withdraw().await
    }
}
