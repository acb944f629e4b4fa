//! Many seeded runs per `cargo test`: `CORRAL_SIM_SEEDS=N` runs seeds 0..N (default
//! `DEFAULT_SEEDS`), `CORRAL_SIM_SEED=S` runs seed S alone and prints its trace,
//! `CORRAL_SIM_OPS=N` gives each client N operations (longer runs, more faults each).

use std::time::Instant;

use corral_sim::{run, Options};

/// Seeds per plain `cargo test`: sized to stay well under a minute on two cores.
const DEFAULT_SEEDS: u64 = 500;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
    )
}

#[test]
fn seeds() {
    let (seeds, verbose): (Vec<u64>, bool) = match env_u64("CORRAL_SIM_SEED") {
        Some(s) => (vec![s], true),
        None => (
            (0..env_u64("CORRAL_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect(),
            false,
        ),
    };
    let started = Instant::now();
    let (mut ops, mut unknown, mut unchecked, mut virtual_ms) = (0, 0, 0, 0);
    let (mut crashes, mut snapshot_chunks) = (0, 0);
    for &seed in &seeds {
        let mut options = Options::for_seed(seed);
        if let Some(ops) = env_u64("CORRAL_SIM_OPS") {
            options.ops_per_client = ops as usize;
        }
        match run(seed, &options) {
            Ok(report) => {
                if verbose {
                    for line in &report.trace {
                        println!("{line}");
                    }
                }
                ops += report.ops;
                unknown += report.unknown;
                unchecked += report.unchecked_keys;
                virtual_ms += report.virtual_ms;
                crashes += report
                    .trace
                    .iter()
                    .filter(|e| e.contains(" crashed:"))
                    .count();
                snapshot_chunks += report
                    .trace
                    .iter()
                    .filter(|e| e.contains("net snapshot") && e.ends_with("delivered"))
                    .count();
            }
            Err(failure) => {
                if verbose {
                    for line in &failure.trace {
                        println!("{line}");
                    }
                }
                panic!("{failure}")
            }
        }
    }
    println!(
        "corral-sim: {} seeds, {ops} ops checked ({unknown} with unknown answers, {unchecked} keys \
         past the search limit), {crashes} crashes, {snapshot_chunks} snapshot chunks sent, \
         {virtual_ms} virtual ms in {:?}",
        seeds.len(),
        started.elapsed()
    );
}
