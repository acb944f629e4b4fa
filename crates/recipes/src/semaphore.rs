//! [`Semaphore`]: at most `N` holders of a lease at once (Curator's
//! `InterProcessSemaphoreV2`).
//!
//! Leases are ephemeral nodes under `<path>/leases`. A waiter first takes the semaphore's
//! internal [`Mutex`] (`<path>/locks`), so only one waiter at a time looks at the leases and
//! watches them: no herd however many wait. Holding it, it counts the leases; below `N` it
//! creates its lease in a `multi` guarded by a check that its lock node still exists — so a
//! waiter whose lock was lost meanwhile (its session expired and another waiter got the lock)
//! cannot add a lease beyond `N` — then releases the lock. At `N` it waits for the leases to
//! change. A lease is a [`LockGuard`]: fenced, released explicitly or in the background when
//! dropped.

use corral_client::{Client, CreateMode, Error, Op, Result};

use crate::fence;
use crate::mutex::{LockGuard, Mutex};
use crate::nodes::{create_protected, ensure_path, join, protected_name};
use crate::sessions::{is_transient, wait_connected};
use crate::turn::Candidate;

/// A counting semaphore under one path. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::Semaphore;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let slots = Semaphore::new(&zk, "/app/slots/gpu", 4);
/// let lease = slots.acquire().await?; // one of at most four
/// lease.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    client: Client,
    path: String,
    leases: usize,
}

impl Semaphore {
    /// A semaphore of `leases` leases. Every user of `path` must agree on the number.
    pub fn new(client: &Client, path: &str, leases: usize) -> Semaphore {
        Semaphore {
            client: client.clone(),
            path: path.to_string(),
            leases,
        }
    }

    /// Waits for a lease.
    pub async fn acquire(&self) -> Result<LockGuard> {
        let lock = Mutex::new(&self.client, &join(&self.path, "locks"));
        loop {
            let held = lock.acquire().await?;
            let lease = self.lease_under(&held).await;
            held.release().await?;
            if let Some(lease) = lease? {
                return Ok(lease);
            }
        }
    }

    /// Holding the internal lock: waits until fewer than `N` leases exist and creates one.
    /// `None` if the lock was lost first.
    async fn lease_under(&self, lock: &LockGuard) -> Result<Option<LockGuard>> {
        let leases = join(&self.path, "leases");
        let prefix = protected_name("lease-");
        while lock.is_valid() {
            let (children, changed) = match self.client.get_children_w(&leases).await {
                Ok(c) => c,
                Err(Error::NoNode) => {
                    ensure_path(&self.client, &leases).await?;
                    continue;
                }
                Err(e) if is_transient(&e) => {
                    wait_connected(&self.client).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if children.len() < self.leases {
                let guard = Op::check(lock.fence().node(), None);
                let mode = CreateMode::EphemeralSequential;
                let node =
                    match create_protected(&self.client, &leases, &prefix, b"", mode, Some(guard))
                        .await
                    {
                        Ok(n) => n,
                        Err(Error::MultiFailed { index: 0, .. }) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                let Some((fence, revoker)) = fence::hold(&self.client, &node).await? else {
                    continue;
                };
                let candidate = Candidate::holding(self.client.clone(), &leases, node, revoker);
                return Ok(Some(LockGuard::holding(candidate, fence)));
            }
            tokio::select! {
                _ = changed => {}
                _ = lock.fence().lost() => {}
            }
        }
        Ok(None)
    }
}
