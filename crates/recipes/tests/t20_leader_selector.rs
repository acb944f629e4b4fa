//! LeaderSelector: eight selectors take turns (each queues again at the end after its turn,
//! so all of them lead), and a ninth that will not give up its turn is cut off mid-turn: its
//! work is cancelled at the disconnect and the next selector leads once its session expires.
#[path = "../../client/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::within;
use corral_recipes::{LeaderSelector, Turn};
use support::{join_all, lead_until_lost, Line, Referee, ACT_EVERY};
use tokio::sync::oneshot;

const WORKERS: usize = 8;
const PATH: &str = "/scheduler";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_rotate_and_a_cut_off_turn_is_cancelled() {
    let s = &common::start(common::Kind::Corral).await.unwrap();
    let referee = Referee::new();
    let stop = Arc::new(AtomicBool::new(false));
    let turns: Arc<Vec<AtomicUsize>> =
        Arc::new((0..WORKERS).map(|_| AtomicUsize::new(0)).collect());
    let mut lines = Vec::new();
    let mut workers = Vec::new();
    for i in 0..WORKERS {
        let line = Line::new(s).await;
        let mut selector = LeaderSelector::new(&line.sessions, PATH, b"worker");
        let (referee, stop, turns) = (referee.clone(), stop.clone(), turns.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let referee = &referee;
                let turn = selector
                    .take_turn(move |l| async move {
                        referee.granted(i, &l);
                        for _ in 0..3 {
                            tokio::time::sleep(ACT_EVERY).await;
                            assert!(referee.act(i, &l));
                        }
                    })
                    .await
                    .unwrap();
                if turn == Turn::Finished(()) {
                    turns[i].fetch_add(1, Ordering::SeqCst);
                }
            }
            selector.close().await.unwrap();
        }));
        lines.push(line);
    }
    let total = || {
        turns
            .iter()
            .map(|t| t.load(Ordering::SeqCst))
            .sum::<usize>()
    };
    referee
        .wait_grant("two rounds of turns", 2 * WORKERS, |_| true)
        .await;
    assert!(total() >= WORKERS);

    // A selector that keeps its turn until it loses it.
    let stubborn = WORKERS;
    let line = Line::new(s).await;
    let old_session = line.client().await;
    let (started, leading) = oneshot::channel();
    let holdout = {
        let referee = referee.clone();
        let mut selector = LeaderSelector::new(&line.sessions, PATH, b"stubborn");
        tokio::spawn(async move {
            let turn = selector
                .take_turn(|l| async move {
                    referee.granted(stubborn, &l);
                    let _ = started.send(());
                    lead_until_lost(stubborn, &l, &referee).await;
                    std::future::pending::<()>().await
                })
                .await
                .unwrap();
            (turn, selector)
        })
    };
    within("the stubborn selector's turn", leading)
        .await
        .unwrap();
    let n = referee.count();
    line.sever();
    let (turn, selector) = within("the cancelled turn", holdout).await.unwrap();
    assert_eq!(turn, Turn::Lost);
    let next = referee
        .wait_grant("a turn after the expiry", n, |g| g.who != stubborn)
        .await;
    assert!(next.token > referee.grants()[n - 1].token);
    line.restore();
    within(
        "the old session's expiry",
        old_session.state().wait_for(|s| s.is_terminal()),
    )
    .await
    .unwrap();
    selector.close().await.unwrap();

    stop.store(true, Ordering::SeqCst);
    join_all("a worker's last turn", common::WAIT, workers).await;
    for (i, t) in turns.iter().enumerate() {
        assert!(t.load(Ordering::SeqCst) >= 2, "worker {i} led {t:?} times");
    }
    let c = s.client().await;
    assert!(c.get_children(PATH).await.unwrap().is_empty());
}
