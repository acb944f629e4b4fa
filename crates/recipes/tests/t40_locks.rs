//! Mutex, read-write lock and semaphore under real contention: twenty sessions increment a
//! counter inside the critical section behind an in-memory holder flag; a holder cut off
//! from the server loses its fence at the disconnect, before the next holder gets in; a
//! waiter that gives up leaves no node behind; readers share, writers exclude; at most N
//! leases.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{wait_state, within, TestServer};
use corral_client::SessionState;
use corral_recipes::{Mutex, RwLock, Semaphore};
use support::{join_all, wait_children, Line, Referee};

const SESSIONS: usize = 20;
const ROUNDS: u64 = 5;

/// What the critical sections share: who is inside, and a counter bumped by a read, a
/// pause and a write (lost updates if two are inside at once).
#[derive(Default)]
struct Section {
    inside: AtomicBool,
    counter: AtomicU64,
}

impl Section {
    async fn enter_and_bump(&self) {
        assert!(
            !self.inside.swap(true, Ordering::SeqCst),
            "two holders at once"
        );
        let v = self.counter.load(Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.counter.store(v + 1, Ordering::SeqCst);
        self.inside.store(false, Ordering::SeqCst);
    }
}

both!(mutex_twenty_sessions);
async fn mutex_twenty_sessions(s: &TestServer) {
    let section = Arc::new(Section::default());
    let referee = Referee::new();
    let mut tasks = Vec::new();
    for i in 0..SESSIONS {
        let lock = Mutex::new(&s.client().await, "/locks/m");
        let (section, referee) = (section.clone(), referee.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let g = lock.acquire().await.unwrap();
                referee.granted(i, g.fence());
                assert!(referee.act(i, g.fence()));
                section.enter_and_bump().await;
                g.release().await.unwrap();
            }
        }));
    }
    join_all("all rounds in time", 3 * common::WAIT, tasks).await;
    assert_eq!(
        section.counter.load(Ordering::SeqCst),
        SESSIONS as u64 * ROUNDS
    );
    assert_eq!(referee.count(), SESSIONS * ROUNDS as usize);
    let c = s.client().await;
    assert!(c.get_children("/locks/m").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_holder_loses_the_lock_first() {
    let s = common::start(common::Kind::Corral).await.unwrap();
    let referee = Referee::new();
    let line = Line::new(&s).await;
    let a = line.client().await;
    let held = Mutex::new(&a, "/locks/x").acquire().await.unwrap();
    referee.granted(0, held.fence());

    let b = s.client().await;
    let waiter = {
        let (b, referee) = (b.clone(), referee.clone());
        tokio::spawn(async move {
            let g = Mutex::new(&b, "/locks/x").acquire().await.unwrap();
            referee.granted(1, g.fence());
            g
        })
    };
    wait_children(&b, "/locks/x", 2).await;
    // A waiter that gives up takes its node away.
    let c = s.client().await;
    let gave_up = Mutex::new(&c, "/locks/x")
        .try_acquire(Duration::from_millis(200))
        .await;
    assert!(gave_up.unwrap().is_none());
    wait_children(&b, "/locks/x", 2).await;

    line.sever();
    wait_state(&a, SessionState::Disconnected).await;
    assert!(!held.is_valid(), "suspended means not holding");
    let g = within("the waiter's turn", waiter).await.unwrap();
    assert!(g.token() > held.token());
    assert!(g.is_valid());
    g.release().await.unwrap();
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_writers_exclude() {
    let s = common::start(common::Kind::Corral).await.unwrap();
    // Three readers hold at once: they all reach a barrier only all three can pass.
    let meet = Arc::new(tokio::sync::Barrier::new(3));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let lock = RwLock::new(&s.client().await, "/locks/rw");
        let meet = meet.clone();
        tasks.push(tokio::spawn(async move {
            let g = lock.read().await.unwrap();
            meet.wait().await;
            g.release().await.unwrap();
        }));
    }
    join_all(
        "three readers together",
        common::WAIT,
        std::mem::take(&mut tasks),
    )
    .await;

    let readers = Arc::new(AtomicUsize::new(0));
    let writer = Arc::new(Section::default());
    for i in 0..9 {
        let lock = RwLock::new(&s.client().await, "/locks/rw");
        let (readers, writer) = (readers.clone(), writer.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..4 {
                if i % 3 == 0 {
                    let g = lock.write().await.unwrap();
                    assert_eq!(readers.load(Ordering::SeqCst), 0, "a writer among readers");
                    writer.enter_and_bump().await;
                    g.release().await.unwrap();
                } else {
                    let g = lock.read().await.unwrap();
                    readers.fetch_add(1, Ordering::SeqCst);
                    assert!(
                        !writer.inside.load(Ordering::SeqCst),
                        "a reader beside a writer"
                    );
                    tokio::task::yield_now().await;
                    readers.fetch_sub(1, Ordering::SeqCst);
                    g.release().await.unwrap();
                }
            }
        }));
    }
    join_all("readers and writers", common::WAIT, tasks).await;
    assert_eq!(writer.counter.load(Ordering::SeqCst), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_three_leases() {
    let s = common::start(common::Kind::Corral).await.unwrap();
    const LEASES: usize = 3;
    let meet = Arc::new(tokio::sync::Barrier::new(LEASES));
    let in_use = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let sem = Semaphore::new(&s.client().await, "/sem", LEASES);
        let (meet, in_use) = (meet.clone(), in_use.clone());
        tasks.push(tokio::spawn(async move {
            // The first three hold together, then everyone contends.
            if i < LEASES {
                let lease = sem.acquire().await.unwrap();
                meet.wait().await;
                lease.release().await.unwrap();
            }
            for _ in 0..3 {
                let lease = sem.acquire().await.unwrap();
                assert!(lease.is_valid());
                let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(now <= LEASES, "{now} leases at once");
                tokio::task::yield_now().await;
                in_use.fetch_sub(1, Ordering::SeqCst);
                lease.release().await.unwrap();
            }
        }));
    }
    join_all("leases in time", 3 * common::WAIT, tasks).await;
    let c = s.client().await;
    assert!(c.get_children("/sem/leases").await.unwrap().is_empty());
}
