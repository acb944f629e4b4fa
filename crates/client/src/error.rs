//! The client's error type: ZooKeeper's result codes as variants, plus what can go wrong on
//! this side of the wire (connection loss, a request that timed out, IO, a closed client).
//!
//! A code a server sends back (`NoNode`, `BadVersion`, …) maps to the variant of the same name
//! (`KeeperException.Code`); `ConnectionLoss` and `SessionExpired` are also what the client
//! itself reports when a connection drops or the server refuses to resume the session.

use std::sync::Arc;

use corral_jute::ErrorCode;

use crate::ops::OpResult;

/// Everything a client call can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("system error")]
    SystemError,
    #[error("runtime inconsistency")]
    RuntimeInconsistency,
    #[error("data inconsistency")]
    DataInconsistency,
    /// The connection dropped while the request was in flight, or before it could be sent.
    /// The request may or may not have been applied: ZooKeeper leaves the retry to the caller.
    #[error("connection loss")]
    ConnectionLoss,
    #[error("marshalling error")]
    MarshallingError,
    #[error("unimplemented")]
    Unimplemented,
    #[error("operation timeout")]
    OperationTimeout,
    #[error("bad arguments")]
    BadArguments,
    #[error("unknown session")]
    UnknownSession,
    #[error("new config has no quorum")]
    NewConfigNoQuorum,
    #[error("reconfig in progress")]
    ReconfigInProgress,
    #[error("API error")]
    ApiError,
    #[error("no node")]
    NoNode,
    #[error("not authorized")]
    NoAuth,
    #[error("bad version")]
    BadVersion,
    #[error("ephemeral nodes may not have children")]
    NoChildrenForEphemerals,
    #[error("node exists")]
    NodeExists,
    #[error("node has children")]
    NotEmpty,
    /// The server refused to resume the session (it expired), or the session had expired
    /// before this call.
    #[error("session expired")]
    SessionExpired,
    #[error("invalid callback")]
    InvalidCallback,
    #[error("invalid ACL")]
    InvalidAcl,
    #[error("authentication failed")]
    AuthFailed,
    #[error("session moved")]
    SessionMoved,
    #[error("not a read-only call")]
    NotReadOnly,
    #[error("ephemeral on local session")]
    EphemeralOnLocalSession,
    #[error("no such watcher")]
    NoWatcher,
    #[error("request timeout (server side)")]
    RequestTimeout,
    #[error("reconfig disabled")]
    ReconfigDisabled,
    #[error("session closed: SASL authentication required")]
    SessionClosedRequireSaslAuth,
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("throttled")]
    Throttled,
    /// A result code this client does not know.
    #[error("unknown error code {0}")]
    Unknown(i32),
    /// One op of a `multi` failed, so none was applied. `results` is ZooKeeper's layout: the
    /// ops before `index` report `Ok`, the failed op its code, the ops after it
    /// `RuntimeInconsistency`.
    #[error("multi failed at op {index}: {error}")]
    MultiFailed {
        index: usize,
        error: Box<Error>,
        results: Vec<OpResult>,
    },
    /// No reply within the client's request timeout. The request may still be applied.
    #[error("request timed out")]
    Timeout,
    /// The client was closed (or the session ended) before or during the call.
    #[error("client closed")]
    Closed,
    #[error("io: {0}")]
    Io(Arc<std::io::Error>),
    /// The server sent bytes this client cannot decode; the connection is dropped.
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("bad connect string: {0}")]
    BadConnectString(String),
}

impl Error {
    /// The error for a non-zero `ReplyHeader.err`.
    pub fn from_code(code: i32) -> Error {
        match ErrorCode::from_i32(code) {
            Some(c) => Error::from(c),
            None => Error::Unknown(code),
        }
    }
}

impl From<ErrorCode> for Error {
    fn from(c: ErrorCode) -> Error {
        use ErrorCode as C;
        match c {
            // `Ok` is never an error; a caller that maps it anyway gets a system error.
            C::Ok | C::SystemError => Error::SystemError,
            C::RuntimeInconsistency => Error::RuntimeInconsistency,
            C::DataInconsistency => Error::DataInconsistency,
            C::ConnectionLoss => Error::ConnectionLoss,
            C::MarshallingError => Error::MarshallingError,
            C::Unimplemented => Error::Unimplemented,
            C::OperationTimeout => Error::OperationTimeout,
            C::BadArguments => Error::BadArguments,
            C::UnknownSession => Error::UnknownSession,
            C::NewConfigNoQuorum => Error::NewConfigNoQuorum,
            C::ReconfigInProgress => Error::ReconfigInProgress,
            C::ApiError => Error::ApiError,
            C::NoNode => Error::NoNode,
            C::NoAuth => Error::NoAuth,
            C::BadVersion => Error::BadVersion,
            C::NoChildrenForEphemerals => Error::NoChildrenForEphemerals,
            C::NodeExists => Error::NodeExists,
            C::NotEmpty => Error::NotEmpty,
            C::SessionExpired => Error::SessionExpired,
            C::InvalidCallback => Error::InvalidCallback,
            C::InvalidAcl => Error::InvalidAcl,
            C::AuthFailed => Error::AuthFailed,
            C::SessionMoved => Error::SessionMoved,
            C::NotReadOnly => Error::NotReadOnly,
            C::EphemeralOnLocalSession => Error::EphemeralOnLocalSession,
            C::NoWatcher => Error::NoWatcher,
            C::RequestTimeout => Error::RequestTimeout,
            C::ReconfigDisabled => Error::ReconfigDisabled,
            C::SessionClosedRequireSaslAuth => Error::SessionClosedRequireSaslAuth,
            C::QuotaExceeded => Error::QuotaExceeded,
            C::Throttled => Error::Throttled,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(Arc::new(e))
    }
}

impl From<corral_jute::DecodeError> for Error {
    fn from(e: corral_jute::DecodeError) -> Error {
        Error::Protocol(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
