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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::settings::StoreType;
    use std::path::Path;
    use std::process::Command;

    /// A self-signed key and certificate for `cn`, as one PEM file at `out`.
    fn self_signed(dir: &Path, cn: &str, out: &Path) -> bool {
        let (key, crt) = (dir.join(format!("{cn}.key")), dir.join(format!("{cn}.crt")));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args([
                "-nodes",
                "-days",
                "1",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .is_ok_and(|o| o.status.success());
        if made {
            let pem = [std::fs::read(&key).unwrap(), std::fs::read(&crt).unwrap()].concat();
            std::fs::write(out, pem).unwrap();
        }
        made
    }

    #[test]
    fn a_replaced_key_store_is_used_and_a_broken_one_is_not() {
        let dir = std::env::temp_dir().join(format!("corral-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("server.pem");
        if !self_signed(&dir, "first", &path) {
            eprintln!("no openssl command: skipping");
            return;
        }
        let store = Store {
            location: path.clone(),
            kind: StoreType::Pem,
            password: String::new(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert = ReloadingCert::new(store.clone(), provider.clone(), true).unwrap();
        let fixed = ReloadingCert::new(store, provider, false).unwrap();
        let first = cert.current().cert[0].clone();

        // A longer name: the file changes size too, whatever the clock's resolution.
        assert!(self_signed(&dir, "second-and-longer", &path));
        let second = cert.current().cert[0].clone();
        assert_ne!(first, second, "the new certificate is used");
        assert_eq!(
            fixed.current().cert[0],
            first,
            "without reload the first one stays"
        );

        std::fs::write(&path, b"half written").unwrap();
        assert_eq!(
            cert.current().cert[0],
            second,
            "a broken file keeps the previous one"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
