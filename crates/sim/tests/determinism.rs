//! Same seed, same history: two runs of one seed produce the same trace, event for event.

use corral_sim::{run, Options};

#[test]
fn a_seed_replays_exactly() {
    for seed in [7, 11] {
        let options = Options::for_seed(seed);
        let first = run(seed, &options).unwrap_or_else(|f| panic!("{f}"));
        let second = run(seed, &options).unwrap_or_else(|f| panic!("{f}"));
        assert!(first.trace.len() > 100, "a run has events");
        if let Some(i) = (0..first.trace.len()).find(|&i| first.trace.get(i) != second.trace.get(i))
        {
            panic!(
                "seed {seed} diverged at event {i}:\n  first:  {}\n  second: {}",
                first.trace[i],
                second.trace.get(i).map_or("(none)", |s| s.as_str())
            );
        }
        assert_eq!(first.trace.len(), second.trace.len());
    }
}

#[test]
fn different_seeds_differ() {
    let a = run(1, &Options::for_seed(1)).unwrap_or_else(|f| panic!("{f}"));
    let b = run(2, &Options::for_seed(2)).unwrap_or_else(|f| panic!("{f}"));
    assert_ne!(a.trace, b.trace);
}
