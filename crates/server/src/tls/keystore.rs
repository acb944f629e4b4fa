//! PKCS12 stores (`ssl.keyStore.type=PKCS12`, `.p12`/`.pfx`), read with `p12-keystore`: the
//! first private key entry and its chain for a key store, every certificate (and chain) for
//! a trust store. JKS is Java's own format, which no maintained Rust library reads: it is
//! refused with the `keytool` command that converts it.

use p12_keystore::{KeyStore, KeyStoreEntry};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::settings::{Store, StoreType};
use super::stores::Identity;

pub fn read_identity(store: &Store) -> Result<Identity, String> {
    let ks = open(store)?;
    let (_, chain) = ks
        .private_key_chain()
        .ok_or_else(|| format!("{}: no private key entry", store.location.display()))?;
    let certs: Vec<_> = chain
        .chain()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    if certs.is_empty() {
        return Err(format!(
            "{}: the private key has no certificate",
            store.location.display()
        ));
    }
    Ok(Identity {
        chain: certs,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().to_vec())),
    })
}

pub fn read_certificates(store: &Store) -> Result<Vec<CertificateDer<'static>>, String> {
    let ks = open(store)?;
    let mut certs = vec![];
    for (_, entry) in ks.entries() {
        match entry {
            KeyStoreEntry::Certificate(c) => certs.push(c.as_der().to_vec().into()),
            KeyStoreEntry::PrivateKeyChain(k) => {
                certs.extend(k.chain().iter().map(|c| c.as_der().to_vec().into()))
            }
            KeyStoreEntry::Secret(_) => {}
        }
    }
    Ok(certs)
}

fn open(store: &Store) -> Result<KeyStore, String> {
    let name = store.location.display();
    if store.kind == StoreType::Jks {
        return Err(format!(
            "{name}: JKS stores cannot be read; convert it with `keytool -importkeystore \
             -srckeystore {name} -destkeystore <file>.p12 -deststoretype PKCS12` and use the \
             PKCS12 file"
        ));
    }
    let bytes = std::fs::read(&store.location).map_err(|e| format!("cannot read {name}: {e}"))?;
    // The error names neither the password nor the store's contents.
    KeyStore::from_pkcs12(&bytes, &store.password)
        .map_err(|e| format!("{name}: not a PKCS12 store this password opens: {e}"))
}
