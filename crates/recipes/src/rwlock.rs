//! [`RwLock`]: many readers or one writer (Curator's `InterProcessReadWriteLock`, not
//! re-entrant, no upgrade).
//!
//! Readers and writers queue under one path, in one sequence order, with the node names
//! Curator uses (`__READ__`, `__WRIT__`). A writer holds when it is first; a reader holds
//! when no writer is ahead of it. Each waiter watches one node: a writer the node just
//! before it, a reader the nearest writer before it — so readers queued behind a writer are
//! all admitted when it leaves, and a writer waits for every earlier reader. Guards are
//! [`LockGuard`]s, with the same fence as the [`Mutex`](crate::Mutex)'s.

use corral_client::{Client, Result};

use crate::mutex::LockGuard;
use crate::turn::Rule;

const READ_NAME: &str = "__READ__";
const WRITE_NAME: &str = "__WRIT__";

/// A read-write lock under one path. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::RwLock;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let lock = RwLock::new(&zk, "/app/locks/config");
/// let read = lock.read().await?; // shared with other readers
/// read.release().await?;
/// let write = lock.write().await?; // alone
/// write.release().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RwLock {
    client: Client,
    path: String,
}

impl RwLock {
    pub fn new(client: &Client, path: &str) -> RwLock {
        RwLock {
            client: client.clone(),
            path: path.to_string(),
        }
    }

    /// Waits until no writer is ahead, then holds a read lock.
    pub async fn read(&self) -> Result<LockGuard> {
        let rule = Rule::SharedUnless(WRITE_NAME);
        LockGuard::acquire(&self.client, &self.path, READ_NAME, rule).await
    }

    /// Waits until first in line, then holds the write lock.
    pub async fn write(&self) -> Result<LockGuard> {
        LockGuard::acquire(&self.client, &self.path, WRITE_NAME, Rule::Exclusive).await
    }
}
