//! TLS with rustls, as ZooKeeper's `secureClientPort` and its `ssl.*` keys configure it.
//!
//! - [`settings`]: the `ssl.*` (or `ssl.quorum.*`) keys, checked when the config is read.
//! - [`stores`]: key and trust stores in PEM; [`keystore`]: in PKCS12 (JKS is refused).
//! - [`reload`]: this server's certificate, re-read when its file changes.
//! - [`acceptor`]: rustls' server side for a listening port.
//! - [`quorum`]: mutual TLS between members (`sslQuorum`), for `corral_peer`.
//! - [`x509`]: the `x509` auth scheme: a client certificate's subject as its identity.

pub mod acceptor;
pub mod keystore;
pub mod quorum;
pub mod reload;
pub mod settings;
pub mod stores;
pub mod x509;

pub use settings::{ClientAuth, TlsSettings};
