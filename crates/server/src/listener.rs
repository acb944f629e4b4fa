//! Accepts client connections, enforcing `maxClientCnxns` per client IP and
//! `zookeeper.maxCnxns` in total as ZooKeeper does (each port counts its own, as ZooKeeper's
//! two connection factories do; a connection past either is closed at once, logged and
//! counted in `connection_rejected`), and hands each connection its share of
//! `globalOutstandingLimit` (one for the whole server). On the secure port a connection starts
//! with the TLS handshake; one that fails it (plaintext, an untrusted certificate) is closed,
//! and a client sees the connection lost.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_jute::Id;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::connection;
use crate::limits::HANDSHAKE_TIMEOUT_MS;
use crate::metrics::ServerMetrics;
use crate::outstanding::Outstanding;
use crate::pipeline::CoreMsg;
use crate::tls::x509;

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY_MS: u64 = 100;

type PerIp = Arc<Mutex<HashMap<IpAddr, u32>>>;

/// What the listener enforces.
#[derive(Clone)]
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

/// What the secure client port needs beyond a plain one.
pub struct SecurePort {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// `X509AuthenticationProvider.superUser`.
    pub super_user: Option<String>,
}

/// What both client ports share.
#[derive(Clone)]
pub struct Shared {
    pub core: mpsc::Sender<CoreMsg>,
    pub limits: Limits,
    pub metrics: Arc<ServerMetrics>,
    /// Connection ids, unique across both ports.
    pub next_conn: Arc<AtomicU64>,
}

pub async fn run(listener: TcpListener, shared: Shared, secure: Option<Arc<SecurePort>>) {
    let Shared {
        core,
        limits,
        metrics,
        next_conn,
    } = shared;
    let per_ip: PerIp = Arc::default();
    let total = Arc::new(AtomicU32::new(0));
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
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let core = core.clone();
        let share = limits.outstanding.share();
        let max_frame_bytes = limits.max_frame_bytes;
        let _ = stream.set_nodelay(true);
        let secure = secure.clone();
        tokio::spawn(async move {
            match secure {
                None => {
                    let halves = stream.into_split();
                    connection::serve(halves, peer, conn, core, share, max_frame_bytes, None).await
                }
                Some(port) => {
                    let Some((tls, ids)) = handshake(&port, stream, peer).await else {
                        return;
                    };
                    let halves = tokio::io::split(tls);
                    let ids = Some(ids);
                    connection::serve(halves, peer, conn, core, share, max_frame_bytes, ids).await
                }
            }
            drop(slot);
        });
    }
}

/// The TLS handshake, bounded in time; the ids a client certificate authenticates.
async fn handshake(
    port: &SecurePort,
    stream: TcpStream,
    peer: std::net::SocketAddr,
) -> Option<(tokio_rustls::server::TlsStream<TcpStream>, Arc<[Id]>)> {
    let timeout = Duration::from_millis(HANDSHAKE_TIMEOUT_MS);
    let tls = match tokio::time::timeout(timeout, port.acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::info!("closing connection from {peer}: TLS handshake failed: {e}");
            return None;
        }
        Err(_) => {
            tracing::info!("closing connection from {peer}: no TLS handshake in time");
            return None;
        }
    };
    let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
    let ids = match leaf.map(|c| x509::auth_ids(c, port.super_user.as_deref())) {
        None => vec![],
        Some(Ok(ids)) => {
            tracing::info!("authenticated {peer} as x509:{}", ids[ids.len() - 1].id);
            ids
        }
        Some(Err(why)) => {
            tracing::info!("closing connection from {peer}: {why}");
            return None;
        }
    };
    Some((tls, ids.into()))
}
