//! [`Counter`]: a shared 64-bit counter updated by compare-and-set (`setData` with the version
//! read), like Curator's `DistributedAtomicLong` — but exact when a reply is lost.
//!
//! The node's data is the value (8 bytes, big-endian: what Curator reads) followed by the
//! tags of the last [`RECENT_TAGS`] writes, 8 random bytes each. Every write carries a fresh
//! tag. When the reply to a write is lost, the counter reads the node again: its tag among the
//! recent ones means the write was applied; absent, with fewer than `RECENT_TAGS` writes since
//! the version it wrote against, means it was not (and it tries again). Only when more writes
//! than that happened in between can it not tell, and then it says so with `ConnectionLoss`
//! rather than risk counting twice or not at all.

use corral_client::{Client, CreateMode, Error, Result};

use crate::nodes::{ensure_path, parent};
use crate::sessions::{is_transient, retrying, wait_connected};

/// How many writers' tags the node keeps.
pub const RECENT_TAGS: usize = 16;
const TAG_BYTES: usize = 8;

/// A counter at one path (created at 0 on first use). See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use corral_client::Client;
/// use corral_recipes::Counter;
///
/// # async fn demo() -> corral_client::Result<()> {
/// let zk = Client::connect("127.0.0.1:2181", Duration::from_secs(5)).await?;
/// let hits = Counter::new(&zk, "/app/counters/hits");
/// let now = hits.add(1).await?;
/// assert!(hits.compare_and_set(now, 0).await? || hits.get().await? != now);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Counter {
    client: Client,
    path: String,
}

/// The counter's node as read.
struct Read {
    value: i64,
    version: i32,
    tags: Vec<[u8; TAG_BYTES]>,
}

impl Counter {
    pub fn new(client: &Client, path: &str) -> Counter {
        Counter {
            client: client.clone(),
            path: path.to_string(),
        }
    }

    /// The current value (0 if the counter was never written).
    pub async fn get(&self) -> Result<i64> {
        Ok(self.read().await?.map_or(0, |r| r.value))
    }

    /// Adds `delta`; returns the new value.
    pub async fn add(&self, delta: i64) -> Result<i64> {
        self.update(|v| Some(v.wrapping_add(delta)))
            .await
            .map(|v| v.expect("always set"))
    }

    /// Sets the value to `new` if it is `expected`; true if it did.
    pub async fn compare_and_set(&self, expected: i64, new: i64) -> Result<bool> {
        Ok(self
            .update(|v| (v == expected).then_some(new))
            .await?
            .is_some())
    }

    /// Writes `f(value)` unless it is `None`, retrying on conflicts; the value written.
    async fn update(&self, f: impl Fn(i64) -> Option<i64>) -> Result<Option<i64>> {
        loop {
            let current = self.read().await?;
            let value = current.as_ref().map_or(0, |r| r.value);
            let Some(new) = f(value) else {
                return Ok(None);
            };
            let tag: [u8; TAG_BYTES] = rand::random();
            let mut tags = vec![tag];
            tags.extend(current.iter().flat_map(|r| r.tags.iter().copied()));
            tags.truncate(RECENT_TAGS);
            let data = encode(new, &tags);
            let written = match &current {
                Some(r) => self
                    .client
                    .set_data(&self.path, &data, Some(r.version))
                    .await
                    .map(drop),
                None => self.create(&data).await,
            };
            match written {
                Ok(()) => return Ok(Some(new)),
                Err(Error::BadVersion | Error::NodeExists) => {}
                Err(e) if is_transient(&e) => {
                    wait_connected(&self.client).await?;
                    let since = current.as_ref().map_or(-1, |r| r.version);
                    if self.applied(tag, since).await? {
                        return Ok(Some(new));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn create(&self, data: &[u8]) -> Result<()> {
        let open = corral_client::Acl::open();
        match self
            .client
            .create(&self.path, data, &open, CreateMode::Persistent)
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::NoNode) => {
                ensure_path(&self.client, parent(&self.path)).await?;
                Err(Error::BadVersion) // not written: read and try again
            }
            Err(e) => Err(e),
        }
    }

    /// After a lost reply: whether the write tagged `tag` against version `since` (-1: the
    /// create) was applied.
    async fn applied(&self, tag: [u8; TAG_BYTES], since: i32) -> Result<bool> {
        let Some(now) = self.read().await? else {
            return Ok(false);
        };
        if now.tags.contains(&tag) {
            return Ok(true);
        }
        // Writes since (the create counts as one); had ours been among them, its tag would
        // be among the newest RECENT_TAGS.
        let writes = now.version as i64 - since as i64;
        if writes <= RECENT_TAGS as i64 {
            Ok(false)
        } else {
            Err(Error::ConnectionLoss)
        }
    }

    async fn read(&self) -> Result<Option<Read>> {
        match retrying(&self.client, || self.client.get_data(&self.path)).await {
            Ok((data, stat)) => Ok(Some(decode(&data, stat.version)?)),
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn encode(value: i64, tags: &[[u8; TAG_BYTES]]) -> Vec<u8> {
    let mut out = value.to_be_bytes().to_vec();
    for t in tags {
        out.extend_from_slice(t);
    }
    out
}

fn decode(data: &[u8], version: i32) -> Result<Read> {
    let bad = || Error::Protocol(format!("a counter's data is {} bytes", data.len()));
    let (value, rest) = data.split_first_chunk::<8>().ok_or_else(bad)?;
    if rest.len() % TAG_BYTES != 0 {
        return Err(bad());
    }
    Ok(Read {
        value: i64::from_be_bytes(*value),
        version,
        tags: rest
            .chunks_exact(TAG_BYTES)
            .map(|c| c.try_into().expect("exact chunks"))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_curator_prefix() {
        let data = encode(-5, &[[1; 8], [2; 8]]);
        assert_eq!(&data[..8], &(-5i64).to_be_bytes());
        let r = decode(&data, 3).unwrap();
        assert_eq!((r.value, r.version, r.tags.len()), (-5, 3, 2));
        assert!(decode(&[0; 9], 0).is_err());
        assert!(decode(&[0; 4], 0).is_err());
    }
}
