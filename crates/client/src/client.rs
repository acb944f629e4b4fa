//! [`Client`]: the handle callers hold. Each method encodes one request, hands it to the
//! session task and awaits the reply within the request timeout.
//!
//! Handles are cheap clones of one session. Paths are taken and returned relative to the
//! connect string's chroot.

use std::time::Duration;

use corral_jute::request::{decode_multi_results, encode_multi};
use corral_jute::{
    Acl, AddWatchRequest, CheckWatchesRequest, ClientInfo, Create2Response, CreateRequest,
    CreateTtlRequest, Decode, DeleteRequest, Encode, ErrorCode, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse,
    MultiOp, OpCode, PathRequest, PathWatchRequest, Reader, ReconfigRequest, SetAclRequest,
    SetDataRequest, Stat, StatResponse, WhoAmIResponse,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::chroot::Chroot;
use crate::connect_string::ConnectString;
use crate::error::{Error, Result};
use crate::event::SessionState;
use crate::ops::{AddWatchMode, CreateMode, Op, OpResult, ReadOp, WatcherType};
use crate::session::{self, Command, Session};
use crate::tls::Tls;
use crate::watches::{PersistentWatch, Registration, WatchChange, WatchFuture, WatchKind};

/// Requests waiting for the session task beyond those it is working on.
const COMMAND_CHANNEL_CAPACITY: usize = 1024;

/// How to connect. [`Options::new`] takes the session timeout; the rest have defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// The session timeout asked of the server (it may grant a different one).
    pub session_timeout: Duration,
    /// How long a call waits for its reply, including time spent reconnecting. Defaults to
    /// the session timeout.
    pub request_timeout: Duration,
    /// How long `connect` tries the servers before giving up. Defaults to the session
    /// timeout.
    pub connect_timeout: Duration,
    /// TLS to the servers' secure client port; `None` (the default) speaks plaintext.
    pub tls: Option<Tls>,
}

impl Options {
    pub fn new(session_timeout: Duration) -> Options {
        Options {
            session_timeout,
            request_timeout: session_timeout,
            connect_timeout: session_timeout,
            tls: None,
        }
    }

    pub fn request_timeout(mut self, t: Duration) -> Options {
        self.request_timeout = t;
        self
    }

    pub fn connect_timeout(mut self, t: Duration) -> Options {
        self.connect_timeout = t;
        self
    }

    pub fn tls(mut self, tls: Tls) -> Options {
        self.tls = Some(tls);
        self
    }
}

/// A ZooKeeper session. Clone it to share the session between tasks.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<SessionState>,
    chroot: Chroot,
    session_id: i64,
    session_password: Vec<u8>,
    session_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &format_args!("{:#x}", self.session_id))
            .field("chroot", &self.chroot.prefix())
            .field("state", &*self.state.borrow())
            .finish()
    }
}

impl Client {
    /// Opens a session on one of the servers of `connect_string`
    /// (`host:port,host:port/chroot`), tried in random order.
    pub async fn connect(connect_string: &str, session_timeout: Duration) -> Result<Client> {
        Client::connect_with(connect_string, Options::new(session_timeout)).await
    }

    pub async fn connect_with(connect_string: &str, options: Options) -> Result<Client> {
        let cs = ConnectString::parse(connect_string)?;
        let timeout_ms = options.session_timeout.as_millis().min(i32::MAX as u128) as i32;
        let deadline = Instant::now() + options.connect_timeout;
        let (conn, id, next_host) =
            session::establish(&cs.hosts, timeout_ms, deadline, options.tls.as_ref()).await?;
        let (state_tx, state) = watch::channel(SessionState::Connected);
        let (commands, rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
        let client = Client {
            commands,
            state,
            chroot: cs.chroot.clone(),
            session_id: id.session_id,
            session_password: id.passwd.clone(),
            session_timeout: Duration::from_millis(id.timeout_ms as u64),
            request_timeout: options.request_timeout,
        };
        let session = Session::new(
            cs.hosts,
            next_host,
            cs.chroot,
            id,
            timeout_ms,
            state_tx,
            options.tls.clone(),
        );
        tokio::spawn(session.run(conn, rx));
        Ok(client)
    }

    /// The session id the server assigned; it survives reconnects.
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    pub fn session_password(&self) -> &[u8] {
        &self.session_password
    }

    /// The session timeout the server granted.
    pub fn session_timeout(&self) -> Duration {
        self.session_timeout
    }

    /// The session's state, updated as it changes: await `changed()` or `wait_for(..)` on it.
    pub fn state(&self) -> watch::Receiver<SessionState> {
        self.state.clone()
    }

    async fn call(&self, op: OpCode, body: Vec<u8>, watch: Option<WatchChange>) -> Result<Vec<u8>> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Call {
            op,
            body,
            watch,
            reply,
        };
        self.ask(cmd, rx).await
    }

    async fn call_decode<R: Decode>(
        &self,
        op: OpCode,
        body: impl Encode,
        watch: Option<WatchChange>,
    ) -> Result<R> {
        let bytes = self.call(op, body.to_bytes(), watch).await?;
        Ok(R::from_bytes(&bytes)?)
    }

    fn path_watch(&self, path: &str, watch: bool) -> PathWatchRequest {
        PathWatchRequest {
            path: self.chroot.apply(path),
            watch,
        }
    }

    fn registration(&self, kind: WatchKind, path: &str) -> (WatchFuture, Registration) {
        let (fut, sink) = WatchFuture::new();
        let reg = Registration {
            kind,
            path: self.chroot.apply(path),
            sink,
        };
        (fut, reg)
    }

    /// Creates a znode; returns its path (with the sequence suffix for sequential modes) and
    /// its Stat. Uses `create2`, `createContainer` or `createTTL` as the mode requires.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        mode: CreateMode,
    ) -> Result<(String, Stat)> {
        self.create_nullable(path, Some(data), acl, mode).await
    }

    /// `create` whose data may be null (`None`), as Java clients send when given no data;
    /// a later read then returns no data rather than an empty buffer.
    pub async fn create_nullable(
        &self,
        path: &str,
        data: Option<&[u8]>,
        acl: &[Acl],
        mode: CreateMode,
    ) -> Result<(String, Stat)> {
        let data = data.map(<[u8]>::to_vec);
        let (op, body) = match mode.to_multi_op(self.chroot.apply(path), data, acl.to_vec()) {
            MultiOp::Create { op, req } => (op, CreateRequest::to_bytes(&req)),
            MultiOp::CreateTtl(req) => (OpCode::CreateTtl, CreateTtlRequest::to_bytes(&req)),
            _ => unreachable!("a create mode makes a create op"),
        };
        let bytes = self.call(op, body, None).await?;
        let rsp = Create2Response::from_bytes(&bytes)?;
        Ok((self.chroot.strip(&rsp.path), rsp.stat))
    }

    /// Deletes a znode; `version` `None` matches any version.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        let req = DeleteRequest {
            path: self.chroot.apply(path),
            version: version.unwrap_or(-1),
        };
        self.call(OpCode::Delete, req.to_bytes(), None)
            .await
            .map(drop)
    }

    /// The znode's Stat, or `None` if it does not exist.
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        match self
            .call_decode::<StatResponse>(OpCode::Exists, self.path_watch(path, false), None)
            .await
        {
            Ok(r) => Ok(Some(r.stat)),
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `exists` with a watch: fires on creation if the node is absent, on data change or
    /// deletion if it is present.
    pub async fn exists_w(&self, path: &str) -> Result<(Option<Stat>, WatchFuture)> {
        let (fut, reg) = self.registration(WatchKind::Exists, path);
        match self
            .call_decode::<StatResponse>(
                OpCode::Exists,
                self.path_watch(path, true),
                Some(WatchChange::Add(reg)),
            )
            .await
        {
            Ok(r) => Ok((Some(r.stat), fut)),
            Err(Error::NoNode) => Ok((None, fut)),
            Err(e) => Err(e),
        }
    }

    pub async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        let r: GetDataResponse = self
            .call_decode(OpCode::GetData, self.path_watch(path, false), None)
            .await?;
        Ok((r.data.unwrap_or_default(), r.stat))
    }

    /// `get_data` with a one-shot data watch (fires on data change or deletion).
    pub async fn get_data_w(&self, path: &str) -> Result<(Vec<u8>, Stat, WatchFuture)> {
        let (fut, reg) = self.registration(WatchKind::Data, path);
        let r: GetDataResponse = self
            .call_decode(
                OpCode::GetData,
                self.path_watch(path, true),
                Some(WatchChange::Add(reg)),
            )
            .await?;
        Ok((r.data.unwrap_or_default(), r.stat, fut))
    }

    /// `get_data` that tells null data (`None`) from empty data, with a one-shot data watch
    /// when `watch` is set.
    pub async fn get_data_nullable(
        &self,
        path: &str,
        watch: bool,
    ) -> Result<(Option<Vec<u8>>, Stat, Option<WatchFuture>)> {
        let (fut, change) = if watch {
            let (fut, reg) = self.registration(WatchKind::Data, path);
            (Some(fut), Some(WatchChange::Add(reg)))
        } else {
            (None, None)
        };
        let r: GetDataResponse = self
            .call_decode(OpCode::GetData, self.path_watch(path, watch), change)
            .await?;
        Ok((r.data, r.stat, fut))
    }

    /// Asks the server to change the ensemble's membership (`reconfig`); returns the new
    /// configuration data and its Stat. Empty strings leave that part unchanged;
    /// `from_config` -1 means any current configuration.
    pub async fn reconfig(
        &self,
        joining: &str,
        leaving: &str,
        new_members: &str,
        from_config: i64,
    ) -> Result<(Vec<u8>, Stat)> {
        let req = ReconfigRequest {
            joining_servers: joining.to_string(),
            leaving_servers: leaving.to_string(),
            new_members: new_members.to_string(),
            cur_config_id: from_config,
        };
        let r: GetDataResponse = self.call_decode(OpCode::Reconfig, req, None).await?;
        Ok((r.data.unwrap_or_default(), r.stat))
    }

    pub async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        let req = SetDataRequest {
            path: self.chroot.apply(path),
            data: Some(data.to_vec()),
            version: version.unwrap_or(-1),
        };
        Ok(self
            .call_decode::<StatResponse>(OpCode::SetData, req, None)
            .await?
            .stat)
    }

    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let req = PathRequest {
            path: self.chroot.apply(path),
        };
        let r: GetAclResponse = self.call_decode(OpCode::GetAcl, req, None).await?;
        Ok((r.acl, r.stat))
    }

    /// Replaces the ACL; `version` is checked against the node's `aversion`.
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<Stat> {
        let req = SetAclRequest {
            path: self.chroot.apply(path),
            acl: acl.to_vec(),
            version: version.unwrap_or(-1),
        };
        Ok(self
            .call_decode::<StatResponse>(OpCode::SetAcl, req, None)
            .await?
            .stat)
    }

    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let r: GetChildrenResponse = self
            .call_decode(OpCode::GetChildren, self.path_watch(path, false), None)
            .await?;
        Ok(r.children)
    }

    /// `get_children` with a one-shot child watch (fires on a child created or deleted, or
    /// the node deleted).
    pub async fn get_children_w(&self, path: &str) -> Result<(Vec<String>, WatchFuture)> {
        let (fut, reg) = self.registration(WatchKind::Child, path);
        let r: GetChildrenResponse = self
            .call_decode(
                OpCode::GetChildren,
                self.path_watch(path, true),
                Some(WatchChange::Add(reg)),
            )
            .await?;
        Ok((r.children, fut))
    }

    /// The children and the parent's Stat (`getChildren2`).
    pub async fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat)> {
        let r: GetChildren2Response = self
            .call_decode(OpCode::GetChildren2, self.path_watch(path, false), None)
            .await?;
        Ok((r.children, r.stat))
    }

    /// How many nodes are below `path`, at any depth.
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32> {
        let req = PathRequest {
            path: self.chroot.apply(path),
        };
        let r: GetAllChildrenNumberResponse = self
            .call_decode(OpCode::GetAllChildrenNumber, req, None)
            .await?;
        Ok(r.total_number)
    }

    /// This session's ephemeral nodes whose paths start with `prefix_path` (`/` for all).
    pub async fn get_ephemerals(&self, prefix_path: &str) -> Result<Vec<String>> {
        let req = PathRequest {
            path: self.chroot.apply(prefix_path),
        };
        let r: GetChildrenResponse = self.call_decode(OpCode::GetEphemerals, req, None).await?;
        Ok(r.children.iter().map(|p| self.chroot.strip(p)).collect())
    }

    /// Fails with `BadVersion` unless the node's version is `version` (`NoNode` if absent).
    /// Sent as a one-op `multi`: ZooKeeper 3.8 serves `check` only inside one.
    pub async fn check(&self, path: &str, version: i32) -> Result<()> {
        match self.multi(vec![Op::check(path, Some(version))]).await {
            Ok(_) => Ok(()),
            Err(Error::MultiFailed { error, .. }) => Err(*error),
            Err(e) => Err(e),
        }
    }

    /// Applies all ops or none. On failure the error is [`Error::MultiFailed`], carrying the
    /// failing op's index and error and ZooKeeper's per-op result layout.
    pub async fn multi(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        let wire: Vec<MultiOp> = ops.into_iter().map(|o| o.into_wire(&self.chroot)).collect();
        let results = self.multi_wire(OpCode::Multi, &wire).await?;
        let failed = results
            .iter()
            .position(|r| matches!(r, OpResult::Error(c) if *c != ErrorCode::Ok));
        match failed {
            None => Ok(results),
            Some(index) => {
                let OpResult::Error(code) = results[index] else {
                    unreachable!()
                };
                Err(Error::MultiFailed {
                    index,
                    error: Box::new(Error::from(code)),
                    results,
                })
            }
        }
    }

    /// Runs reads together; each op succeeds or fails on its own.
    pub async fn multi_read(&self, ops: Vec<ReadOp>) -> Result<Vec<OpResult>> {
        let wire: Vec<MultiOp> = ops.into_iter().map(|o| o.into_wire(&self.chroot)).collect();
        self.multi_wire(OpCode::MultiRead, &wire).await
    }

    async fn multi_wire(&self, op: OpCode, wire: &[MultiOp]) -> Result<Vec<OpResult>> {
        let mut body = Vec::new();
        encode_multi(wire, &mut body);
        let bytes = self.call(op, body, None).await?;
        let results = decode_multi_results(&mut Reader::new(&bytes))?;
        Ok(results
            .into_iter()
            .map(|r| OpResult::from_wire(r, &self.chroot))
            .collect())
    }

    /// Waits until the server this client talks to has applied every write committed
    /// before the call.
    pub async fn sync(&self, path: &str) -> Result<()> {
        let req = PathRequest {
            path: self.chroot.apply(path),
        };
        self.call(OpCode::Sync, req.to_bytes(), None)
            .await
            .map(drop)
    }

    /// Adds credentials to the session, e.g. `("digest", b"user:password")`; they are sent
    /// again after every reconnect.
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Auth {
            scheme: scheme.to_string(),
            auth: auth.to_vec(),
            reply,
        };
        self.ask(cmd, rx).await
    }

    /// Adds a persistent (or persistent-recursive) watch on `path`; the node need not exist.
    pub async fn add_watch(&self, path: &str, mode: AddWatchMode) -> Result<PersistentWatch> {
        let (stream, sink) = PersistentWatch::new();
        let (kind, wire_mode) = match mode {
            AddWatchMode::Persistent => (
                WatchKind::Persistent,
                corral_jute::add_watch_mode::PERSISTENT,
            ),
            AddWatchMode::PersistentRecursive => (
                WatchKind::PersistentRecursive,
                corral_jute::add_watch_mode::PERSISTENT_RECURSIVE,
            ),
        };
        let path = self.chroot.apply(path);
        let reg = Registration {
            kind,
            path: path.clone(),
            sink,
        };
        let req = AddWatchRequest {
            path,
            mode: wire_mode,
        };
        self.call(
            OpCode::AddWatch,
            req.to_bytes(),
            Some(WatchChange::Add(reg)),
        )
        .await?;
        Ok(stream)
    }

    /// Removes this session's watches of `kind` on `path` from the server; local watchers
    /// get a `*WatchRemoved` event (persistent streams then end). `NoWatcher` if none.
    pub async fn remove_watches(&self, path: &str, kind: WatcherType) -> Result<()> {
        let req = CheckWatchesRequest {
            path: self.chroot.apply(path),
            kind: kind.as_i32(),
        };
        let change = WatchChange::Remove {
            path: req.path.clone(),
            which: kind,
        };
        self.call(OpCode::RemoveWatches, req.to_bytes(), Some(change))
            .await
            .map(drop)
    }

    /// `Ok` if this session has a watch of `kind` on `path` on the server, else `NoWatcher`.
    pub async fn check_watches(&self, path: &str, kind: WatcherType) -> Result<()> {
        let req = CheckWatchesRequest {
            path: self.chroot.apply(path),
            kind: kind.as_i32(),
        };
        self.call(OpCode::CheckWatches, req.to_bytes(), None)
            .await
            .map(drop)
    }

    /// The identities the server has for this connection (`whoAmI`).
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>> {
        let r: WhoAmIResponse = self.call_decode(OpCode::WhoAmI, (), None).await?;
        Ok(r.client_info)
    }

    /// Closes the session: its ephemerals are deleted and its watches end. Every handle of
    /// this session then fails with `Closed`.
    pub async fn close(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        match self.ask(Command::Close { reply }, rx).await {
            Ok(()) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Hands a command to the session task and awaits its answer within the request timeout.
    async fn ask<T>(&self, cmd: Command, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        tokio::time::timeout(self.request_timeout, async {
            self.commands.send(cmd).await.map_err(|_| Error::Closed)?;
            rx.await.map_err(|_| Error::Closed)?
        })
        .await
        .map_err(|_| Error::Timeout)?
    }
}
