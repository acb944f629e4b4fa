//! PKCS12 and JKS stores.

use rustls::pki_types::CertificateDer;

use super::settings::Store;
use super::stores::Identity;

pub fn read_identity(store: &Store) -> Result<Identity, String> {
    Err(format!(
        "{}: {:?} key stores are not read yet: use PEM",
        store.location.display(),
        store.kind
    ))
}

pub fn read_certificates(store: &Store) -> Result<Vec<CertificateDer<'static>>, String> {
    Err(format!(
        "{}: {:?} trust stores are not read yet: use PEM",
        store.location.display(),
        store.kind
    ))
}
