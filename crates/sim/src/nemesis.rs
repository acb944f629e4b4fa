//! The faults: crashes (with the loss of unsynced writes) and restarts, partitions that
//! isolate the leader or any node, lossy and slow weather; then, at the end, healing.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::network::Weather;
use crate::runtime;
use crate::trace;
use crate::types::NodeId;

/// Virtual milliseconds between two faults.
const FAULT_GAP_MS: (u64, u64) = (50, 500);

/// Injects seeded faults until `stop`, then heals everything.
pub async fn run(cluster: Arc<Cluster>, stop: Arc<AtomicBool>) {
    let n = cluster.ids.len();
    // Up to every member but one down at once: a quorum lost for a while is a fault too.
    let max_down = n - 1;
    let mut down: BTreeSet<NodeId> = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        let gap = runtime::gen_range(FAULT_GAP_MS.0..=FAULT_GAP_MS.1);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        let any = cluster.ids[runtime::gen_range(0..n)];
        match runtime::gen_range(0..8) {
            0 | 1 if down.len() < max_down && !down.contains(&any) => {
                cluster.crash(any).await;
                down.insert(any);
            }
            2 | 3 if !down.is_empty() => {
                let pick = *down
                    .iter()
                    .nth(runtime::gen_range(0..down.len()))
                    .expect("some");
                down.remove(&pick);
                cluster.start(pick).await;
            }
            4 => {
                let victim = cluster.leader_hint().unwrap_or(any);
                trace!("nemesis: isolate node {victim}");
                cluster.net.isolate(victim, &cluster.ids);
            }
            5 => {
                trace!("nemesis: heal partitions");
                cluster.net.heal();
            }
            6 => {
                let w = Weather {
                    loss: runtime::gen_range(0.0..0.3),
                    delay_ms: if runtime::chance(0.5) {
                        (0, 5)
                    } else {
                        (5, 80)
                    },
                };
                trace!("nemesis: weather {w:?}");
                cluster.net.set_weather(w);
            }
            _ => {
                trace!("nemesis: calm");
                cluster.net.set_weather(Weather::CALM);
            }
        }
    }
    trace!("nemesis: heal everything");
    cluster.net.heal();
    cluster.net.set_weather(Weather::CALM);
    for id in down {
        cluster.start(id).await;
    }
}
