//! The live connections and the sessions they carry, on this server.
//!
//! A session outlives its connections: a client that loses one reconnects on another with
//! the same id and password. Auth identities belong to the connection, as in ZooKeeper
//! (clients re-send `addAuth` after reconnecting). Each session keeps its FIFO of requests
//! waiting behind an uncommitted write of the same session.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use corral_jute::{ErrorCode, Id, Request};

use crate::pipeline::reply::ReplyKind;
use crate::stats::ConnStats;

use crate::outbox::Outbox;
use crate::watch::ConnId;

pub struct Conn {
    pub outbox: Outbox,
    /// `ip:<addr>`, what the TLS handshake authenticated, and whatever `addAuth` added.
    /// Shared so that a read can hold it without copying while the core works.
    pub auth: Arc<Vec<Id>>,
    pub session: Option<i64>,
    pub received: u64,
    pub sent: u64,
    pub connected_at: Instant,
    pub stats: ConnStats,
    /// The SASL exchange under way or done, from the connection's first `sasl` request.
    pub sasl: Option<crate::auth::sasl::Exchange>,
}

impl Conn {
    pub fn new(outbox: Outbox) -> Conn {
        let ip = outbox.peer.ip().to_string();
        let mut auth = vec![Id::new("ip", &ip)];
        auth.extend(outbox.tls.iter().flat_map(|ids| ids.iter().cloned()));
        Conn {
            outbox,
            auth: Arc::new(auth),
            session: None,
            received: 0,
            sent: 0,
            connected_at: Instant::now(),
            stats: ConnStats::new(crate::pipeline::wall_clock_ms()),
            sasl: None,
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.outbox.peer
    }
}

/// A request waiting in its session's FIFO.
pub enum Queued {
    /// A write proposed to the log under proposer id `proposer`; answered when it commits.
    Write {
        conn: ConnId,
        xid: i32,
        kind: ReplyKind,
        received: Instant,
        proposer: u64,
    },
    /// The session's own creation, answered with a `ConnectResponse`.
    Connect { conn: ConnId, proposer: u64 },
    /// A read (or ping, sync, …) that must not overtake the writes ahead of it.
    Read {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    /// A request refused before reaching the log; it still keeps its place in the FIFO.
    Failed {
        conn: ConnId,
        xid: i32,
        err: ErrorCode,
    },
}

impl Queued {
    /// The proposer id of a write or connect marker.
    pub fn proposer(&self) -> Option<u64> {
        match self {
            Queued::Write { proposer, .. } | Queued::Connect { proposer, .. } => Some(*proposer),
            Queued::Read { .. } | Queued::Failed { .. } => None,
        }
    }
}

pub struct Session {
    pub timeout_ms: u32,
    pub conn: Option<ConnId>,
    pub fifo: VecDeque<Queued>,
    /// Set once a close (by the client or by expiry) is proposed: further requests fail.
    pub closing: bool,
    /// While a `reconfig` of this session is carried out: the requests that came after it,
    /// taken up again in order once it is decided (they must not be logged before it).
    pub held: Option<VecDeque<Held>>,
}

/// A request waiting for its session's `reconfig` to be decided.
pub struct Held {
    pub conn: ConnId,
    pub xid: i32,
    pub req: Request,
    pub received: Instant,
}

#[derive(Default)]
pub struct Registry {
    pub conns: HashMap<ConnId, Conn>,
    pub sessions: HashMap<i64, Session>,
}

impl Registry {
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// Forgets a connection; its session stays until it closes or expires.
    pub fn remove_conn(&mut self, id: ConnId) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        if let Some(sid) = conn.session {
            if let Some(s) = self.sessions.get_mut(&sid) {
                if s.conn == Some(id) {
                    s.conn = None;
                }
            }
        }
        Some(conn)
    }
}
