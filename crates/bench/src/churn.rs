//! The `churn` workload: session churn. Each of `clients` workers opens a session and closes
//! it, again and again; an op is one session opened and closed (both round trips: the
//! connect handshake, and `closeSession`, a logged write on both servers).

use std::time::Instant;

use corral_client::Client;
use tokio::task::JoinSet;

use crate::args::Config;
use crate::run::{count, session_options, Window};
use crate::stats::{Recorder, Summary};

pub async fn run(config: &Config) -> Result<Summary, String> {
    // One session first, so that a server that is not there fails the run rather than
    // filling the error counts.
    Client::connect_with(&config.servers, session_options())
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", config.servers))?
        .close()
        .await
        .map_err(|e| format!("closing a session on {}: {e}", config.servers))?;
    let window = std::sync::Arc::new(Window::starting_now(config));
    let mut workers = JoinSet::new();
    for _ in 0..config.clients {
        let (window, servers) = (window.clone(), config.servers.clone());
        workers.spawn(async move {
            let mut rec = Recorder::default();
            let mut last = Instant::now();
            while let Some(measured) = window.next_op(Instant::now()) {
                let started = Instant::now();
                let result = match Client::connect_with(&servers, session_options()).await {
                    Ok(c) => c.close().await,
                    Err(e) => Err(e),
                };
                last = Instant::now();
                // A failed connect is counted and the worker goes on: the next op is a new
                // session anyway.
                count(&mut rec, result, measured, last - started);
            }
            (rec, last)
        });
    }
    let mut total = Recorder::default();
    let mut last = window.measure_from;
    while let Some(done) = workers.join_next().await {
        let (rec, l) = done.map_err(|e| format!("a worker failed: {e}"))?;
        total.merge(&rec);
        last = last.max(l);
    }
    Ok(total.summary(last.saturating_duration_since(window.measure_from)))
}
