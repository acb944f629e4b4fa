//! ZooKeeper's transaction log files (`FileTxnLog`): `log.<zxid of the first txn, hex>`.
//!
//! ```text
//! file     FileHeader { magic int "ZKLG", version int 2, dbid long } | record* | zeros
//! record   checksum long (Adler32 of txn) | txn buffer (int length + bytes) | EOR byte 'B'
//! txn      TxnHeader { clientId long, cxid int, zxid long, time long, type int }
//!          | the type's record (zookeeper.jute) | TxnDigest (3.6+, ignored)
//! ```
//!
//! The file is preallocated with zeros, so a zero length ends it. As ZooKeeper's reader does,
//! a record cut short at the end of the file (a torn last write) also ends it; a checksum that
//! does not match, or a txn that cannot be decoded, is an error naming the file and offset.

use std::path::Path;

use corral_jute::{Acl, OpCode};

use super::input::{adler32, Input, Result};

/// `FileTxnLog.TXNLOG_MAGIC`: "ZKLG".
pub const LOG_MAGIC: [u8; 4] = *b"ZKLG";
const HEADER_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    CreateSession {
        timeout_ms: i32,
    },
    /// `paths` from `CloseSessionTxn` (3.6+); `None` when the txn has none.
    CloseSession {
        paths: Option<Vec<String>>,
    },
    /// Every create flavour; `owner` is `None` for "the txn's session if ephemeral", i.e. a
    /// `CreateTxn` with `ephemeral` set; `Some(0)` for persistent, the container or TTL owner.
    Create {
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        owner: Option<i64>,
        parent_cversion: i32,
    },
    Delete {
        path: String,
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
    Error {
        err: i32,
    },
    Multi(Vec<Op>),
}

/// One txn with its op code (create and create2 differ in how restore treats NodeExists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub code: OpCode,
    pub txn: TxnOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTxn {
    pub session: i64,
    pub zxid: i64,
    pub time: i64,
    pub op: Op,
    /// Where the record starts in its file.
    pub offset: u64,
}

/// What one log file holds.
#[derive(Debug, Default)]
pub struct LogFile {
    pub txns: Vec<LoggedTxn>,
    /// The offset of a torn last record, ignored as ZooKeeper ignores it.
    pub torn_at: Option<u64>,
}

/// Reads every record of the log file `file` whose bytes are `bytes`.
pub fn read_log(file: &Path, bytes: &[u8]) -> Result<LogFile> {
    let mut inp = Input::new(file, bytes);
    inp.file_header(LOG_MAGIC, "txn log")?;
    debug_assert_eq!(inp.pos(), HEADER_BYTES);
    let mut out = LogFile::default();
    loop {
        let at = inp.offset();
        if inp.left() < 12 {
            // No room for a checksum and a length: the end (zero padding or a torn record).
            if inp.take(inp.left(), "tail")?.iter().any(|&b| b != 0) {
                out.torn_at = Some(at);
            }
            break;
        }
        let crc = inp.i64("record checksum")?;
        let len_at = inp.offset();
        let len = inp.i32("record length")?;
        if len == 0 {
            // Preallocated zeros: the end of the log.
            if crc != 0 {
                return Err(inp.error(at, format!("checksum {crc:#x} on an empty record")));
            }
            break;
        }
        if len < 0 {
            return Err(inp.error(len_at, format!("record length {len}")));
        }
        if len as usize + 1 > inp.left() {
            out.torn_at = Some(at);
            break;
        }
        let body_at = inp.offset();
        let body = inp.take(len as usize, "record")?;
        if inp.u8("end of record")? != b'B' {
            // ZooKeeper: "Last transaction was partial."
            out.torn_at = Some(at);
            break;
        }
        let computed = adler32(body) as i64;
        if crc != computed {
            return Err(inp.error(
                at,
                format!("record checksum {crc:#x}, computed {computed:#x}"),
            ));
        }
        let mut r = Input::at(file, body, body_at);
        let session = r.i64("clientId")?;
        r.i32("cxid")?;
        let zxid = r.i64("zxid")?;
        let time = r.i64("time")?;
        let code_at = r.offset();
        let code = r.i32("type")?;
        let (code, txn) = decode_txn(&mut r, code, code_at, false)?;
        out.txns.push(LoggedTxn {
            session,
            zxid,
            time,
            op: Op { code, txn },
            offset: at,
        });
    }
    Ok(out)
}

/// `SerializeUtils.deserializeTxn` / the multi's inner records. What follows the record (a
/// TxnDigest) is ignored.
fn decode_txn(
    r: &mut Input<'_>,
    code: i32,
    code_at: u64,
    in_multi: bool,
) -> Result<(OpCode, TxnOp)> {
    let unknown = |r: &Input<'_>| {
        let place = if in_multi { " inside a multi" } else { "" };
        r.error(code_at, format!("unknown txn type {code}{place}"))
    };
    let op = OpCode::from_i32(code).ok_or_else(|| unknown(r))?;
    let txn = match op {
        OpCode::CreateSession if !in_multi => TxnOp::CreateSession {
            timeout_ms: r.i32("session timeout")?,
        },
        OpCode::CloseSession if !in_multi => {
            // Before 3.6 the txn is empty.
            if r.left() == 0 {
                TxnOp::CloseSession { paths: None }
            } else {
                let n = r.count("paths to delete", 4)?;
                let mut paths = Vec::with_capacity(n.unwrap_or(0));
                for _ in 0..n.unwrap_or(0) {
                    paths.push(r.string("path to delete")?);
                }
                TxnOp::CloseSession {
                    paths: n.map(|_| paths),
                }
            }
        }
        OpCode::Create | OpCode::Create2 => {
            let path = r.string("path")?;
            let data = r.buffer("data")?;
            let acl = r.acl_list("acl")?;
            let ephemeral = r.bool("ephemeral")?;
            // `CreateTxnV0` has no parentCVersion: -1 makes restore compute it.
            let parent_cversion = if op == OpCode::Create && !in_multi && r.left() < 4 {
                -1
            } else {
                r.i32("parentCVersion")?
            };
            TxnOp::Create {
                path,
                data,
                acl,
                owner: if ephemeral { None } else { Some(0) },
                parent_cversion,
            }
        }
        OpCode::CreateContainer => TxnOp::Create {
            path: r.string("path")?,
            data: r.buffer("data")?,
            acl: r.acl_list("acl")?,
            owner: Some(corral_datatree::ephemeral::CONTAINER_OWNER),
            parent_cversion: r.i32("parentCVersion")?,
        },
        OpCode::CreateTtl => {
            let path = r.string("path")?;
            let data = r.buffer("data")?;
            let acl = r.acl_list("acl")?;
            let parent_cversion = r.i32("parentCVersion")?;
            let ttl_at = r.offset();
            let ttl = r.i64("ttl")?;
            let owner = corral_datatree::ephemeral::ttl_owner(ttl)
                .ok_or_else(|| r.error(ttl_at, format!("TTL {ttl} out of range")))?;
            TxnOp::Create {
                path,
                data,
                acl,
                owner: Some(owner),
                parent_cversion,
            }
        }
        OpCode::Delete | OpCode::DeleteContainer => TxnOp::Delete {
            path: r.string("path")?,
        },
        OpCode::SetData | OpCode::Reconfig => TxnOp::SetData {
            path: r.string("path")?,
            data: r.buffer("data")?,
            version: r.i32("version")?,
        },
        OpCode::SetAcl if !in_multi => TxnOp::SetAcl {
            path: r.string("path")?,
            acl: r.acl_list("acl")?,
            version: r.i32("version")?,
        },
        OpCode::Check => TxnOp::Check {
            path: r.string("path")?,
            version: r.i32("version")?,
        },
        OpCode::Error => TxnOp::Error {
            err: r.i32("error code")?,
        },
        OpCode::Multi if !in_multi => {
            let n = r.count("multi txns", 8)?.unwrap_or(0);
            let mut ops = Vec::with_capacity(n);
            for _ in 0..n {
                let sub_code_at = r.offset();
                let sub_code = r.i32("multi op type")?;
                let data_at = r.offset();
                let data = r
                    .buffer("multi op record")?
                    .ok_or_else(|| r.error(data_at, "multi op record is null"))?;
                let mut sub = Input::at(Path::new(""), &data, data_at + 4);
                let (code, txn) = decode_txn(&mut sub, sub_code, sub_code_at, true)
                    .map_err(|e| r.error(e.offset, e.what))?;
                ops.push(Op { code, txn });
            }
            TxnOp::Multi(ops)
        }
        _ => return Err(unknown(r)),
    };
    Ok((op, txn))
}

/// `log.<hex>` and `snapshot.<hex>`: the zxid in the name, if the name is one of those.
pub fn zxid_in_name(name: &str, prefix: &str) -> Option<i64> {
    let hex = name.strip_prefix(prefix)?.strip_prefix('.')?;
    u64::from_str_radix(hex, 16).ok().map(|z| z as i64)
}
