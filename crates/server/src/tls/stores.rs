//! Reads key stores (a certificate chain and its private key) and trust stores (the CA
//! certificates a peer's chain must lead to) from the files `ssl.*.location` name.

use std::io::BufReader;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use super::settings::{Store, StoreType};

/// A key store's contents: the chain, leaf first, and its key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub fn read_identity(store: &Store) -> Result<Identity, String> {
    let name = store.location.display();
    match store.kind {
        StoreType::Pem => {
            let items = pem_items(store)?;
            let mut chain = vec![];
            let mut key = None;
            for item in items {
                match item {
                    rustls_pemfile::Item::X509Certificate(c) => chain.push(c),
                    rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => key = Some(k.into()),
                    rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => key = Some(k.into()),
                    rustls_pemfile::Item::Sec1Key(k) if key.is_none() => key = Some(k.into()),
                    _ => {}
                }
            }
            let key = key.ok_or_else(|| {
                format!(
                    "{name}: no unencrypted private key (PKCS#1, PKCS#8 or SEC1) in the PEM file"
                )
            })?;
            if chain.is_empty() {
                return Err(format!("{name}: no certificate in the PEM file"));
            }
            Ok(Identity { chain, key })
        }
        StoreType::Pkcs12 | StoreType::Jks => super::keystore::read_identity(store),
    }
}

pub fn read_roots(store: &Store) -> Result<Arc<RootCertStore>, String> {
    let name = store.location.display();
    let certs = match store.kind {
        StoreType::Pem => pem_items(store)?
            .into_iter()
            .filter_map(|i| match i {
                rustls_pemfile::Item::X509Certificate(c) => Some(c),
                _ => None,
            })
            .collect(),
        StoreType::Pkcs12 | StoreType::Jks => super::keystore::read_certificates(store)?,
    };
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("{name}: a certificate cannot be trusted: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{name}: no certificate to trust"));
    }
    Ok(Arc::new(roots))
}

fn pem_items(store: &Store) -> Result<Vec<rustls_pemfile::Item>, String> {
    let name = store.location.display();
    let file =
        std::fs::File::open(&store.location).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut items = vec![];
    for item in rustls_pemfile::read_all(&mut BufReader::new(file)) {
        items.push(item.map_err(|e| format!("{name}: not a readable PEM file: {e}"))?);
    }
    // rustls-pemfile skips sections it does not know, such as an encrypted key.
    if items.is_empty() {
        return Err(format!("{name}: no PEM section corral can read"));
    }
    Ok(items)
}
