//! What the recipe tests share beyond the client tests' servers and proxy (`common`):
//! contenders with their own session behind their own proxy (so that one can be cut off or
//! expired alone), and a referee that checks the safety properties as they happen.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{Client, Options};
use corral_recipes::{Fence, LeaderLatch, Sessions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::common::{within, Proxy, TestServer, TICK_MS};

/// Session timeout of the sessions a test cuts off: short, so that the server expires them
/// quickly (4 ticks), long enough that a busy machine does not expire them by accident.
pub const SHORT: Duration = Duration::from_millis(4 * TICK_MS as u64);
/// How often a leader acts (and so lets the referee look) while it leads.
pub const ACT_EVERY: Duration = Duration::from_millis(5);

/// A session source behind its own proxy.
pub struct Line {
    pub proxy: Proxy,
    pub sessions: Sessions,
}

impl Line {
    pub async fn new(s: &TestServer) -> Line {
        let proxy = Proxy::start(s.addr).await;
        let sessions = Sessions::renewing(&proxy.hosts(), Options::new(SHORT));
        Line { proxy, sessions }
    }

    pub async fn client(&self) -> Client {
        within("a session", self.sessions.client()).await.unwrap()
    }

    /// Cuts the line and keeps it down: the server expires the session after `SHORT`.
    pub fn sever(&self) {
        self.proxy.refuse(true);
        self.proxy.cut();
    }

    pub fn restore(&self) {
        self.proxy.refuse(false);
    }
}

/// One grant of leadership or a lock, as the referee saw it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub who: usize,
    pub token: i64,
    pub node: String,
}

/// Checks, under one lock, that at most one fence is valid at any moment it looks, and that
/// tokens only grow: strictly from one holder's node to the next.
pub struct Referee {
    held: Mutex<Vec<(usize, Fence)>>,
    grants: watch::Sender<Vec<Grant>>,
    acts: Mutex<u64>,
}

impl Referee {
    pub fn new() -> Arc<Referee> {
        Arc::new(Referee {
            held: Mutex::default(),
            grants: watch::channel(Vec::new()).0,
            acts: Mutex::default(),
        })
    }

    fn check(held: &mut Vec<(usize, Fence)>) {
        held.retain(|(_, f)| f.is_valid());
        assert!(
            held.len() <= 1,
            "two valid fences at once: {:?}",
            held.iter().map(|(w, f)| (w, f.token())).collect::<Vec<_>>()
        );
    }

    /// `who` was granted `f`.
    pub fn granted(&self, who: usize, f: &Fence) {
        let mut held = self.held.lock().unwrap();
        held.push((who, f.clone()));
        Referee::check(&mut held);
        let grant = Grant {
            who,
            token: f.token(),
            node: f.node().to_string(),
        };
        self.grants.send_modify(|g| {
            if let Some(last) = g.last() {
                assert!(
                    grant.token > last.token
                        || (grant.token == last.token && grant.node == last.node),
                    "token went back: {last:?} then {grant:?}"
                );
            }
            g.push(grant);
        });
    }

    /// `who` acts under `f` if it is valid; it must then be the newest grant.
    pub fn act(&self, who: usize, f: &Fence) -> bool {
        let mut held = self.held.lock().unwrap();
        Referee::check(&mut held);
        if !f.is_valid() {
            return false;
        }
        let newest = self.grants.borrow().last().map(|g| g.token);
        assert_eq!(
            newest,
            Some(f.token()),
            "{who} acts with a superseded token"
        );
        *self.acts.lock().unwrap() += 1;
        true
    }

    pub fn grants(&self) -> Vec<Grant> {
        self.grants.borrow().clone()
    }

    pub fn acts(&self) -> u64 {
        *self.acts.lock().unwrap()
    }

    /// Waits for a grant after the first `after` that satisfies `f`; returns it.
    pub async fn wait_grant(&self, what: &str, after: usize, f: impl Fn(&Grant) -> bool) -> Grant {
        let mut rx = self.grants.subscribe();
        let found = |g: &Vec<Grant>| g.iter().skip(after).find(|g| f(g)).cloned();
        let grants = within(what, rx.wait_for(|g| found(g).is_some()))
            .await
            .unwrap();
        found(&grants).unwrap()
    }

    /// How many grants so far.
    pub fn count(&self) -> usize {
        self.grants.borrow().len()
    }

    /// The holder of the newest grant, if its fence is still valid.
    pub fn leader(&self) -> Option<usize> {
        let mut held = self.held.lock().unwrap();
        Referee::check(&mut held);
        held.first().map(|(w, _)| *w)
    }
}

/// Follows a latch: reports each leadership to the referee and acts while it lasts, until
/// the latch ends.
pub fn follow(latch: Arc<LeaderLatch>, who: usize, referee: Arc<Referee>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok(l) = latch.leadership().await {
            referee.granted(who, &l);
            lead_until_lost(who, &l, &referee).await;
        }
    })
}

/// Acts every [`ACT_EVERY`] until the fence is lost.
pub async fn lead_until_lost(who: usize, f: &Fence, referee: &Referee) {
    loop {
        tokio::select! {
            _ = f.lost() => return,
            _ = tokio::time::sleep(ACT_EVERY) => {
                referee.act(who, f);
            }
        }
    }
}

/// Cuts one of `lines` after another (connections only: the sessions survive) every
/// `every`, until the returned handle is dropped or aborted, so that requests are caught in
/// flight at random points.
pub fn chaos(lines: Vec<Arc<Line>>, every: Duration) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        for i in (0..lines.len()).cycle() {
            tick.tick().await;
            lines[i].proxy.cut();
        }
    }))
}

/// A task that ends when this is dropped.
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Awaits every task, each within `limit`.
pub async fn join_all(what: &str, limit: Duration, tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        tokio::time::timeout(limit, t)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap();
    }
}

/// Waits until `path` has exactly `n` children (it need not exist yet).
pub async fn wait_children(c: &Client, path: &str, n: usize) {
    within(&format!("{n} children of {path}"), async {
        loop {
            match c.get_children_w(path).await {
                Ok((kids, changed)) => {
                    if kids.len() == n {
                        return;
                    }
                    let _ = changed.await;
                }
                // Not there yet: wait for it.
                Err(corral_client::Error::NoNode) => {
                    if let (None, created) = c.exists_w(path).await.unwrap() {
                        let _ = created.await;
                    }
                }
                Err(e) => panic!("children of {path}: {e}"),
            }
        }
    })
    .await
}
