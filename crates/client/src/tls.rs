//! TLS to a server's secure client port (ZooKeeper's `secureClientPort`), with rustls: the
//! CAs that sign the server's certificate, optionally this client's certificate and key (for
//! `ssl.clientAuth=need` and the `x509` scheme), and whether the server's certificate must
//! name the host dialled (on by default, as ZooKeeper's `ssl.hostnameVerification`).

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How to speak TLS to the servers; cheap to clone.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

/// Why the TLS settings could not be used: a file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

impl Tls {
    /// `ca`: PEM certificates to trust; `identity`: PEM files of this client's certificate
    /// chain and its unencrypted private key (they may be the same file).
    pub fn from_pem(
        ca: &Path,
        identity: Option<(&Path, &Path)>,
        verify_hostname: bool,
    ) -> Result<Tls, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in certificates(ca)? {
            roots
                .add(cert)
                .map_err(|e| TlsError(format!("{}: {e}", ca.display())))?;
        }
        Tls::new(Arc::new(roots), identity, verify_hostname)
    }

    fn new(
        roots: Arc<RootCertStore>,
        identity: Option<(&Path, &Path)>,
        verify_hostname: bool,
    ) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let verifier = server_verifier(roots, provider, verify_hostname)
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(certificates(cert)?, private_key(key)?)
                .map_err(|e| TlsError(format!("{}: {e}", key.display())))?,
        };
        Ok(Tls {
            config: Arc::new(config),
        })
    }

    /// The handshake over `stream`, to the server `host` (a name or an address) names.
    pub(crate) async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let file = std::fs::File::open(path)
        .map_err(|e| TlsError(format!("cannot open {}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!("{}: no PEM certificate", path.display())));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let file = std::fs::File::open(path)
        .map_err(|e| TlsError(format!("cannot open {}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| TlsError(format!("{}: {e}", path.display())))?
        .ok_or_else(|| {
            TlsError(format!(
                "{}: no unencrypted PEM private key",
                path.display()
            ))
        })
}

/// WebPKI's checks of a server's certificate against `roots`; with `verify_hostname` false
/// (`ssl.hostnameVerification=false`), all but the host name's. Also used by the server for
/// its peer connections (`sslQuorum`).
pub fn server_verifier(
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    verify_hostname: bool,
) -> Result<Arc<dyn ServerCertVerifier>, rustls::client::VerifierBuilderError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider).build()?;
    Ok(match verify_hostname {
        true => verifier,
        false => Arc::new(AnyName(verifier)),
    })
}

/// The WebPKI checks without the host name's. webpki checks the name after the chain, so a
/// name error means the chain was good.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
