//! Accepts client connections, enforcing `maxClientCnxns` per client IP and
//! `zookeeper.maxCnxns` in total as ZooKeeper does (a connection past either is closed at
//! once, logged and counted in `connection_rejected`), and hands each connection its share
//! of `globalOutstandingLimit`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::connection;
use crate::metrics::ServerMetrics;
use crate::outstanding::Outstanding;
use crate::pipeline::CoreMsg;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY_MS: u64 = 100;

type PerIp = Arc<Mutex<HashMap<IpAddr, u32>>>;

/// What the listener enforces.
pub struct Limits {
    /// Connections one client IP may hold; 0 means no limit.
    pub max_client_cnxns: u32,
    /// Connections in total (`zookeeper.maxCnxns`); 0 means no limit.
    pub max_cnxns: u32,
    pub outstanding: Outstanding,
    pub max_frame_bytes: usize,
}

/// Releases a connection's slot in the per-IP and total counts when the connection ends.
struct Slot {
    per_ip: PerIp,
    ip: IpAddr,
    total: Arc<AtomicU32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.total.fetch_sub(1, Ordering::AcqRel);
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
    limits: Limits,
    metrics: Arc<ServerMetrics>,
) {
    let per_ip: PerIp = Arc::default();
    let total = Arc::new(AtomicU32::new(0));
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
        let max_cnxns = limits.max_cnxns;
        let alive = total.load(Ordering::Acquire);
        if max_cnxns > 0 && alive >= max_cnxns {
            tracing::warn!("too many connections: {alive}, max is {max_cnxns}; closing {peer}");
            metrics.count("connection_rejected", 1);
            continue;
        }
        let ip = peer.ip();
        {
            let max_client_cnxns = limits.max_client_cnxns;
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
        total.fetch_add(1, Ordering::AcqRel);
        let slot = Slot {
            per_ip: per_ip.clone(),
            ip,
            total: total.clone(),
        };
        let conn = next_conn;
        next_conn += 1;
        let core = core.clone();
        let share = limits.outstanding.share();
        let max_frame_bytes = limits.max_frame_bytes;
        tokio::spawn(async move {
            connection::serve(stream, peer, conn, core, share, max_frame_bytes).await;
            drop(slot);
        });
    }
}
