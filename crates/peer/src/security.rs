//! Plaintext or mutual TLS on peer connections (ZooKeeper's `sslQuorum`). The configurations
//! are built by the caller (the server, from its `ssl.quorum.*` keys); this crate only runs
//! the handshakes, so it knows nothing of key stores or reloading.
//!
//! Both sides of a TLS ensemble must present a certificate: the listener's `ServerConfig`
//! should require client certificates, the dialler's `ClientConfig` carry one. A handshake
//! that fails ends the connection before a single frame is read.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How long a peer's TLS handshake may take, on either side.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How this member talks to the others. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub enum Security {
    #[default]
    Plain,
    Tls(Arc<TlsConfigs>),
}

/// Both sides of mutual TLS.
#[derive(Debug)]
pub struct TlsConfigs {
    /// For the listener; should require a client certificate.
    pub server: Arc<ServerConfig>,
    /// For dialling; should present this member's certificate.
    pub client: Arc<ClientConfig>,
    /// How the listener's log names a dialling member's certificate (DER), e.g. its subject
    /// and serial: that tells which certificate a member uses after a renewal.
    pub describe: fn(&[u8]) -> String,
}

/// A byte stream either way: the plain case stays a bare `TcpStream`.
pub(crate) type BoxedRead = Box<dyn AsyncRead + Unpin + Send>;
pub(crate) type BoxedWrite = Box<dyn AsyncWrite + Unpin + Send>;

impl Security {
    /// The dialling side's handshake with the member at `addr` (`host:port`; the host is
    /// the name its certificate is checked against, if the verifier checks names).
    pub(crate) async fn connect(
        &self,
        stream: TcpStream,
        addr: &str,
    ) -> Result<(BoxedRead, BoxedWrite), String> {
        match self {
            Security::Plain => Ok(plain(stream)),
            Security::Tls(tls) => {
                let name = server_name(addr)?;
                let connector = TlsConnector::from(tls.client.clone());
                let stream = handshake(connector.connect(name, stream))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(split(stream))
            }
        }
    }

    /// The listening side's handshake with a connection just accepted from `from`.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        from: SocketAddr,
    ) -> Result<(BoxedRead, BoxedWrite), HandshakeError> {
        match self {
            Security::Plain => Ok(plain(stream)),
            Security::Tls(tls) => {
                let acceptor = TlsAcceptor::from(tls.server.clone());
                let stream = handshake(acceptor.accept(stream)).await?;
                if let Some(leaf) = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                {
                    tracing::info!(
                        "peer connection from {from}: certificate {}",
                        (tls.describe)(leaf)
                    );
                }
                Ok(split(stream))
            }
        }
    }
}

fn plain(stream: TcpStream) -> (BoxedRead, BoxedWrite) {
    let (rd, wr) = stream.into_split();
    (Box::new(rd), Box::new(wr))
}

/// Why a connection ended before its TLS handshake completed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Closed before a single byte: a member that gave up waiting (a start-up question
    /// asked while this member was still starting), not an intruder.
    #[error("closed before the TLS handshake")]
    Closed,
    #[error("no TLS handshake within {HANDSHAKE_TIMEOUT:?}")]
    TimedOut,
    #[error("TLS handshake failed: {0}")]
    Failed(std::io::Error),
}

/// Runs a handshake within [`HANDSHAKE_TIMEOUT`].
async fn handshake<S>(
    handshake: impl Future<Output = std::io::Result<S>>,
) -> Result<S, HandshakeError> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => Err(HandshakeError::TimedOut),
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(HandshakeError::Closed),
        Ok(Err(e)) => Err(HandshakeError::Failed(e)),
    }
}

fn split<S>(tls: S) -> (BoxedRead, BoxedWrite)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(tls);
    (Box::new(rd), Box::new(wr))
}

/// The host of `host:port` (`[v6]:port` too) as rustls names it: an IP address or a DNS
/// name.
fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("'{host}' is not a host name TLS can check: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_the_host_of_the_address() {
        assert_eq!(
            server_name("127.0.0.1:2888").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            server_name("[::1]:2888").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
        assert_eq!(
            server_name("zk1.example:2888").unwrap(),
            ServerName::try_from("zk1.example").unwrap()
        );
    }
}
