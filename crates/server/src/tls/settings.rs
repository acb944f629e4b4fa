//! ZooKeeper's `ssl.*` keys (or `ssl.quorum.*` for the peer port), checked when the
//! configuration is read: a store whose type cannot be told, a protocol or cipher suite rustls
//! does not offer, or a feature corral lacks (CRL, OCSP) stops start-up with the key's name.

use std::path::PathBuf;

use rustls::crypto::CryptoProvider;
use rustls::SupportedProtocolVersion;

/// The formats ZooKeeper's `ssl.keyStore.type` / `ssl.trustStore.type` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Pem,
    Pkcs12,
    Jks,
}

impl StoreType {
    fn parse(value: &str) -> Result<StoreType, String> {
        match value.to_ascii_uppercase().as_str() {
            "PEM" => Ok(StoreType::Pem),
            "PKCS12" => Ok(StoreType::Pkcs12),
            "JKS" => Ok(StoreType::Jks),
            _ => Err(format!(
                "'{value}' is not a store type corral reads (PEM, PKCS12, JKS)"
            )),
        }
    }

    /// `KeyStoreFileType.fromFilename`: the type a file's extension implies.
    fn from_file_name(path: &str) -> Option<StoreType> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".pem") || lower.ends_with(".crt") || lower.ends_with(".key") {
            Some(StoreType::Pem)
        } else if lower.ends_with(".p12") || lower.ends_with(".pkcs12") || lower.ends_with(".pfx") {
            Some(StoreType::Pkcs12)
        } else if lower.ends_with(".jks") {
            Some(StoreType::Jks)
        } else {
            None
        }
    }
}

/// A key store or trust store: a file, its format and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Store {
    pub location: PathBuf,
    pub kind: StoreType,
    /// Decrypts a PKCS12 store; PEM keys must be unencrypted.
    pub password: String,
}

impl std::fmt::Debug for Store {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// `ssl.clientAuth`: whether the server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// Asked for; a connection without one is served, one with an untrusted one is not.
    Want,
    /// ZooKeeper's default: a connection without a trusted certificate is refused.
    Need,
}

/// The TLS settings under one prefix (`ssl.` or `ssl.quorum.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub key_store: Option<Store>,
    pub trust_store: Option<Store>,
    pub client_auth: ClientAuth,
    /// `ssl.hostnameVerification` (default true): a peer's certificate must name the host
    /// dialled. Only the dialling side checks it (corral's client, a member dialling a peer).
    pub hostname_verification: bool,
    /// Protocol versions allowed, from `ssl.enabledProtocols` or `ssl.protocol`.
    pub protocols: Vec<Protocol>,
    /// `ssl.ciphersuites` in Java's (IANA) names; `None` for rustls' defaults.
    pub cipher_suites: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tls12,
    Tls13,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            key_store: None,
            trust_store: None,
            client_auth: ClientAuth::Need,
            hostname_verification: true,
            protocols: vec![Protocol::Tls13, Protocol::Tls12],
            cipher_suites: None,
        }
    }
}

/// One `ssl.*` line of the configuration, its name without the prefix.
pub struct RawKey<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// Why a key's value was refused: the key (without prefix) and the reason.
pub type KeyError = (String, String);

impl TlsSettings {
    /// Reads the keys of one prefix; `keys` names them without it (`keyStore.location`).
    pub fn parse<'a>(keys: impl IntoIterator<Item = RawKey<'a>>) -> Result<TlsSettings, KeyError> {
        let mut s = TlsSettings::default();
        let mut stores: [(Option<&str>, Option<&str>, String); 2] = Default::default();
        let mut protocol = None;
        let mut enabled = None;
        for RawKey { name, value } in keys {
            let bad = |why: String| (name.to_string(), why);
            let (which, field) = match name.split_once('.') {
                Some(("keyStore", f)) => (Some(0), f),
                Some(("trustStore", f)) => (Some(1), f),
                _ => (None, name),
            };
            if let Some(i) = which {
                match field {
                    "location" => stores[i].0 = Some(value),
                    "type" => stores[i].1 = Some(value),
                    "password" => stores[i].2 = value.to_string(),
                    "passwordPath" => {
                        // As ZooKeeper: the file's content, without a trailing newline.
                        let text = std::fs::read_to_string(value)
                            .map_err(|e| bad(format!("cannot read {value}: {e}")))?;
                        stores[i].2 = text.trim_end_matches(['\r', '\n']).to_string();
                    }
                    _ => tracing::info!("ignoring unknown TLS key {name}"),
                }
                continue;
            }
            match name {
                "clientAuth" => {
                    s.client_auth = match value.to_ascii_lowercase().as_str() {
                        "none" => ClientAuth::None,
                        "want" => ClientAuth::Want,
                        "need" | "" => ClientAuth::Need,
                        _ => return Err(bad("expected none, want or need".into())),
                    }
                }
                "hostnameVerification" => {
                    s.hostname_verification = crate::config::boolean(value).map_err(bad)?
                }
                "protocol" => protocol = Some(protocol_named(value).map_err(bad)?),
                "enabledProtocols" => {
                    let list = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(exact_protocol)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(bad)?;
                    enabled = Some(list);
                }
                "ciphersuites" => {
                    let names: Vec<String> = value
                        .split(',')
                        .map(|c| c.trim().to_string())
                        .filter(|c| !c.is_empty())
                        .collect();
                    for n in &names {
                        if suite_named(n).is_none() {
                            return Err(bad(format!(
                                "rustls does not offer cipher suite {n}; it offers {}",
                                supported_suite_names().join(", ")
                            )));
                        }
                    }
                    s.cipher_suites = Some(names);
                }
                "crl" | "ocsp" => {
                    if crate::config::boolean(value).map_err(bad)? {
                        return Err(bad("certificate revocation checks are not supported".into()));
                    }
                }
                // Java-only knobs with no meaning here: the provider, the handshake detection
                // of port unification, FIPS mode.
                "sslProvider"
                | "handshakeDetectionTimeoutMillis"
                | "fips-mode"
                | "clientHostnameVerification" => {}
                "context.supplier.class" => {
                    return Err(bad("a Java SSLContext supplier cannot be loaded".into()))
                }
                _ => tracing::info!("ignoring unknown TLS key {name}"),
            }
        }
        // ZooKeeper 3.8: `enabledProtocols` wins; otherwise TLSv1.3 also allows 1.2.
        s.protocols = match (enabled, protocol) {
            (Some(list), _) if !list.is_empty() => list,
            (_, Some(p)) => p,
            _ => s.protocols,
        };
        let [key, trust] = stores;
        s.key_store = store("keyStore", key)?;
        s.trust_store = store("trustStore", trust)?;
        Ok(s)
    }

    /// The ring provider, limited to `ssl.ciphersuites` when given.
    pub fn provider(&self) -> CryptoProvider {
        let mut p = rustls::crypto::ring::default_provider();
        if let Some(names) = &self.cipher_suites {
            p.cipher_suites = names.iter().filter_map(|n| suite_named(n)).collect();
        }
        p
    }

    pub fn versions(&self) -> Vec<&'static SupportedProtocolVersion> {
        self.protocols
            .iter()
            .map(|p| match p {
                Protocol::Tls12 => &rustls::version::TLS12,
                Protocol::Tls13 => &rustls::version::TLS13,
            })
            .collect()
    }
}

fn store(
    prefix: &str,
    (location, kind, password): (Option<&str>, Option<&str>, String),
) -> Result<Option<Store>, KeyError> {
    let Some(location) = location.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let kind = match kind.filter(|k| !k.is_empty()) {
        Some(k) => StoreType::parse(k).map_err(|why| (format!("{prefix}.type"), why))?,
        None => StoreType::from_file_name(location).ok_or_else(|| {
            (
                format!("{prefix}.location"),
                format!("cannot tell the store type of {location}: set {prefix}.type"),
            )
        })?,
    };
    Ok(Some(Store {
        location: PathBuf::from(location),
        kind,
        password,
    }))
}

/// `ssl.protocol`: as ZooKeeper 3.8, "TLSv1.3" (and Java's "TLS") also enable TLSv1.2.
fn protocol_named(name: &str) -> Result<Vec<Protocol>, String> {
    match name {
        "TLSv1.3" | "TLS" => Ok(vec![Protocol::Tls13, Protocol::Tls12]),
        _ => exact_protocol(name).map(|p| vec![p]),
    }
}

/// One of `ssl.enabledProtocols`, in Java's names.
fn exact_protocol(name: &str) -> Result<Protocol, String> {
    match name {
        "TLSv1.3" => Ok(Protocol::Tls13),
        "TLSv1.2" => Ok(Protocol::Tls12),
        _ => Err(format!(
            "rustls does not offer protocol {name}; it offers TLSv1.2 and TLSv1.3"
        )),
    }
}

/// Java names TLS 1.3 suites `TLS_AES_...`; rustls `TLS13_AES_...`.
fn suite_named(name: &str) -> Option<rustls::SupportedCipherSuite> {
    rustls::crypto::ring::ALL_CIPHER_SUITES
        .iter()
        .copied()
        .find(|s| java_name(s) == name)
}

fn java_name(s: &rustls::SupportedCipherSuite) -> String {
    let rustls_name = format!("{:?}", s.suite());
    match rustls_name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => rustls_name,
    }
}

fn supported_suite_names() -> Vec<String> {
    rustls::crypto::ring::ALL_CIPHER_SUITES
        .iter()
        .map(java_name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<TlsSettings, KeyError> {
        TlsSettings::parse(pairs.iter().map(|(name, value)| RawKey { name, value }))
    }

    #[test]
    fn defaults_are_zookeepers() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.client_auth, ClientAuth::Need);
        assert!(s.hostname_verification);
        assert_eq!(s.protocols, vec![Protocol::Tls13, Protocol::Tls12]);
    }

    #[test]
    fn store_types_come_from_the_key_or_the_extension() {
        let s = parse(&[
            ("keyStore.location", "/k/server.pem"),
            ("trustStore.location", "/k/trust"),
            ("trustStore.type", "pkcs12"),
            ("trustStore.password", "secret"),
        ])
        .unwrap();
        assert_eq!(s.key_store.unwrap().kind, StoreType::Pem);
        let trust = s.trust_store.unwrap();
        assert_eq!(trust.kind, StoreType::Pkcs12);
        assert!(!format!("{trust:?}").contains("secret"));
        let err = parse(&[("keyStore.location", "/k/server")]).unwrap_err();
        assert_eq!(err.0, "keyStore.location");
        assert_eq!(
            parse(&[("keyStore.location", "/k/a.bcfks")]).unwrap_err().0,
            "keyStore.location"
        );
    }

    #[test]
    fn protocols_and_suites_rustls_lacks_are_refused() {
        assert_eq!(
            parse(&[("protocol", "TLSv1.2")]).unwrap().protocols,
            vec![Protocol::Tls12]
        );
        assert_eq!(
            parse(&[("enabledProtocols", "TLSv1.3")]).unwrap().protocols,
            vec![Protocol::Tls13]
        );
        assert!(parse(&[("protocol", "TLSv1.1")])
            .unwrap_err()
            .1
            .contains("TLSv1.1"));
        let s = parse(&[(
            "ciphersuites",
            "TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        )])
        .unwrap();
        assert_eq!(s.provider().cipher_suites.len(), 2);
        let err = parse(&[("ciphersuites", "TLS_RSA_WITH_AES_128_CBC_SHA")]).unwrap_err();
        assert!(err.1.contains("does not offer"), "{err:?}");
        assert!(parse(&[("clientAuth", "maybe")]).is_err());
        assert!(parse(&[("ocsp", "true")]).is_err());
        assert_eq!(
            parse(&[("clientAuth", "want")]).unwrap().client_auth,
            ClientAuth::Want
        );
    }
}
