//! The bytes of a logged Txn: what the Raft log stores and every replica decodes.
//!
//! Format version 1, big-endian with jute's primitives (strings and buffers length-prefixed,
//! -1 for a null buffer): a version byte, `session_id` (i64), `time_ms` (i64), the auth ids
//! (count, then scheme and id strings), then the op as a tag byte and its fields. A multi holds
//! a count and its ops, which may not nest. The layout is pinned by golden bytes in the tests:
//! a change is a new version, never an edit, because logs outlive binaries.

use corral_jute::codec::{write_i32, write_i64};
use corral_jute::{Acl, Decode, DecodeError, Encode, Id, Reader};

use crate::txn::{Txn, TxnOp};

pub const TXN_FORMAT_VERSION: u8 = 1;

/// Smallest encoding of one auth id or op: bounds counts by the bytes left before allocating.
const MIN_ELEM_BYTES: usize = 1;

mod tag {
    pub const CREATE_SESSION: u8 = 1;
    pub const CLOSE_SESSION: u8 = 2;
    pub const CREATE: u8 = 3;
    pub const DELETE: u8 = 4;
    pub const SET_DATA: u8 = 5;
    pub const SET_ACL: u8 = 6;
    pub const CHECK: u8 = 7;
    pub const MULTI: u8 = 8;
    pub const DELETE_CONTAINER: u8 = 9;
}

impl Txn {
    pub fn to_log_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(TXN_FORMAT_VERSION);
        write_i64(&mut out, self.session_id);
        write_i64(&mut out, self.time_ms);
        write_i32(&mut out, self.auth.len() as i32);
        for id in &self.auth {
            id.encode(&mut out);
        }
        encode_op(&self.op, &mut out);
        out
    }

    /// Decodes a logged Txn; trailing bytes are an error, as a log record is exact.
    pub fn from_log_bytes(bytes: &[u8]) -> Result<Txn, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.read_u8()?;
        if version != TXN_FORMAT_VERSION {
            return Err(DecodeError::invalid(format!(
                "unknown txn format version {version}"
            )));
        }
        let session_id = r.read_i64()?;
        let time_ms = r.read_i64()?;
        let n = r.read_vec_len(MIN_ELEM_BYTES)?;
        let auth = (0..n)
            .map(|_| Id::decode(&mut r))
            .collect::<Result<_, _>>()?;
        let op = decode_op(&mut r, true)?;
        if r.remaining() != 0 {
            return Err(DecodeError::invalid(format!(
                "{} bytes after the txn",
                r.remaining()
            )));
        }
        Ok(Txn {
            session_id,
            time_ms,
            auth,
            op,
        })
    }
}

fn encode_op(op: &TxnOp, out: &mut Vec<u8>) {
    match op {
        TxnOp::CreateSession { timeout_ms, passwd } => {
            out.push(tag::CREATE_SESSION);
            timeout_ms.encode(out);
            passwd.encode(out);
        }
        TxnOp::CloseSession => out.push(tag::CLOSE_SESSION),
        TxnOp::Create {
            path,
            data,
            acl,
            flags,
            ttl_ms,
        } => {
            out.push(tag::CREATE);
            path.encode(out);
            data.encode(out);
            acl.encode(out);
            flags.encode(out);
            ttl_ms.encode(out);
        }
        TxnOp::Delete { path, version } => {
            out.push(tag::DELETE);
            path.encode(out);
            version.encode(out);
        }
        TxnOp::SetData {
            path,
            data,
            version,
        } => {
            out.push(tag::SET_DATA);
            path.encode(out);
            data.encode(out);
            version.encode(out);
        }
        TxnOp::SetAcl { path, acl, version } => {
            out.push(tag::SET_ACL);
            path.encode(out);
            acl.encode(out);
            version.encode(out);
        }
        TxnOp::Check { path, version } => {
            out.push(tag::CHECK);
            path.encode(out);
            version.encode(out);
        }
        TxnOp::Multi(ops) => {
            out.push(tag::MULTI);
            write_i32(out, ops.len() as i32);
            for op in ops {
                encode_op(op, out);
            }
        }
        TxnOp::DeleteContainer { path } => {
            out.push(tag::DELETE_CONTAINER);
            path.encode(out);
        }
    }
}

fn decode_op(r: &mut Reader<'_>, top_level: bool) -> Result<TxnOp, DecodeError> {
    let t = r.read_u8()?;
    Ok(match t {
        tag::CREATE_SESSION => TxnOp::CreateSession {
            timeout_ms: r.read_i32()?,
            passwd: r.read_buffer()?,
        },
        tag::CLOSE_SESSION => TxnOp::CloseSession,
        tag::CREATE => TxnOp::Create {
            path: r.read_string()?,
            data: r.read_opt_buffer()?,
            acl: Vec::<Acl>::decode(r)?,
            flags: r.read_i32()?,
            ttl_ms: r.read_i64()?,
        },
        tag::DELETE => TxnOp::Delete {
            path: r.read_string()?,
            version: r.read_i32()?,
        },
        tag::SET_DATA => TxnOp::SetData {
            path: r.read_string()?,
            data: r.read_opt_buffer()?,
            version: r.read_i32()?,
        },
        tag::SET_ACL => TxnOp::SetAcl {
            path: r.read_string()?,
            acl: Vec::<Acl>::decode(r)?,
            version: r.read_i32()?,
        },
        tag::CHECK => TxnOp::Check {
            path: r.read_string()?,
            version: r.read_i32()?,
        },
        tag::MULTI if top_level => {
            let n = r.read_vec_len(MIN_ELEM_BYTES)?;
            TxnOp::Multi(
                (0..n)
                    .map(|_| decode_op(r, false))
                    .collect::<Result<_, _>>()?,
            )
        }
        tag::MULTI => return Err(DecodeError::invalid("nested multi in txn")),
        tag::DELETE_CONTAINER => TxnOp::DeleteContainer {
            path: r.read_string()?,
        },
        other => return Err(DecodeError::invalid(format!("unknown txn op tag {other}"))),
    })
}
