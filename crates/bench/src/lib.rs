//! `corral bench`: a load generator for any ZooKeeper-protocol server, built on
//! `corral-client`.
//!
//! - [`args`]: the flags, into a [`Config`].
//! - [`workload`]: the kinds of load and where the run's znodes live.
//! - `run`: sessions, set-up, workers (each session keeps `depth` requests in flight), and the
//!   time limit every run has.
//! - [`stats`]: latency histograms and error counts, the table row and the JSON line.
//! - [`election`]: the `election` workload, leader handoff latency with `corral-recipes`.
//! - `fanout`: the `watch` workload, the time until every watcher of a znode is notified.
//! - `churn`: the `churn` workload, sessions opened and closed.
//!
//! The bench runs on its own runtime, one thread by default, so that on a small machine it
//! takes as little as it can from the server it measures.

pub mod args;
mod churn;
pub mod election;
mod fanout;
mod run;
pub mod stats;
pub mod workload;

use std::process::ExitCode;

pub use args::Config;
pub use run::run;
pub use stats::{Label, Summary};
use workload::Workload;

/// `corral bench ARGS`: parses, runs, prints the table and the JSON line.
pub fn cli(args: &[String]) -> ExitCode {
    let config = match args::parse(args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("corral bench: {e}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = if config.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corral bench: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if config.workload == Workload::Election {
        return election_cli(&runtime, &config);
    }
    let label = Label {
        workload: config.workload.name().to_string(),
        servers: config.servers.clone(),
        clients: config.clients,
        depth: config.depth,
        value_size: config.value_size,
        batch: config.batch,
    };
    let summary = match runtime.block_on(run(&config)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("corral bench: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "{} on {}: {} sessions x {} in flight, {} B values, {:.1} s measured",
        label.workload,
        label.servers,
        label.clients,
        label.depth,
        label.value_size,
        summary.seconds
    );
    println!("{}", stats::TABLE_HEADER);
    println!("{}", stats::table_row(&label, &summary));
    for (kind, n) in &summary.errors_by_kind {
        println!("  errors: {n} {kind}");
    }
    println!("{}", stats::json_line(&label, &summary));
    if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn election_cli(runtime: &tokio::runtime::Runtime, config: &Config) -> ExitCode {
    let summary = match runtime.block_on(election::run(config)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("corral bench: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "election ({}) on {}: {} contenders, {} groups, {} handoffs measured, set up in {:.1} s",
        election::shape(config.groups),
        config.servers,
        config.contenders,
        config.groups,
        summary.handoffs.ops,
        summary.setup_seconds
    );
    println!("{}", election::TABLE_HEADER);
    println!(
        "{}",
        election::table_row(config.contenders, config.groups, &summary)
    );
    for (kind, n) in &summary.handoffs.errors_by_kind {
        println!("  errors: {n} {kind}");
    }
    println!(
        "{}",
        election::json_line(&config.servers, config.contenders, config.groups, &summary)
    );
    if summary.handoffs.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
