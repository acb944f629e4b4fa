//! An async client for the ZooKeeper protocol, for corral or Apache ZooKeeper 3.8.
//!
//! A tour of the modules:
//! - [`client`]: [`Client`], the handle: one method per ZooKeeper operation.
//! - `session`: the task behind the handles: requests in flight matched by xid, pings,
//!   reconnect and failover that keep the session, re-registration of watches and auth.
//! - `connection`: one TCP connection: handshake, frames in, a writer task for frames out.
//! - [`tls`]: [`Tls`], rustls to a secure client port (CAs, client certificate, host names).
//! - [`watches`]: the local watch table; [`WatchFuture`] and [`PersistentWatch`].
//! - [`ops`]: create modes, the ops and results of `multi`/`multiRead`, watch modes.
//! - [`event`]: [`WatchedEvent`], [`EventType`], [`SessionState`].
//! - [`error`]: [`Error`], ZooKeeper's codes plus the client's own failures.
//! - [`connect_string`] and [`chroot`]: `host:port,host:port/chroot`.
//! - [`acl`]: digest identities for ACLs.
//!
//! The wire format comes from `corral-jute`; this crate does the IO.
//!
//! ```no_run
//! use std::time::Duration;
//! use corral_client::{Acl, Client, CreateMode};
//!
//! # async fn demo() -> Result<(), corral_client::Error> {
//! let zk = Client::connect("127.0.0.1:2181,127.0.0.1:2182/app", Duration::from_secs(10)).await?;
//! let (path, stat) = zk.create("/job-", b"payload", &Acl::open(), CreateMode::EphemeralSequential).await?;
//! let (data, _stat, changed) = zk.get_data_w(&path).await?;
//! assert_eq!(data, b"payload");
//! zk.set_data(&path, b"new", Some(stat.version)).await?;
//! let event = changed.await?; // NodeDataChanged on `path`
//! println!("{:?} {}", event.event_type, event.path);
//! zk.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod acl;
pub mod chroot;
pub mod client;
pub mod connect_string;
mod connection;
pub mod error;
pub mod event;
pub mod ops;
mod session;
pub mod tls;
pub mod watches;

pub use client::{Client, Options};
pub use corral_jute::{perms, Acl, ClientInfo, ErrorCode, Id, Stat};
pub use error::{Error, Result};
pub use event::{EventType, SessionState, WatchedEvent};
pub use ops::{AddWatchMode, CreateMode, Op, OpResult, ReadOp, WatcherType};
pub use tls::{Tls, TlsError};
pub use watches::{PersistentWatch, WatchFuture};
