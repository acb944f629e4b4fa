//! Accepts client connections, enforcing `maxClientCnxns` per client IP as ZooKeeper does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::connection;
use crate::metrics::ServerMetrics;
use crate::pipeline::CoreMsg;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY_MS: u64 = 100;

type PerIp = Arc<Mutex<HashMap<IpAddr, u32>>>;

/// Releases a connection's slot in the per-IP count when the connection ends.
struct Slot {
    per_ip: PerIp,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

pub async fn run(
    listener: TcpListener,
    core: mpsc::Sender<CoreMsg>,
    max_client_cnxns: u32,
    max_frame_bytes: usize,
    metrics: Arc<ServerMetrics>,
) {
    let per_ip: PerIp = Arc::default();
    let mut next_conn = 1u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                continue;
            }
        };
        let ip = peer.ip();
        {
            let mut m = per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let n = m.entry(ip).or_insert(0);
            if max_client_cnxns > 0 && *n >= max_client_cnxns {
                tracing::warn!(
                    "too many connections from {ip}: max is {max_client_cnxns}; closing {peer}"
                );
                metrics.count("connection_rejected", 1);
                continue;
            }
            *n += 1;
        }
        let slot = Slot {
            per_ip: per_ip.clone(),
            ip,
        };
        let conn = next_conn;
        next_conn += 1;
        let core = core.clone();
        tokio::spawn(async move {
            connection::serve(stream, peer, conn, core, max_frame_bytes).await;
            drop(slot);
        });
    }
}
