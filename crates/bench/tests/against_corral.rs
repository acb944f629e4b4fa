//! A short bench against an in-process corral: the runs end on time, count every request and
//! see no errors.

use std::time::{Duration, Instant};

use corral_bench::{args, run};

async fn start_corral() -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("corral-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = corral_server::Config {
        client_port: 0,
        client_port_address: [127, 0, 0, 1].into(),
        data_dir: dir.clone(),
        data_log_dir: dir.clone(),
        max_client_cnxns: 0,
        ..corral_server::Config::default()
    };
    let server = corral_server::Server::bind(cfg).await.expect("bind corral");
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    (addr.to_string(), dir)
}

fn config(flags: &str) -> args::Config {
    let v: Vec<String> = flags.split_whitespace().map(String::from).collect();
    args::parse(&v).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_second_bench() {
    let (servers, dir) = start_corral().await;

    let began = Instant::now();
    let c = config(&format!(
        "--servers {servers} --workload mixed --clients 2 --depth 4 --duration 1 --warmup 0 \
         --keys 20"
    ));
    let s = run(&c).await.expect("mixed run");
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "{:?}",
        began.elapsed()
    );
    assert!(s.seconds >= 1.0 && s.seconds < 5.0, "{s:?}");
    assert!(s.ops > 0 && s.errors == 0, "{s:?}");
    assert!(s.p50_us <= s.p99_us && s.p99_us <= s.p999_us && s.p999_us <= s.max_us);

    // A quota run stops at exactly its count.
    let c = config(&format!(
        "--servers {servers} --workload create --clients 2 --depth 8 --ops 300 --warmup 0"
    ));
    let s = run(&c).await.expect("create run");
    assert_eq!((s.ops, s.errors), (300, 0), "{s:?}");
    let c = config(&format!(
        "--servers {servers} --workload create --batch 5 --clients 1 --depth 2 --ops 20 \
         --warmup 0"
    ));
    let s = run(&c).await.expect("batched create run");
    assert_eq!((s.ops, s.errors), (20, 0), "{s:?}");

    // Every other workload counts exactly its ops, without errors.
    for (workload, shape) in [
        ("children", "--clients 2 --depth 4"),
        ("ephemeral-seq", "--clients 2 --depth 4"),
        ("multi", "--clients 2 --depth 2"),
        ("watch", "--clients 20"),
        ("churn", "--clients 3"),
    ] {
        let c = config(&format!(
            "--servers {servers} --workload {workload} {shape} --ops 30 --warmup 0"
        ));
        let s = run(&c).await.expect(workload);
        assert_eq!((s.ops, s.errors), (30, 0), "{workload}: {s:?}");
    }

    let _ = std::fs::remove_dir_all(dir);
}
