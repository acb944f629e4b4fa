//! [`Queue`]: a distributed FIFO queue in which every item is delivered once (the ZooKeeper
//! queue recipe; Curator's `SimpleDistributedQueue`, without its lost-reply holes).
//!
//! Items are persistent sequential nodes under `<path>/items`, put with a protected create
//! (a put whose reply was lost is found by its id, never put twice). A consumer takes the
//! lowest item by deleting it; a failed delete (`NoNode`) means another consumer got it, and
//! it tries the next. The delete is a `multi` that also writes the item's name into the
//! consumer's receipt node (`<path>/receipts/<consumer>`, ephemeral), so when the reply to a
//! take is lost the consumer reads its receipt to learn whether the item is its own, instead
//! of dropping it (Curator's queue loses such an item) or taking another one twice.
//!
//! A take is at most once only if the consumer's session expires in the middle of it: the
//! item may then have been removed without being returned, and the take fails with
//! `SessionExpired`.

use corral_client::{Client, CreateMode, Error, Op, Result};

use crate::nodes::{
    base_name, create_if_absent, create_protected, delete_if_present, ensure_path, join,
    protected_name, sort_sequential, uuid,
};
use crate::sessions::{is_transient, retrying, wait_connected};

const ITEM_NAME: &str = "item-";

/// A queue at one path, with this value's own consumer receipt. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::Queue;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let mut jobs = Queue::new(&zk, "/app/jobs");
/// jobs.put(b"resize image 17").await?;
/// let job = jobs.take().await?; // waits for an item
/// assert_eq!(job, b"resize image 17");
/// jobs.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct Queue {
    client: Client,
    items: String,
    receipt: String,
}

impl Queue {
    pub fn new(client: &Client, path: &str) -> Queue {
        Queue {
            client: client.clone(),
            items: join(path, "items"),
            receipt: join(&join(path, "receipts"), &uuid()),
        }
    }

    /// Adds an item at the tail; returns its node.
    pub async fn put(&self, data: &[u8]) -> Result<String> {
        let prefix = protected_name(ITEM_NAME);
        let mode = CreateMode::PersistentSequential;
        create_protected(&self.client, &self.items, &prefix, data, mode, None).await
    }

    /// Takes the item at the head, waiting for one if the queue is empty.
    pub async fn take(&mut self) -> Result<Vec<u8>> {
        loop {
            let (items, added) = match self.client.get_children_w(&self.items).await {
                Ok(r) => r,
                Err(Error::NoNode) => {
                    ensure_path(&self.client, &self.items).await?;
                    continue;
                }
                Err(e) if is_transient(&e) => {
                    wait_connected(&self.client).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(data) = self.take_first(items).await? {
                return Ok(data);
            }
            added.await?;
        }
    }

    /// Takes the item at the head, or `None` if the queue is empty.
    pub async fn poll(&mut self) -> Result<Option<Vec<u8>>> {
        let items = match retrying(&self.client, || self.client.get_children(&self.items)).await {
            Ok(items) => items,
            Err(Error::NoNode) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.take_first(items).await
    }

    /// Removes the receipt node (the queue and its items stay).
    pub async fn close(self) -> Result<()> {
        delete_if_present(&self.client, &self.receipt).await
    }

    async fn take_first(&mut self, items: Vec<String>) -> Result<Option<Vec<u8>>> {
        for item in sort_sequential(items) {
            if let Some(data) = self.claim(&join(&self.items, &item)).await? {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// Takes `item` if no one else has: `None` if it is gone.
    async fn claim(&self, item: &str) -> Result<Option<Vec<u8>>> {
        let name = base_name(item).as_bytes();
        loop {
            let data = match retrying(&self.client, || self.client.get_data(item)).await {
                Ok((data, _)) => data,
                Err(Error::NoNode) => return Ok(None),
                Err(e) => return Err(e),
            };
            let ops = vec![
                Op::delete(item, None),
                Op::set_data(&self.receipt, name, None),
            ];
            match self.client.multi(ops).await {
                Ok(_) => return Ok(Some(data)),
                Err(Error::MultiFailed { index: 0, .. }) => return Ok(None),
                Err(Error::MultiFailed { index: 1, .. }) => {
                    ensure_path(&self.client, crate::nodes::parent(&self.receipt)).await?;
                    create_if_absent(&self.client, &self.receipt, b"", CreateMode::Ephemeral)
                        .await?;
                }
                Err(e) if is_transient(&e) => {
                    // The session's requests apply in order: the receipt read now tells
                    // whether the take was applied.
                    wait_connected(&self.client).await?;
                    match retrying(&self.client, || self.client.get_data(&self.receipt)).await {
                        Ok((last, _)) if last == name => return Ok(Some(data)),
                        // Not applied (with no receipt yet, it could not have been).
                        Ok(_) | Err(Error::NoNode) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}
