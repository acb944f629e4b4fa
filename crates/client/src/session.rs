//! The session task: owns the connection, the requests in flight and the watch table, and
//! moves the session from server to server when a connection drops.
//!
//! Invariants:
//! - Replies are matched to requests in xid order: requests are queued in `pending` in the
//!   order they are written, a reply must carry the xid at the front, and anything else is a
//!   broken connection (ZooKeeper's "Xid out of order").
//! - Frames are processed in arrival order, so a watch event is delivered before the reply
//!   that follows it, and a watch is registered before its request's reply is handed out.
//! - On connection loss every request in flight fails with `ConnectionLoss` (never silently
//!   retried: the caller decides); the next server is asked to resume the session with its
//!   id, password and the last zxid seen; then watches are re-registered with `SetWatches2`
//!   relative to that zxid (the server fires those that changed meanwhile) and auth is
//!   re-sent, before any queued request.
//! - Bounded: at most `MAX_IN_FLIGHT` requests on the wire, at most `MAX_QUEUED` waiting
//!   while disconnected; callers beyond that wait in the command channel.

use std::collections::VecDeque;
use std::time::Duration;

use corral_jute::opcode::xid;
use corral_jute::{
    AuthPacket, ConnectRequest, Decode, Encode, ErrorCode, OpCode, Reader, ReplyHeader,
    SetWatches2, WatcherEvent,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::chroot::Chroot;
use crate::connection::Connection;
use crate::error::Error;
use crate::event::{EventType, SessionState};
use crate::tls::Tls;
use crate::watches::{WatchChange, WatchTable};

/// Most requests written and not yet answered.
pub const MAX_IN_FLIGHT: usize = 10_000;
/// Most requests held while the client is reconnecting.
pub const MAX_QUEUED: usize = 10_000;
/// Bound on the paths of one `SetWatches2` frame, as ZooKeeper's `SET_WATCHES_MAX_LENGTH`.
const SET_WATCHES_MAX_BYTES: usize = 128 * 1024;
/// Pause after every server was tried once without success, doubling up to the max.
const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(20);
const RECONNECT_BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Shortest handshake attempt, however many servers share the session timeout.
const CONNECT_ATTEMPT_MIN: Duration = Duration::from_millis(500);

pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, Error>>;

/// What a `Client` handle asks of the session task.
pub(crate) enum Command {
    Call {
        op: OpCode,
        body: Vec<u8>,
        watch: Option<WatchChange>,
        reply: Reply,
    },
    Auth {
        scheme: String,
        auth: Vec<u8>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Close {
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

enum Waiter {
    Call(Reply, Option<WatchChange>),
    Close(oneshot::Sender<Result<(), Error>>),
}

struct Pending {
    xid: i32,
    waiter: Waiter,
}

/// Why a connection's service ended.
enum End {
    Lost,
    Terminal(SessionState),
}

/// Identity of the session, fixed at creation.
pub(crate) struct Identity {
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout_ms: i32,
}

pub(crate) struct Session {
    hosts: Vec<String>,
    /// TLS for every connection, when the client was given it.
    tls: Option<Tls>,
    next_host: usize,
    chroot: Chroot,
    id: Identity,
    requested_timeout_ms: i32,
    last_zxid: i64,
    next_xid: i32,
    auths: Vec<(String, Vec<u8>)>,
    pending: VecDeque<Pending>,
    auth_pending: VecDeque<Option<oneshot::Sender<Result<(), Error>>>>,
    queued: VecDeque<Command>,
    watches: WatchTable,
    state: watch::Sender<SessionState>,
    /// Every `Client` handle is gone: close the session and stop.
    abandoned: bool,
}

/// Connects to the first server that accepts a new session, trying each in turn until
/// `deadline`.
pub(crate) async fn establish(
    hosts: &[String],
    timeout_ms: i32,
    deadline: Instant,
    tls: Option<&Tls>,
) -> Result<(Connection, Identity, usize), Error> {
    let mut last;
    let mut backoff = RECONNECT_BACKOFF_MIN;
    loop {
        for (i, host) in hosts.iter().enumerate() {
            let req = ConnectRequest {
                time_out: timeout_ms,
                passwd: vec![0; 16],
                ..Default::default()
            };
            let left = deadline.saturating_duration_since(Instant::now());
            match Connection::open(
                host.clone(),
                req,
                left.min(attempt_timeout(timeout_ms, hosts.len())),
                tls.cloned(),
            )
            .await
            {
                Ok((conn, rsp)) if rsp.time_out > 0 => {
                    let id = Identity {
                        session_id: rsp.session_id,
                        passwd: rsp.passwd,
                        timeout_ms: rsp.time_out,
                    };
                    return Ok((conn, id, i + 1));
                }
                Ok(_) => last = Error::SessionExpired,
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(last);
            }
        }
        tokio::time::sleep(backoff.min(deadline.saturating_duration_since(Instant::now()))).await;
        backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
    }
}

fn attempt_timeout(timeout_ms: i32, hosts: usize) -> Duration {
    // ZooKeeper's connectTimeout: the session timeout shared among the servers.
    (Duration::from_millis(timeout_ms.max(0) as u64) / hosts.max(1) as u32).max(CONNECT_ATTEMPT_MIN)
}

impl Session {
    pub fn new(
        hosts: Vec<String>,
        next_host: usize,
        chroot: Chroot,
        id: Identity,
        requested_timeout_ms: i32,
        state: watch::Sender<SessionState>,
        tls: Option<Tls>,
    ) -> Session {
        Session {
            tls,
            hosts,
            next_host,
            chroot,
            id,
            requested_timeout_ms,
            last_zxid: 0,
            next_xid: 1,
            auths: Vec::new(),
            pending: VecDeque::new(),
            auth_pending: VecDeque::new(),
            queued: VecDeque::new(),
            watches: WatchTable::default(),
            state,
            abandoned: false,
        }
    }

    /// The task's body: serve, reconnect, repeat, until the session ends.
    pub async fn run(mut self, mut conn: Connection, mut commands: mpsc::Receiver<Command>) {
        let terminal = loop {
            let end = self.serve(&mut conn, &mut commands).await;
            drop(conn);
            match end {
                End::Terminal(s) => break s,
                End::Lost => {
                    self.fail_in_flight(Error::ConnectionLoss);
                    if self.pending_close() {
                        break SessionState::Closed;
                    }
                    self.state.send_replace(SessionState::Disconnected);
                    match self.reconnect(&mut commands).await {
                        Ok(c) => {
                            conn = c;
                            self.state.send_replace(SessionState::Connected);
                        }
                        Err(s) => break s,
                    }
                }
            }
        };
        self.finish(terminal, commands).await;
    }

    fn pending_close(&mut self) -> bool {
        // A close that lost its connection has done what it can: the session will expire.
        let mut closing = false;
        for c in self.queued.iter() {
            closing |= matches!(c, Command::Close { .. });
        }
        closing || self.abandoned
    }

    fn take_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }

    /// Serves one connection until it drops or the session ends.
    async fn serve(
        &mut self,
        conn: &mut Connection,
        commands: &mut mpsc::Receiver<Command>,
    ) -> End {
        let timeout = Duration::from_millis(self.id.timeout_ms.max(1) as u64);
        // ZooKeeper's client: ping when idle for a third of the timeout, give the connection
        // up when nothing was heard for two thirds of it.
        let ping_every = timeout / 3;
        let read_timeout = timeout * 2 / 3;
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        self.prime(conn);
        while let Some(cmd) = self.queued.pop_front() {
            self.submit(conn, cmd);
        }
        if self.abandoned {
            self.submit_close(conn, None);
        }
        loop {
            let room = self.pending.len() < MAX_IN_FLIGHT && !self.abandoned;
            tokio::select! {
                biased;
                frame = conn.next_frame() => match frame {
                    Ok(f) => {
                        last_heard = Instant::now();
                        if let Some(end) = self.on_frame(&f) {
                            return end;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(server = %conn.addr, error = %e, "connection lost");
                        return End::Lost;
                    }
                },
                _ = tokio::time::sleep_until(last_heard + read_timeout) => {
                    tracing::debug!(server = %conn.addr, "no reply within the read timeout");
                    return End::Lost;
                }
                _ = ping.tick() => {
                    conn.send(xid::PING, OpCode::Ping.as_i32(), &[]);
                }
                cmd = commands.recv(), if room => match cmd {
                    Some(cmd) => self.submit(conn, cmd),
                    None => {
                        self.abandoned = true;
                        self.submit_close(conn, None);
                    }
                },
            }
        }
    }

    /// After a (re)connect: re-register watches, then re-send auth, as `ClientCnxn`'s
    /// `primeConnection` does.
    fn prime(&mut self, conn: &Connection) {
        let paths = self.watches.paths();
        if !paths.is_empty() {
            let mut lists = [
                paths.data,
                paths.exist,
                paths.child,
                paths.persistent,
                paths.recursive,
            ];
            // Split so that no frame carries more than SET_WATCHES_MAX_BYTES of paths.
            while lists.iter().any(|l| !l.is_empty()) {
                let mut budget = SET_WATCHES_MAX_BYTES;
                let mut chunk: [Vec<String>; 5] = Default::default();
                for (from, to) in lists.iter_mut().zip(chunk.iter_mut()) {
                    while let Some(p) = from.last() {
                        if p.len() > budget && !(to.is_empty() && budget == SET_WATCHES_MAX_BYTES) {
                            break;
                        }
                        budget = budget.saturating_sub(p.len());
                        to.push(from.pop().unwrap());
                    }
                }
                let [data, exist, child, persistent, recursive] = chunk;
                let sw = SetWatches2 {
                    relative_zxid: self.last_zxid,
                    data_watches: data,
                    exist_watches: exist,
                    child_watches: child,
                    persistent_watches: persistent,
                    persistent_recursive_watches: recursive,
                };
                conn.send(
                    xid::SET_WATCHES,
                    OpCode::SetWatches2.as_i32(),
                    &sw.to_bytes(),
                );
            }
        }
        for (scheme, auth) in &self.auths {
            let p = AuthPacket {
                kind: 0,
                scheme: scheme.clone(),
                auth: auth.clone(),
            };
            conn.send(xid::AUTH, OpCode::Auth.as_i32(), &p.to_bytes());
            self.auth_pending.push_back(None);
        }
    }

    fn submit(&mut self, conn: &Connection, cmd: Command) {
        match cmd {
            Command::Call {
                op,
                body,
                watch,
                reply,
            } => {
                let xid = self.take_xid();
                conn.send(xid, op.as_i32(), &body);
                self.pending.push_back(Pending {
                    xid,
                    waiter: Waiter::Call(reply, watch),
                });
            }
            Command::Auth {
                scheme,
                auth,
                reply,
            } => {
                let p = AuthPacket {
                    kind: 0,
                    scheme: scheme.clone(),
                    auth: auth.clone(),
                };
                conn.send(xid::AUTH, OpCode::Auth.as_i32(), &p.to_bytes());
                self.auths.push((scheme, auth));
                self.auth_pending.push_back(Some(reply));
            }
            Command::Close { reply } => self.submit_close(conn, Some(reply)),
        }
    }

    fn submit_close(
        &mut self,
        conn: &Connection,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) {
        let xid = self.take_xid();
        conn.send(xid, OpCode::CloseSession.as_i32(), &[]);
        let reply = reply.unwrap_or_else(|| oneshot::channel().0);
        self.pending.push_back(Pending {
            xid,
            waiter: Waiter::Close(reply),
        });
    }

    /// Handles one frame from the server; `Some` ends this connection's service.
    fn on_frame(&mut self, f: &[u8]) -> Option<End> {
        let mut r = Reader::new(f);
        let Ok(h) = ReplyHeader::decode(&mut r) else {
            return Some(End::Lost);
        };
        let body = &f[r.position()..];
        if h.zxid > self.last_zxid {
            self.last_zxid = h.zxid;
        }
        match h.xid {
            xid::NOTIFICATION => {
                let Ok(ev) = WatcherEvent::from_bytes(body) else {
                    return Some(End::Lost);
                };
                if let Some(kind) = EventType::from_i32(ev.kind) {
                    self.watches.dispatch(kind, &ev.path, &self.chroot);
                }
            }
            xid::PING | xid::SET_WATCHES => {}
            xid::AUTH => {
                let waiter = self.auth_pending.pop_front().flatten();
                if h.err == ErrorCode::AuthFailed.as_i32() {
                    if let Some(w) = waiter {
                        let _ = w.send(Err(Error::AuthFailed));
                    }
                    return Some(End::Terminal(SessionState::AuthFailed));
                }
                if let Some(w) = waiter {
                    let _ = w.send(if h.err == 0 {
                        Ok(())
                    } else {
                        Err(Error::from_code(h.err))
                    });
                }
            }
            xid => {
                let Some(p) = self.pending.pop_front() else {
                    tracing::warn!(xid, "reply to no request");
                    return Some(End::Lost);
                };
                if p.xid != xid {
                    tracing::warn!(expected = p.xid, got = xid, "xid out of order");
                    self.pending.push_front(p);
                    return Some(End::Lost);
                }
                match p.waiter {
                    Waiter::Call(reply, watch) => {
                        match watch {
                            Some(WatchChange::Add(reg)) => self.watches.register(reg, h.err),
                            Some(WatchChange::Remove { path, which }) if h.err == 0 => {
                                self.watches.remove(&path, which, &self.chroot)
                            }
                            _ => {}
                        }
                        let _ = reply.send(if h.err == 0 {
                            Ok(body.to_vec())
                        } else {
                            Err(Error::from_code(h.err))
                        });
                    }
                    Waiter::Close(reply) => {
                        let _ = reply.send(Ok(()));
                        return Some(End::Terminal(SessionState::Closed));
                    }
                }
            }
        }
        None
    }

    fn fail_in_flight(&mut self, err: Error) {
        for p in self.pending.drain(..) {
            match p.waiter {
                Waiter::Call(reply, _) => {
                    let _ = reply.send(Err(err.clone()));
                }
                // The connection carrying the close is gone; the session ends with it.
                Waiter::Close(reply) => {
                    self.abandoned = true;
                    let _ = reply.send(Ok(()));
                }
            }
        }
        for w in self.auth_pending.drain(..).flatten() {
            let _ = w.send(Err(err.clone()));
        }
    }

    /// Tries the servers in turn with the session's id, password and last zxid until one
    /// resumes it; commands that arrive meanwhile are queued.
    async fn reconnect(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<Connection, SessionState> {
        let mut backoff = RECONNECT_BACKOFF_MIN;
        loop {
            for _ in 0..self.hosts.len() {
                let host = self.hosts[self.next_host % self.hosts.len()].clone();
                self.next_host = self.next_host.wrapping_add(1);
                let req = ConnectRequest {
                    protocol_version: 0,
                    last_zxid_seen: self.last_zxid,
                    time_out: self.requested_timeout_ms,
                    session_id: self.id.session_id,
                    passwd: self.id.passwd.clone(),
                    read_only: false,
                };
                let attempt = Connection::open(
                    host.clone(),
                    req,
                    attempt_timeout(self.id.timeout_ms, self.hosts.len()),
                    self.tls.clone(),
                );
                match self.while_queueing(commands, attempt).await? {
                    Ok((conn, rsp)) if rsp.time_out > 0 => {
                        tracing::debug!(server = %host, session = self.id.session_id, "session resumed");
                        self.id.timeout_ms = rsp.time_out;
                        return Ok(conn);
                    }
                    Ok(_) => return Err(SessionState::Expired),
                    Err(e) => tracing::debug!(server = %host, error = %e, "reconnect failed"),
                }
            }
            self.while_queueing(commands, tokio::time::sleep(backoff))
                .await?;
            backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
        }
    }

    /// Runs `fut` while queueing incoming commands; a close ends the session.
    async fn while_queueing<F: std::future::Future>(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        fut: F,
    ) -> Result<F::Output, SessionState> {
        tokio::pin!(fut);
        loop {
            let room = self.queued.len() < MAX_QUEUED && !self.abandoned;
            tokio::select! {
                out = &mut fut => return Ok(out),
                cmd = commands.recv(), if room => match cmd {
                    Some(Command::Close { reply }) => {
                        let _ = reply.send(Ok(()));
                        return Err(SessionState::Closed);
                    }
                    Some(c) => self.queued.push_back(c),
                    None => return Err(SessionState::Closed),
                },
            }
        }
    }

    /// Ends the session: everything waiting fails, watches end, the state is published, and
    /// later commands are answered with the terminal error until every handle is gone.
    async fn finish(mut self, state: SessionState, mut commands: mpsc::Receiver<Command>) {
        let err = match state {
            SessionState::Expired => Error::SessionExpired,
            SessionState::AuthFailed => Error::AuthFailed,
            _ => Error::Closed,
        };
        tracing::debug!(session = self.id.session_id, ?state, "session ended");
        self.fail_in_flight(err.clone());
        self.watches.fail_all(&err);
        let queued: Vec<Command> = self.queued.drain(..).collect();
        self.state.send_replace(state);
        for c in queued {
            refuse(c, &err);
        }
        while let Some(c) = commands.recv().await {
            refuse(c, &err);
        }
    }
}

fn refuse(c: Command, err: &Error) {
    match c {
        Command::Call { reply, .. } => {
            let _ = reply.send(Err(err.clone()));
        }
        Command::Auth { reply, .. } => {
            let _ = reply.send(Err(err.clone()));
        }
        // Closing a session that has ended is a no-op, as in ZooKeeper.
        Command::Close { reply } => {
            let _ = reply.send(Ok(()));
        }
    }
}
