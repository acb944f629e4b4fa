//! Typed request arguments and results: create modes, the ops of `multi` and `multiRead`, and
//! their per-op results.

use std::time::Duration;

use corral_jute::{
    create_flags, Acl, CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest,
    ErrorCode, MultiOp, MultiResult, OpCode, PathWatchRequest, SetDataRequest, Stat,
};

use crate::chroot::Chroot;

/// `CreateMode`: how a znode lives and whether its name gets a sequence suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    PersistentSequential,
    Ephemeral,
    EphemeralSequential,
    /// Deleted by the server once it had children and has none left.
    Container,
    /// Deleted by the server when unchanged for `ttl` and childless (needs
    /// `extendedTypesEnabled` on the server).
    PersistentWithTtl(Duration),
    PersistentSequentialWithTtl(Duration),
}

impl CreateMode {
    pub(crate) fn flags(self) -> i32 {
        match self {
            CreateMode::Persistent => create_flags::PERSISTENT,
            CreateMode::PersistentSequential => create_flags::PERSISTENT_SEQUENTIAL,
            CreateMode::Ephemeral => create_flags::EPHEMERAL,
            CreateMode::EphemeralSequential => create_flags::EPHEMERAL_SEQUENTIAL,
            CreateMode::Container => create_flags::CONTAINER,
            CreateMode::PersistentWithTtl(_) => create_flags::PERSISTENT_WITH_TTL,
            CreateMode::PersistentSequentialWithTtl(_) => {
                create_flags::PERSISTENT_SEQUENTIAL_WITH_TTL
            }
        }
    }

    pub(crate) fn ttl_ms(self) -> Option<i64> {
        match self {
            CreateMode::PersistentWithTtl(t) | CreateMode::PersistentSequentialWithTtl(t) => {
                Some(t.as_millis() as i64)
            }
            _ => None,
        }
    }

    /// The request a create with this mode is: containers and TTL nodes have their own op
    /// codes (the container flag alone is not enough, as in ZooKeeper); the rest use
    /// `create2` so that the reply carries the Stat. `None` data is sent as a null buffer.
    pub(crate) fn to_multi_op(self, path: String, data: Option<Vec<u8>>, acl: Vec<Acl>) -> MultiOp {
        let flags = self.flags();
        match self.ttl_ms() {
            Some(ttl) => MultiOp::CreateTtl(CreateTtlRequest {
                path,
                data,
                acl,
                flags,
                ttl,
            }),
            None => MultiOp::Create {
                op: if self == CreateMode::Container {
                    OpCode::CreateContainer
                } else {
                    OpCode::Create2
                },
                req: CreateRequest {
                    path,
                    data,
                    acl,
                    flags,
                },
            },
        }
    }
}

/// One write of a [`multi`](crate::Client::multi). A `version` of `None` matches any version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: CreateMode,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: Option<i32>,
    },
    Check {
        path: String,
        version: Option<i32>,
    },
}

impl Op {
    pub fn create(path: &str, data: &[u8], acl: &[Acl], mode: CreateMode) -> Op {
        Op::Create {
            path: path.into(),
            data: data.to_vec(),
            acl: acl.to_vec(),
            mode,
        }
    }

    pub fn delete(path: &str, version: Option<i32>) -> Op {
        Op::Delete {
            path: path.into(),
            version,
        }
    }

    pub fn set_data(path: &str, data: &[u8], version: Option<i32>) -> Op {
        Op::SetData {
            path: path.into(),
            data: data.to_vec(),
            version,
        }
    }

    pub fn check(path: &str, version: Option<i32>) -> Op {
        Op::Check {
            path: path.into(),
            version,
        }
    }

    pub(crate) fn into_wire(self, chroot: &Chroot) -> MultiOp {
        match self {
            Op::Create {
                path,
                data,
                acl,
                mode,
            } => mode.to_multi_op(chroot.apply(&path), Some(data), acl),
            Op::Delete { path, version } => MultiOp::Delete(DeleteRequest {
                path: chroot.apply(&path),
                version: version.unwrap_or(-1),
            }),
            Op::SetData {
                path,
                data,
                version,
            } => MultiOp::SetData(SetDataRequest {
                path: chroot.apply(&path),
                data: Some(data),
                version: version.unwrap_or(-1),
            }),
            Op::Check { path, version } => MultiOp::Check(CheckVersionRequest {
                path: chroot.apply(&path),
                version: version.unwrap_or(-1),
            }),
        }
    }
}

/// One read of a [`multi_read`](crate::Client::multi_read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    GetData(String),
    GetChildren(String),
}

impl ReadOp {
    pub(crate) fn into_wire(self, chroot: &Chroot) -> MultiOp {
        let (path, data) = match self {
            ReadOp::GetData(p) => (p, true),
            ReadOp::GetChildren(p) => (p, false),
        };
        let req = PathWatchRequest {
            path: chroot.apply(&path),
            watch: false,
        };
        if data {
            MultiOp::GetData(req)
        } else {
            MultiOp::GetChildren(req)
        }
    }
}

/// The result of one op of `multi` or `multiRead`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// `stat` is present when the server sends it (corral does for `create2`; ZooKeeper 3.8
    /// sends only the path inside `multi`).
    Create {
        path: String,
        stat: Option<Stat>,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetData {
        data: Vec<u8>,
        stat: Stat,
    },
    GetChildren {
        children: Vec<String>,
    },
    /// A failed op, or in a failed `multi` an op that was not applied: `Ok` before the
    /// failing op and `RuntimeInconsistency` after it, as ZooKeeper reports them.
    Error(ErrorCode),
}

impl OpResult {
    pub(crate) fn from_wire(r: MultiResult, chroot: &Chroot) -> OpResult {
        match r {
            MultiResult::Create { path } => OpResult::Create {
                path: chroot.strip(&path),
                stat: None,
            },
            MultiResult::Create2 { path, stat } => OpResult::Create {
                path: chroot.strip(&path),
                stat: Some(stat),
            },
            MultiResult::Delete => OpResult::Delete,
            MultiResult::SetData { stat } => OpResult::SetData { stat },
            MultiResult::Check => OpResult::Check,
            MultiResult::GetData { data, stat } => OpResult::GetData {
                data: data.unwrap_or_default(),
                stat,
            },
            MultiResult::GetChildren { children } => OpResult::GetChildren { children },
            MultiResult::Error { err } => {
                OpResult::Error(ErrorCode::from_i32(err).unwrap_or(ErrorCode::SystemError))
            }
        }
    }
}

/// `AddWatchMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddWatchMode {
    /// Every change to the node itself and its children list; not removed when it fires.
    Persistent,
    /// Every change to the node and to any node below it (not children-list changes).
    PersistentRecursive,
}

/// `Watcher.WatcherType`, for `check_watches` and `remove_watches`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    Children,
    Data,
    Any,
}

impl WatcherType {
    pub(crate) fn as_i32(self) -> i32 {
        use corral_jute::watcher_type as w;
        match self {
            WatcherType::Children => w::CHILDREN,
            WatcherType::Data => w::DATA,
            WatcherType::Any => w::ANY,
        }
    }
}
