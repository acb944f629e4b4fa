//! `globalOutstandingLimit`: requests in flight on the whole server, across connections. As
//! ZooKeeper (`ServerCnxn.incrOutstandingAndCheckThrottle` stops reading from connections
//! while the server is over its limit), a connection that cannot take a permit stops reading
//! its socket until replies are written; nothing is dropped or refused.
//!
//! Each connection holds a `Share`: the permits it took and has not given back. The reader
//! takes one per request; its outbox gives one back per reply queued (ZooKeeper counts a
//! request outstanding until its response is queued, not written); whatever a closed
//! connection still held returns when the last holder lets go of the share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

/// The server's permits. `limit` 0 means no limit.
#[derive(Clone, Debug)]
pub struct Outstanding {
    permits: Option<Arc<Semaphore>>,
}

impl Outstanding {
    pub fn new(limit: usize) -> Outstanding {
        Outstanding {
            permits: (limit > 0).then(|| Arc::new(Semaphore::new(limit))),
        }
    }

    /// A new connection's share.
    pub fn share(&self) -> Arc<Share> {
        Arc::new(Share {
            permits: self.permits.clone(),
            held: AtomicUsize::new(0),
        })
    }

    /// Permits free now (for tests and reports); `None` without a limit.
    pub fn available(&self) -> Option<usize> {
        self.permits.as_ref().map(|p| p.available_permits())
    }
}

#[derive(Debug)]
pub struct Share {
    permits: Option<Arc<Semaphore>>,
    held: AtomicUsize,
}

impl Share {
    /// Waits for a permit for one more request.
    pub async fn acquire(&self) {
        if let Some(p) = &self.permits {
            if let Ok(permit) = p.acquire().await {
                permit.forget();
                self.held.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// `n` replies queued: their permits go back (never more than this share holds, since
    /// a few replies, such as the handshake's, answer no counted request).
    pub fn release(&self, n: usize) {
        let Some(p) = &self.permits else { return };
        let mut given = 0;
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                given = n.min(held);
                Some(held - given)
            });
        p.add_permits(given);
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        if let Some(p) = &self.permits {
            p.add_permits(*self.held.get_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_connection_gives_its_permits_back() {
        let o = Outstanding::new(3);
        let a = o.share();
        a.acquire().await;
        a.acquire().await;
        assert_eq!(o.available(), Some(1));
        a.release(5); // more replies than requests: only what it held
        assert_eq!(o.available(), Some(3));
        a.acquire().await;
        a.acquire().await;
        drop(a);
        assert_eq!(o.available(), Some(3));
    }

    #[tokio::test]
    async fn past_the_limit_a_reader_waits() {
        let o = Outstanding::new(1);
        let (a, b) = (o.share(), o.share());
        a.acquire().await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), b.acquire());
        assert!(
            waiting.await.is_err(),
            "a second request got a permit past the limit"
        );
        a.release(1);
        b.acquire().await;
        assert_eq!(o.available(), Some(0));
    }
}
