//! [`DoubleBarrier`]: `N` processes enter together and leave together (the ZooKeeper recipe;
//! Curator's `DistributedDoubleBarrier`).
//!
//! Entering: watch `<path>/ready`, create the member's ephemeral node `<path>/<id>`, count
//! the members; the `N`-th creates `ready`, which wakes everyone (one watch each, on
//! `ready`). Leaving: the lowest member waits for the highest to go; every other member
//! deletes its node and waits for the lowest to go; the last one deletes its node and
//! `ready` in one `multi`, so the barrier can be used again. Members' ids must be unique.

use corral_client::{Client, CreateMode, Error, Op, Result};

use crate::nodes::{create_if_absent, delete_if_present, ensure_path, join, uuid};
use crate::sessions::retrying;

const READY: &str = "ready";

/// A double barrier for `members` processes. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::DoubleBarrier;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let round = DoubleBarrier::new(&zk, "/app/rounds/7", 5);
/// round.enter().await?; // returns when all five have entered
/// // ...compute...
/// round.leave().await?; // returns when all five have left
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    members: usize,
    id: String,
}

impl DoubleBarrier {
    /// A member with a random id.
    pub fn new(client: &Client, path: &str, members: usize) -> DoubleBarrier {
        DoubleBarrier::with_id(client, path, members, &uuid())
    }

    /// A member named `id` (unique among the members, not `ready`).
    pub fn with_id(client: &Client, path: &str, members: usize, id: &str) -> DoubleBarrier {
        DoubleBarrier {
            client: client.clone(),
            path: path.to_string(),
            members,
            id: id.to_string(),
        }
    }

    fn node(&self) -> String {
        join(&self.path, &self.id)
    }

    /// The members present (not `ready`), sorted.
    async fn members(&self) -> Result<Vec<String>> {
        let mut c = retrying(&self.client, || self.client.get_children(&self.path)).await?;
        c.retain(|n| n != READY);
        c.sort();
        Ok(c)
    }

    /// Joins and waits until `members` processes have joined.
    pub async fn enter(&self) -> Result<()> {
        ensure_path(&self.client, &self.path).await?;
        let ready = join(&self.path, READY);
        let (up, went_up) = retrying(&self.client, || self.client.exists_w(&ready)).await?;
        // An existing node is ours: an earlier attempt whose reply was lost.
        create_if_absent(&self.client, &self.node(), b"", CreateMode::Ephemeral).await?;
        if up.is_some() {
            return Ok(());
        }
        if self.members().await?.len() >= self.members {
            return create_if_absent(&self.client, &ready, b"", CreateMode::Persistent).await;
        }
        went_up.await.map(drop)
    }

    /// Leaves and waits until every member has left.
    pub async fn leave(&self) -> Result<()> {
        let me = self.node();
        loop {
            let present = self.members().await?;
            let Some(first) = present.first() else {
                return Ok(());
            };
            let mine = present.contains(&self.id);
            if mine && present.len() == 1 {
                return self.leave_last(&me).await;
            }
            let wait_for = if *first == self.id {
                present.last().expect("not empty")
            } else {
                if mine {
                    delete_if_present(&self.client, &me).await?;
                }
                first
            };
            let wait_for = join(&self.path, wait_for);
            let (stat, gone) = retrying(&self.client, || self.client.exists_w(&wait_for)).await?;
            if stat.is_some() {
                gone.await?;
            }
        }
    }

    /// The last member out takes `ready` down with its node, in one step.
    async fn leave_last(&self, me: &str) -> Result<()> {
        let ready = join(&self.path, READY);
        let both = retrying(&self.client, || {
            self.client
                .multi(vec![Op::delete(me, None), Op::delete(&ready, None)])
        })
        .await;
        match both {
            Ok(_) => Ok(()),
            Err(Error::MultiFailed { .. }) => delete_if_present(&self.client, me).await,
            Err(e) => Err(e),
        }
    }
}
