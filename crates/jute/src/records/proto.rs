//! The `org.apache.zookeeper.proto` records clients use, in `zookeeper.jute`'s field order.

use super::data::{Acl, Stat};
use crate::{record, Decode, DecodeError, Encode, Reader};

/// The first frame of a session. `read_only` is a trailing field newer clients send
/// (ZooKeeper 3.4+); older clients omit it, so it decodes as false when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: bool,
}

impl Encode for ConnectRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        self.protocol_version.encode(out);
        self.last_zxid_seen.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        self.read_only.encode(out);
    }
}

impl Decode for ConnectRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.read_i32()?,
            last_zxid_seen: r.read_i64()?,
            time_out: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: r.read_buffer()?,
            read_only: if r.remaining() > 0 {
                r.read_bool()?
            } else {
                false
            },
        })
    }
}

record! {
    /// The answer to `ConnectRequest`; ZooKeeper always appends `read_only`.
    pub struct ConnectResponse {
        pub protocol_version: i32,
        pub time_out: i32,
        pub session_id: i64,
        pub passwd: Vec<u8>,
        pub read_only: bool,
    }
}

record! {
    pub struct RequestHeader {
        pub xid: i32,
        pub op: i32,
    }
}

record! {
    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: i64,
        pub err: i32,
    }
}

record! {
    pub struct MultiHeader {
        pub op: i32,
        pub done: bool,
        pub err: i32,
    }
}

record! {
    pub struct AuthPacket {
        pub kind: i32,
        pub scheme: String,
        pub auth: Vec<u8>,
    }
}

record! {
    /// `GetSASLRequest` (op `sasl`): the client's next SASL token. A DIGEST-MD5 client's
    /// first one is empty: the server speaks first.
    pub struct GetSaslRequest {
        pub token: Vec<u8>,
    }
}

record! {
    /// `SetSASLResponse`: the server's next challenge; null where ZooKeeper's `SaslServer`
    /// returns null (no SASL configured, or a failure answered with `AuthFailed`).
    pub struct SetSaslResponse {
        pub token: Option<Vec<u8>>,
    }
}

record! {
    pub struct SetWatches {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
    }
}

record! {
    pub struct SetWatches2 {
        pub relative_zxid: i64,
        pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }
}

record! {
    pub struct CreateRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }
}

record! {
    pub struct CreateTtlRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }
}

record! {
    pub struct CreateResponse {
        pub path: String,
    }
}

record! {
    pub struct Create2Response {
        pub path: String,
        pub stat: Stat,
    }
}

record! {
    pub struct DeleteRequest {
        pub path: String,
        pub version: i32,
    }
}

record! {
    /// Also the record of `getData`, `getChildren` and `getChildren2` (same layout).
    pub struct PathWatchRequest {
        pub path: String,
        pub watch: bool,
    }
}

record! {
    /// Also the record of `sync`, `getACL`, `getAllChildrenNumber` and `getEphemerals`.
    pub struct PathRequest {
        pub path: String,
    }
}

record! {
    pub struct SetDataRequest {
        pub path: String,
        pub data: Option<Vec<u8>>,
        pub version: i32,
    }
}

record! {
    /// Also `SetACLResponse` and `ExistsResponse` (a lone Stat).
    pub struct StatResponse {
        pub stat: Stat,
    }
}

record! {
    pub struct GetDataResponse {
        pub data: Option<Vec<u8>>,
        pub stat: Stat,
    }
}

record! {
    /// Also `GetEphemeralsResponse` (a lone vector of paths).
    pub struct GetChildrenResponse {
        pub children: Vec<String>,
    }
}

record! {
    pub struct GetChildren2Response {
        pub children: Vec<String>,
        pub stat: Stat,
    }
}

record! {
    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }
}

record! {
    pub struct CheckVersionRequest {
        pub path: String,
        pub version: i32,
    }
}

record! {
    pub struct SyncResponse {
        pub path: String,
    }
}

record! {
    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }
}

record! {
    pub struct SetAclRequest {
        pub path: String,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

record! {
    pub struct AddWatchRequest {
        pub path: String,
        pub mode: i32,
    }
}

record! {
    /// Also `RemoveWatchesRequest` (same layout); `kind` is 1 children, 2 data, 3 any.
    pub struct CheckWatchesRequest {
        pub path: String,
        pub kind: i32,
    }
}

record! {
    pub struct WatcherEvent {
        pub kind: i32,
        pub state: i32,
        pub path: String,
    }
}

record! {
    pub struct ErrorResponse {
        pub err: i32,
    }
}

record! {
    pub struct ReconfigRequest {
        pub joining_servers: String,
        pub leaving_servers: String,
        pub new_members: String,
        pub cur_config_id: i64,
    }
}

record! {
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

/// `WhoAmIResponse`: a vector of `ClientInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhoAmIResponse {
    pub client_info: Vec<ClientInfo>,
}

impl Encode for WhoAmIResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::codec::write_i32(out, self.client_info.len() as i32);
        for c in &self.client_info {
            c.encode(out);
        }
    }
}

impl Decode for WhoAmIResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_vec_len(8)?;
        let client_info = (0..n)
            .map(|_| ClientInfo::decode(r))
            .collect::<Result<_, _>>()?;
        Ok(WhoAmIResponse { client_info })
    }
}

/// Flag values of `CreateRequest.flags` (`CreateMode`).
pub mod create_flags {
    pub const PERSISTENT: i32 = 0;
    pub const EPHEMERAL: i32 = 1;
    pub const PERSISTENT_SEQUENTIAL: i32 = 2;
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
    pub const CONTAINER: i32 = 4;
    pub const PERSISTENT_WITH_TTL: i32 = 5;
    pub const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
}

/// `AddWatchRequest.mode` values (`AddWatchMode`).
pub mod add_watch_mode {
    pub const PERSISTENT: i32 = 0;
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

/// `WatcherEvent.kind` values (`Watcher.Event.EventType`).
pub mod event_type {
    pub const NONE: i32 = -1;
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    pub const DATA_WATCH_REMOVED: i32 = 5;
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

/// `WatcherEvent.state` values (`Watcher.Event.KeeperState`).
pub mod keeper_state {
    pub const SYNC_CONNECTED: i32 = 3;
    pub const EXPIRED: i32 = -112;
}

/// `CheckWatchesRequest.kind` / `RemoveWatchesRequest.kind` (`Watcher.WatcherType`).
pub mod watcher_type {
    pub const CHILDREN: i32 = 1;
    pub const DATA: i32 = 2;
    pub const ANY: i32 = 3;
}
