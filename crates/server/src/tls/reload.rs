//! This server's own certificate, re-read when its key store file changes: a handshake that
//! finds the file's modification time or size changed reads it again, so a renewed
//! certificate is used by new connections without a restart (ZooKeeper's
//! `sslQuorumReloadCertFiles`). A file that cannot be read keeps the previous certificate,
//! with a warning: a half-written renewal must not take the server down.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

use super::settings::Store;
use super::stores::read_identity;

/// The file's modification time and length: what tells that it was replaced.
type Stamp = Option<(SystemTime, u64)>;

#[derive(Debug)]
pub struct ReloadingCert {
    store: Store,
    provider: Arc<CryptoProvider>,
    /// Whether to look at the file again; when false the first certificate is kept.
    reload: bool,
    current: Mutex<(Stamp, Arc<CertifiedKey>)>,
}

impl ReloadingCert {
    pub fn new(store: Store, provider: Arc<CryptoProvider>, reload: bool) -> Result<Self, String> {
        let stamp = stamp(&store);
        let key = certified_key(&store, &provider)?;
        Ok(ReloadingCert {
            store,
            provider,
            reload,
            current: Mutex::new((stamp, key)),
        })
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if self.reload {
            let now = stamp(&self.store);
            if now != cur.0 {
                match certified_key(&self.store, &self.provider) {
                    Ok(key) => {
                        tracing::info!(
                            "reloaded the certificate in {}",
                            self.store.location.display()
                        );
                        *cur = (now, key);
                    }
                    Err(why) => tracing::warn!("keeping the previous certificate: {why}"),
                }
            }
        }
        cur.1.clone()
    }
}

fn stamp(store: &Store) -> Stamp {
    let meta = std::fs::metadata(&store.location).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn certified_key(store: &Store, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, String> {
    let id = read_identity(store)?;
    let key = CertifiedKey::from_der(id.chain, id.key, provider)
        .map_err(|e| format!("{}: {e}", store.location.display()))?;
    Ok(Arc::new(key))
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for ReloadingCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
