//! The TLS side of a listening port: rustls' server configuration from `TlsSettings`.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

use super::reload::ReloadingCert;
use super::settings::{ClientAuth, TlsSettings};
use super::stores::read_roots;

/// `keys`: the settings' prefix (`ssl.` or `ssl.quorum.`), for messages. `reload`: re-read
/// the key store when it changes (see `reload`).
pub fn server_config(
    s: &TlsSettings,
    keys: &str,
    reload: bool,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(s.provider());
    let key_store = s
        .key_store
        .clone()
        .ok_or_else(|| format!("no key store: set {keys}keyStore.location"))?;
    let verifier = match (s.client_auth, &s.trust_store) {
        (ClientAuth::None, _) => WebPkiClientVerifier::no_client_auth(),
        (_, None) => {
            return Err(format!(
                "client certificates are asked for ({keys}clientAuth) but there is no trust \
                 store: set {keys}trustStore.location or {keys}clientAuth=none"
            ))
        }
        (auth, Some(trust)) => {
            let builder =
                WebPkiClientVerifier::builder_with_provider(read_roots(trust)?, provider.clone());
            let builder = if auth == ClientAuth::Want {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| format!("the trust store {}: {e}", trust.location.display()))?
        }
    };
    let cert = ReloadingCert::new(key_store, provider.clone(), reload)?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&s.versions())
        .map_err(|e| format!("the TLS protocols and cipher suites do not fit together: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(cert));
    Ok(Arc::new(config))
}
