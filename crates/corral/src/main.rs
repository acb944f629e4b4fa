//! The one binary: `corral server [--config zoo.cfg]`, `corral admin ...`, `corral cli ...`.

mod admin;
mod cli;
mod dump_log;
mod import_zk;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use corral_server::auth::sasl::settings::SaslSettings;
use corral_server::{Config, Server};

/// See Cargo.toml: the server allocates and frees a buffer per reply, all day.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: corral server [--config ZOO_CFG]
       corral admin dump-snapshot FILE
       corral admin dump-log DIR
       corral admin import-zookeeper ZK_DATADIR [--log-dir DIR] [--to CORRAL_DATADIR]
       corral bench [FLAGS]   (load any ZooKeeper server; --help)
       corral cli [-server HOST:PORT] [CMD ARGS...]   (zkCli.sh's shell; --help)

  server            serve ZooKeeper clients (default: port 2181, data in ./corral-data)
  --config FILE     read settings from a ZooKeeper zoo.cfg
  admin             offline tools (dump-snapshot FILE: print a snapshot;
                    dump-log DIR: print the Raft log of a dataLogDir;
                    import-zookeeper: convert an Apache ZooKeeper dataDir)
";

/// openraft narrates every step at info, and repeats a replication error on every retry
/// while a member is down (corral's peer network logs when a member becomes unreachable and
/// reachable again instead). Unless `RUST_LOG` says something of openraft, keep it quiet.
/// The log store's crates narrate purges and shutdowns at info, which corral's own lines
/// already tell.
const OPENRAFT_QUIET: &str = "openraft=warn,openraft::replication=off,\
     openraft::engine::handler::replication_handler=off,raft_log=warn,chunked_wal=warn";

fn log_filter(env: Option<String>) -> String {
    match env.filter(|e| !e.trim().is_empty()) {
        Some(e) if e.contains("openraft") => e,
        Some(e) => format!("{e},{OPENRAFT_QUIET}"),
        None => format!("info,{OPENRAFT_QUIET}"),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(log_filter(
            std::env::var("RUST_LOG").ok(),
        )))
        .with_target(false)
        // Colour codes only for a person at a terminal, never in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => server(&args[1..]),
        Some("admin") => admin::run(&args[1..]),
        Some("bench") => corral_bench::cli(&args[1..]),
        Some("cli") => cli::run(&args[1..]),
        Some("--version" | "version") => {
            println!("corral {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn server(args: &[String]) -> ExitCode {
    let mut config: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => match it.next() {
                Some(p) => config = Some(PathBuf::from(p)),
                None => {
                    eprintln!("--config needs a file");
                    return ExitCode::from(2);
                }
            },
            // ZooKeeper's zkServer.sh style: a bare path to zoo.cfg.
            p if p.ends_with(".cfg") => config = Some(PathBuf::from(p)),
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut cfg = match &config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("corral: {e}");
                return ExitCode::from(1);
            }
        },
        None => Config::default(),
    };
    // As zkServer.sh: the JAAS file and SASL properties may come as JVM flags.
    cfg.sasl
        .fill_from_jvm_flags(&SaslSettings::jvm_flags_from_env());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corral: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let server = match Server::bind(cfg).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("corral: cannot start: {e}");
                return ExitCode::from(1);
            }
        };
        // Loading a snapshot leaves freed temporaries (a million znodes: ~115 MB) that
        // mimalloc would keep until allocation picks up again; an idle server would hold them
        // for good. Hand them back before serving.
        // SAFETY: mi_collect only walks mimalloc's own structures; it has no preconditions.
        unsafe { libmimalloc_sys::mi_collect(true) };
        match server.local_addr() {
            Ok(addr) => tracing::info!(
                "corral {} serving clients on {addr}",
                env!("CARGO_PKG_VERSION")
            ),
            Err(e) => tracing::warn!("serving clients (local address unknown: {e})"),
        }
        tokio::select! {
            res = server.run() => {
                if let Err(why) = res {
                    tracing::error!("stopping: {why}");
                    eprintln!("corral: {why}");
                    return ExitCode::from(1);
                }
            }
            _ = shutdown_signal() => tracing::info!("shutting down"),
        }
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
