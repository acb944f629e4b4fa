//! [`Barrier`]: hold processes until someone lifts it (Curator's `DistributedBarrier`).
//!
//! The barrier is up while its node exists. [`wait`](Barrier::wait) returns once the node is
//! gone, watching it with `exists` (one watch per waiter, on the one node).

use corral_client::{Client, Result};

use crate::nodes::{delete_if_present, ensure_path};
use crate::sessions::retrying;

/// A barrier at one path. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::Barrier;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let gate = Barrier::new(&zk, "/app/gates/deploy");
/// gate.set().await?;
/// // ...elsewhere, workers call gate.wait().await?; then one process lifts it:
/// gate.remove().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    pub fn new(client: &Client, path: &str) -> Barrier {
        Barrier {
            client: client.clone(),
            path: path.to_string(),
        }
    }

    /// Puts the barrier up (already up is fine).
    pub async fn set(&self) -> Result<()> {
        ensure_path(&self.client, &self.path).await
    }

    /// Lifts the barrier (already down is fine).
    pub async fn remove(&self) -> Result<()> {
        delete_if_present(&self.client, &self.path).await
    }

    /// Waits until the barrier is down.
    pub async fn wait(&self) -> Result<()> {
        loop {
            let (stat, lifted) =
                retrying(&self.client, || self.client.exists_w(&self.path)).await?;
            if stat.is_none() {
                return Ok(());
            }
            lifted.await?;
        }
    }
}
