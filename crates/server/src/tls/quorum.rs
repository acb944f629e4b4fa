//! TLS between members (`sslQuorum=true`, the `ssl.quorum.*` keys): mutual, as ZooKeeper's
//! quorum TLS. The listener requires a certificate signed by the quorum trust store (unless
//! `ssl.quorum.clientAuth` says otherwise); the dialler presents this member's certificate
//! and checks the other's against the same trust store, and its name against the host
//! dialled when `ssl.quorum.hostnameVerification` is on (ZooKeeper's default). With
//! `sslQuorumReloadCertFiles=true` both sides pick up a replaced key store on their next
//! handshake (see `reload`).

use std::sync::Arc;

use corral_client::tls::server_verifier;
use corral_peer::{Security, TlsConfigs};
use rustls::ClientConfig;

use super::acceptor::server_config;
use super::reload::ReloadingCert;
use super::settings::TlsSettings;
use super::stores::read_roots;
use crate::config::Config;

const KEYS: &str = "ssl.quorum.";

/// How this member talks to the others, from its configuration.
pub fn security(cfg: &Config) -> Result<Security, String> {
    if !cfg.ssl_quorum {
        return Ok(Security::Plain);
    }
    let reload = cfg.ssl_quorum_reload_cert_files;
    Ok(Security::Tls(Arc::new(TlsConfigs {
        server: server_config(&cfg.quorum_tls, KEYS, reload)?,
        client: client_config(&cfg.quorum_tls, reload)?,
        describe: super::x509::describe,
    })))
}

/// The dialling side: this member's certificate, the quorum trust store's verdict on the
/// other's.
pub fn client_config(s: &TlsSettings, reload: bool) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(s.provider());
    let key_store = s
        .key_store
        .clone()
        .ok_or_else(|| format!("no key store: set {KEYS}keyStore.location"))?;
    let trust = s
        .trust_store
        .as_ref()
        .ok_or_else(|| format!("no trust store: set {KEYS}trustStore.location"))?;
    let roots = read_roots(trust)?;
    let verifier = server_verifier(roots, provider.clone(), s.hostname_verification)
        .map_err(|e| format!("the trust store {}: {e}", trust.location.display()))?;
    let cert = ReloadingCert::new(key_store, provider.clone(), reload)?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&s.versions())
        .map_err(|e| format!("the TLS protocols and cipher suites do not fit together: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(cert));
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_unless_asked_and_missing_stores_are_named() {
        let mut cfg = Config::default();
        assert!(matches!(security(&cfg), Ok(Security::Plain)));
        cfg.ssl_quorum = true;
        let err = security(&cfg).unwrap_err();
        assert!(err.contains("ssl.quorum.keyStore.location"), "{err}");
        cfg.quorum_tls.key_store = Some(super::super::settings::Store {
            location: "/nonexistent/member.pem".into(),
            kind: super::super::settings::StoreType::Pem,
            password: String::new(),
        });
        let err = security(&cfg).unwrap_err();
        assert!(err.contains("ssl.quorum.trustStore.location"), "{err}");
    }
}
