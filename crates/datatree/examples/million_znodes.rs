//! A repeatable measurement of the tree with many znodes, in the shape `corral bench --workload
//! create --batch 100 --clients 4` leaves (`/corral-bench-<pid>-<ms>/s<i>/w<i>-<n>-<b>`,
//! 100-byte values, `world:anyone` ALL), without a server, a network or a disk in the way.
//!
//! ```sh
//! cargo run --release -p corral-datatree --example million_znodes -- build 1000000 /var/tmp/m.snap
//! cargo run --release -p corral-datatree --example million_znodes -- load /var/tmp/m.snap
//! ```
//!
//! `build` applies the creates as multis of 100 (as the bench sends them), then writes a
//! snapshot; `load` reads it back in a fresh process (so the RSS is the loaded tree's alone).
//! Each prints one line of `key=value` figures: times in seconds, memory from
//! `/proc/self/status` (VmRSS now, VmHWM the peak) and bytes per znode above the process's RSS
//! before the tree existed.

use std::path::Path;
use std::time::Instant;

use corral_datatree::snapshot::{read_snapshot_file, write_snapshot_file, SnapshotMeta};
use corral_datatree::{DataTree, Txn, TxnOp};
use corral_jute::Acl;

const SESSIONS: usize = 4;
const BATCH: usize = 100;
const VALUE_BYTES: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build", n, file] => build(n.parse().expect("a znode count"), Path::new(file)),
        ["load", file] => load(Path::new(file)),
        _ => {
            eprintln!("usage: million_znodes build N FILE | load FILE");
            std::process::exit(2);
        }
    }
}

fn build(n: usize, file: &Path) {
    let before = rss_kib("VmRSS");
    let mut tree = DataTree::new();
    let root = "/corral-bench-4242-1763740000000";
    let mut zxid = 0;
    let mut apply = |tree: &mut DataTree, op: TxnOp| {
        zxid += 1;
        let txn = Txn {
            session_id: 0,
            time_ms: 1_763_740_000_000 + zxid,
            auth: vec![],
            op,
        };
        let applied = tree.apply(zxid, &txn);
        assert!(applied.result.is_ok(), "{:?}", applied.result);
    };
    let create = |path: String| TxnOp::Create {
        path,
        data: Some(vec![b'x'; VALUE_BYTES]),
        acl: Acl::open(),
        flags: 0,
        ttl_ms: -1,
    };
    apply(&mut tree, create(root.to_string()));
    for s in 0..SESSIONS {
        apply(&mut tree, create(format!("{root}/s{s}")));
    }
    let (started, cpu) = (Instant::now(), cpu_s());
    let multis = n / BATCH;
    for m in 0..multis {
        let (s, k) = (m % SESSIONS, m / SESSIONS);
        let ops = (0..BATCH)
            .map(|b| create(format!("{root}/s{s}/w{s}-{k}-{b}")))
            .collect();
        apply(&mut tree, TxnOp::Multi(ops));
    }
    let populate_s = started.elapsed().as_secs_f64();
    let populate_cpu_s = cpu_s() - cpu;
    let rss = rss_kib("VmRSS");
    let znodes = tree.node_count();
    let (started, cpu) = (Instant::now(), cpu_s());
    let meta = SnapshotMeta {
        last_zxid: tree.last_zxid(),
        raft_meta: vec![],
    };
    let dir = file.parent().expect("a file in a directory");
    let written = write_snapshot_file(&tree, &meta, dir).expect("snapshot written");
    std::fs::rename(&written, file).expect("snapshot renamed");
    let write_s = started.elapsed().as_secs_f64();
    let write_cpu_s = cpu_s() - cpu;
    let bytes = std::fs::metadata(file).expect("snapshot exists").len();
    println!(
        "build znodes={znodes} populate_s={populate_s:.2} populate_cpu_s={populate_cpu_s:.2} multis_per_s={:.0} rss_mib={:.0} \
         hwm_mib={:.0} bytes_per_znode={:.0} snapshot_write_s={write_s:.2} snapshot_write_cpu_s={write_cpu_s:.2} snapshot_bytes={bytes}",
        multis as f64 / populate_s,
        rss as f64 / 1024.0,
        rss_kib("VmHWM") as f64 / 1024.0,
        (rss - before) as f64 * 1024.0 / znodes as f64,
    );
}

fn load(file: &Path) {
    let before = rss_kib("VmRSS");
    let (started, cpu) = (Instant::now(), cpu_s());
    let (_, tree) = read_snapshot_file(file).expect("snapshot loads");
    let load_s = started.elapsed().as_secs_f64();
    let load_cpu_s = cpu_s() - cpu;
    let rss = rss_kib("VmRSS");
    let znodes = tree.node_count();
    println!(
        "load znodes={znodes} load_s={load_s:.2} load_cpu_s={load_cpu_s:.2} rss_mib={:.0} hwm_mib={:.0} \
         bytes_per_znode={:.0}",
        rss as f64 / 1024.0,
        rss_kib("VmHWM") as f64 / 1024.0,
        (rss - before) as f64 * 1024.0 / znodes as f64,
    );
}

/// CPU seconds (user + system) this process has used so far: on a shared machine it moves
/// less than wall time with what else runs.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// A `/proc/self/status` field in KiB (0 where there is no such file).
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
