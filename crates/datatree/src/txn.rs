//! What is logged: a `Txn` is everything `apply` needs to change the tree the same way on
//! every replica. Prep only decodes and stamps; every check whose answer depends on the tree
//! (existence, versions, ACLs, sequence numbers) happens in `apply`, in ZooKeeper's order.

use corral_jute::{Acl, ErrorCode, Id, Stat};

/// One logged transaction, stamped by the server that received the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// The session that asked (0 for server-initiated work such as container removal).
    pub session_id: i64,
    /// Wall-clock milliseconds when prep stamped it: ctime/mtime, TTL expiry decisions.
    pub time_ms: i64,
    /// The identities of the asking connection (ip, digest, super), for ACL checks.
    pub auth: Vec<Id>,
    pub op: TxnOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Opens session `Txn::session_id`.
    CreateSession {
        timeout_ms: i32,
        passwd: Vec<u8>,
    },
    /// Closes session `Txn::session_id` and deletes its ephemerals.
    CloseSession,
    /// `flags` as `CreateRequest.flags`; `ttl_ms` is -1 unless the request was `createTTL`.
    /// `container` is set for `createContainer` (flags then 4).
    Create {
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        flags: i32,
        ttl_ms: i64,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Option<Vec<u8>>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
    /// All or nothing. Only Create, Delete, SetData and Check appear inside.
    Multi(Vec<TxnOp>),
    /// Removes an empty container, or an empty TTL node whose TTL has passed at `time_ms`.
    DeleteContainer {
        path: String,
    },
}

/// What a successful op produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    SessionCreated,
    SessionClosed,
    /// `path` is the created name, with the sequence suffix if any.
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    SetData {
        stat: Stat,
    },
    SetAcl {
        stat: Stat,
    },
    Checked,
    /// Per-op results of a multi. When the multi failed, every entry is an `Err`: ops before
    /// the failing one `Err(ErrorCode::Ok)`, the failing one its code, later ones
    /// `Err(ErrorCode::RuntimeInconsistency)`, as ZooKeeper reports them.
    Multi(Vec<Result<OpResult, ErrorCode>>),
}

/// The kinds of change a watch can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

/// A change at `path` that may fire watches, in the order ZooKeeper fires them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub path: String,
    pub kind: EventKind,
}

/// The outcome of applying one Txn at one zxid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub zxid: i64,
    /// For a failed multi: `Err(code of the failing op)`; the per-op layout is in
    /// `multi_failure`.
    pub result: Result<OpResult, ErrorCode>,
    /// Per-op error layout of a failed multi (see `OpResult::Multi`), else empty.
    pub multi_failure: Vec<ErrorCode>,
    pub triggers: Vec<Trigger>,
    /// Quota limits this Txn passed (only with `enforceQuota`): soft ones let it through, a
    /// hard one refused it. For the server to log and count.
    pub quota_exceeded: Vec<crate::QuotaExceeded>,
}
