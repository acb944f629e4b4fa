//! Every request a client sends after the handshake, decoded by its op code.

use crate::records::proto::*;
use crate::{Decode, DecodeError, Encode, OpCode, Reader};

/// One operation inside `multi` (writes) or `multiRead` (reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// `create`, `create2` and `createContainer` share `CreateRequest`; `op` says which.
    Create {
        op: OpCode,
        req: CreateRequest,
    },
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(PathWatchRequest),
    GetData(PathWatchRequest),
}

impl MultiOp {
    pub fn op(&self) -> OpCode {
        match self {
            MultiOp::Create { op, .. } => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create { req, .. } => &req.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => &r.path,
        }
    }
}

/// Most ops a `multi` may carry: bounds the loop over a hostile frame (each op takes at least
/// a 9-byte header, so a 1 MiB frame holds fewer anyway).
pub const MAX_MULTI_OPS: usize = 1 << 17;

/// Reads `MultiHeader`+op pairs until the header with `done` set (`MultiOperationRecord`).
pub fn decode_multi(r: &mut Reader<'_>) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            return Ok(ops);
        }
        if ops.len() >= MAX_MULTI_OPS {
            return Err(DecodeError::invalid("too many ops in multi"));
        }
        let op = OpCode::from_i32(h.op);
        ops.push(match op {
            Some(o @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)) => {
                MultiOp::Create {
                    op: o,
                    req: CreateRequest::decode(r)?,
                }
            }
            Some(OpCode::CreateTtl) => MultiOp::CreateTtl(CreateTtlRequest::decode(r)?),
            Some(OpCode::Delete) => MultiOp::Delete(DeleteRequest::decode(r)?),
            Some(OpCode::SetData) => MultiOp::SetData(SetDataRequest::decode(r)?),
            Some(OpCode::Check) => MultiOp::Check(CheckVersionRequest::decode(r)?),
            Some(OpCode::GetChildren) => MultiOp::GetChildren(PathWatchRequest::decode(r)?),
            Some(OpCode::GetData) => MultiOp::GetData(PathWatchRequest::decode(r)?),
            _ => {
                return Err(DecodeError::invalid(format!(
                    "invalid op type {} in multi",
                    h.op
                )))
            }
        });
    }
}

pub fn encode_multi(ops: &[MultiOp], out: &mut Vec<u8>) {
    for op in ops {
        MultiHeader {
            op: op.op().as_i32(),
            done: false,
            err: -1,
        }
        .encode(out);
        match op {
            MultiOp::Create { req, .. } => req.encode(out),
            MultiOp::CreateTtl(r) => r.encode(out),
            MultiOp::Delete(r) => r.encode(out),
            MultiOp::SetData(r) => r.encode(out),
            MultiOp::Check(r) => r.encode(out),
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => r.encode(out),
        }
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .encode(out);
}

/// A decoded client request (everything after the `RequestHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create { op: OpCode, req: CreateRequest },
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    GetAllChildrenNumber(PathRequest),
    GetEphemerals(PathRequest),
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Sync(PathRequest),
    Ping,
    Auth(AuthPacket),
    Sasl(GetSaslRequest),
    SetWatches(SetWatches2),
    AddWatch(AddWatchRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(CheckWatchesRequest),
    WhoAmI,
    Reconfig(ReconfigRequest),
    CloseSession,
}

impl Request {
    /// Decodes the body of a request whose header carried op code `op`.
    /// `Ok(None)` means an op code this server does not know.
    pub fn decode(op: i32, r: &mut Reader<'_>) -> Result<Option<Request>, DecodeError> {
        let Some(code) = OpCode::from_i32(op) else {
            return Ok(None);
        };
        Ok(Some(match code {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => Request::Create {
                op: code,
                req: CreateRequest::decode(r)?,
            },
            OpCode::CreateTtl => Request::CreateTtl(CreateTtlRequest::decode(r)?),
            OpCode::Delete => Request::Delete(DeleteRequest::decode(r)?),
            OpCode::Exists => Request::Exists(PathWatchRequest::decode(r)?),
            OpCode::GetData => Request::GetData(PathWatchRequest::decode(r)?),
            OpCode::SetData => Request::SetData(SetDataRequest::decode(r)?),
            OpCode::GetAcl => Request::GetAcl(PathRequest::decode(r)?),
            OpCode::SetAcl => Request::SetAcl(SetAclRequest::decode(r)?),
            OpCode::GetChildren => Request::GetChildren(PathWatchRequest::decode(r)?),
            OpCode::GetChildren2 => Request::GetChildren2(PathWatchRequest::decode(r)?),
            OpCode::GetAllChildrenNumber => Request::GetAllChildrenNumber(PathRequest::decode(r)?),
            OpCode::GetEphemerals => Request::GetEphemerals(PathRequest::decode(r)?),
            OpCode::Check => Request::Check(CheckVersionRequest::decode(r)?),
            OpCode::Multi => Request::Multi(decode_multi(r)?),
            OpCode::MultiRead => Request::MultiRead(decode_multi(r)?),
            OpCode::Sync => Request::Sync(PathRequest::decode(r)?),
            OpCode::Ping => Request::Ping,
            OpCode::Auth => Request::Auth(AuthPacket::decode(r)?),
            OpCode::Sasl => Request::Sasl(GetSaslRequest::decode(r)?),
            OpCode::SetWatches => {
                let w = SetWatches::decode(r)?;
                Request::SetWatches(SetWatches2 {
                    relative_zxid: w.relative_zxid,
                    data_watches: w.data_watches,
                    exist_watches: w.exist_watches,
                    child_watches: w.child_watches,
                    ..Default::default()
                })
            }
            OpCode::SetWatches2 => Request::SetWatches(SetWatches2::decode(r)?),
            OpCode::AddWatch => Request::AddWatch(AddWatchRequest::decode(r)?),
            OpCode::CheckWatches => Request::CheckWatches(CheckWatchesRequest::decode(r)?),
            OpCode::RemoveWatches => Request::RemoveWatches(CheckWatchesRequest::decode(r)?),
            OpCode::WhoAmI => Request::WhoAmI,
            OpCode::Reconfig => Request::Reconfig(ReconfigRequest::decode(r)?),
            OpCode::CloseSession => Request::CloseSession,
            OpCode::Notification
            | OpCode::DeleteContainer
            | OpCode::CreateSession
            | OpCode::Error => return Ok(None),
        }))
    }

    /// The op code this request was decoded from (`create2` and friends keep theirs).
    pub fn op(&self) -> OpCode {
        match self {
            Request::Create { op, .. } => *op,
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::Delete(_) => OpCode::Delete,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Auth(_) => OpCode::Auth,
            Request::Sasl(_) => OpCode::Sasl,
            Request::SetWatches(_) => OpCode::SetWatches2,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CloseSession => OpCode::CloseSession,
        }
    }

    /// Whether this request changes state (goes through the log).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::CreateTtl(_)
                | Request::Delete(_)
                | Request::SetData(_)
                | Request::SetAcl(_)
                | Request::Check(_)
                | Request::Multi(_)
                | Request::CloseSession
                | Request::Reconfig(_)
        )
    }
}

/// The result of one op of `multi`/`multiRead`, as `MultiResponse` encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    Create {
        path: String,
    },
    Create2 {
        path: String,
        stat: crate::Stat,
    },
    Delete,
    SetData {
        stat: crate::Stat,
    },
    Check,
    GetChildren {
        children: Vec<String>,
    },
    GetData {
        data: Option<Vec<u8>>,
        stat: crate::Stat,
    },
    /// A failed op, or in a failed `multi` an op that was rolled back (`err` 0 before the
    /// failing op, RuntimeInconsistency after it, as ZooKeeper reports them).
    Error {
        err: i32,
    },
}

/// Reads `MultiHeader`+result pairs until the header with `done` set (`MultiResponse`), as a
/// client does. An error result's code is taken from its `ErrorResponse` body, as
/// `MultiResponse.deserialize` does, not from the header.
pub fn decode_multi_results(r: &mut Reader<'_>) -> Result<Vec<MultiResult>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let h = MultiHeader::decode(r)?;
        if h.done {
            return Ok(results);
        }
        if results.len() >= MAX_MULTI_OPS {
            return Err(DecodeError::invalid("too many results in multi"));
        }
        results.push(match OpCode::from_i32(h.op) {
            Some(OpCode::Create) => MultiResult::Create {
                path: r.read_string()?,
            },
            Some(OpCode::Create2) => MultiResult::Create2 {
                path: r.read_string()?,
                stat: crate::Stat::decode(r)?,
            },
            Some(OpCode::Delete) => MultiResult::Delete,
            Some(OpCode::SetData) => MultiResult::SetData {
                stat: crate::Stat::decode(r)?,
            },
            Some(OpCode::Check) => MultiResult::Check,
            Some(OpCode::GetChildren) => MultiResult::GetChildren {
                children: Vec::<String>::decode(r)?,
            },
            Some(OpCode::GetData) => MultiResult::GetData {
                data: Option::<Vec<u8>>::decode(r)?,
                stat: crate::Stat::decode(r)?,
            },
            Some(OpCode::Error) => MultiResult::Error { err: r.read_i32()? },
            _ => {
                return Err(DecodeError::invalid(format!(
                    "invalid result type {} in multi response",
                    h.op
                )))
            }
        });
    }
}

pub fn encode_multi_results(results: &[MultiResult], out: &mut Vec<u8>) {
    for res in results {
        let (op, err) = match res {
            MultiResult::Create { .. } => (OpCode::Create.as_i32(), 0),
            MultiResult::Create2 { .. } => (OpCode::Create2.as_i32(), 0),
            MultiResult::Delete => (OpCode::Delete.as_i32(), 0),
            MultiResult::SetData { .. } => (OpCode::SetData.as_i32(), 0),
            MultiResult::Check => (OpCode::Check.as_i32(), 0),
            MultiResult::GetChildren { .. } => (OpCode::GetChildren.as_i32(), 0),
            MultiResult::GetData { .. } => (OpCode::GetData.as_i32(), 0),
            MultiResult::Error { err } => (OpCode::Error.as_i32(), *err),
        };
        MultiHeader {
            op,
            done: false,
            err,
        }
        .encode(out);
        match res {
            MultiResult::Create { path } => path.encode(out),
            MultiResult::Create2 { path, stat } => {
                path.encode(out);
                stat.encode(out);
            }
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData { stat } => stat.encode(out),
            MultiResult::GetChildren { children } => children.encode(out),
            MultiResult::GetData { data, stat } => {
                data.encode(out);
                stat.encode(out);
            }
            MultiResult::Error { err } => err.encode(out),
        }
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .encode(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_results_round_trip() {
        let results = vec![
            MultiResult::Create { path: "/a".into() },
            MultiResult::Error { err: -101 },
        ];
        let mut out = vec![];
        encode_multi_results(&results, &mut out);
        assert_eq!(decode_multi_results(&mut Reader::new(&out)), Ok(results));
    }

    #[test]
    fn multi_result_of_unknown_type_is_invalid() {
        let mut out = vec![];
        MultiHeader {
            op: OpCode::Sync.as_i32(),
            done: false,
            err: 0,
        }
        .encode(&mut out);
        assert!(matches!(
            decode_multi_results(&mut Reader::new(&out)),
            Err(DecodeError::Invalid(_))
        ));
    }
}

/// A whole `MultiOperationRecord`: the body of `multi` and `multiRead`, as one record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest(pub Vec<MultiOp>);

impl Encode for MultiRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_multi(&self.0, out)
    }
}

impl Decode for MultiRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_multi(r).map(MultiRequest)
    }
}

/// A whole `MultiResponse`, as one record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse(pub Vec<MultiResult>);

impl Encode for MultiResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_multi_results(&self.0, out)
    }
}

impl Decode for MultiResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_multi_results(r).map(MultiResponse)
    }
}
