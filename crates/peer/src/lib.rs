//! Server-to-server transport: TCP (or mutual TLS), 4-byte length frames, a versioned
//! `postcard` envelope.
//!
//! - [`frame`]: the envelope (hello, request, response) and its framing.
//! - [`client`]: one connection to one member, requests pipelined and matched by id; sent in
//!   call order, which forwarding relies on.
//! - [`server`]: the peer listener; hands requests to a [`server::Handler`] in arrival order
//!   per connection.
//! - [`security`]: plaintext or mutual TLS, from rustls configurations the caller builds.
//!
//! Bodies are opaque bytes: the raft crate encodes its RPCs, the server its forwarded writes
//! and session touches. Nothing here knows about openraft.

pub mod client;
pub mod frame;
pub mod security;
pub mod server;

pub use client::{PeerClient, PeerError};
pub use frame::Kind;
pub use security::{Security, TlsConfigs};
pub use server::{serve, Handler, Pending};
