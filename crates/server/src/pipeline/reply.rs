//! Encoding answers: every reply is one frame, a `ReplyHeader` then the op's response record.

use corral_datatree::OpResult;
use corral_jute::request::encode_multi_results;
use corral_jute::{
    frame, Create2Response, CreateResponse, Encode, ErrorCode, MultiResult, OpCode, ReplyHeader,
    StatResponse,
};

/// What kind of response a committed write gets, fixed when the request arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Single(OpCode),
    /// The op code of every op of a `multi`, in order.
    Multi(Vec<OpCode>),
    /// An ensemble's `sync` (through the log), with the path it named.
    Sync(String),
    /// A `reconfig`: answered with the new `/zookeeper/config` data and its Stat.
    Reconfig(Vec<u8>),
}

pub fn frame_with(xid: i32, zxid: i64, err: ErrorCode, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let at = frame::begin(&mut out);
    ReplyHeader {
        xid,
        zxid,
        err: err.as_i32(),
    }
    .encode(&mut out);
    body(&mut out);
    frame::finish(&mut out, at);
    out
}

pub fn error(xid: i32, zxid: i64, err: ErrorCode) -> Vec<u8> {
    frame_with(xid, zxid, err, |_| {})
}

pub fn record(xid: i32, zxid: i64, rec: &impl Encode) -> Vec<u8> {
    frame_with(xid, zxid, ErrorCode::Ok, |out| rec.encode(out))
}

/// The answer to a committed write.
pub fn write_result(
    xid: i32,
    zxid: i64,
    kind: &ReplyKind,
    result: &Result<OpResult, ErrorCode>,
    multi_failure: &[ErrorCode],
) -> Vec<u8> {
    match (kind, result) {
        (ReplyKind::Sync(path), _) => {
            record(xid, zxid, &corral_jute::SyncResponse { path: path.clone() })
        }
        (ReplyKind::Multi(_), Err(_)) => {
            // A failed multi still answers Ok in the header; the per-op errors say what failed.
            let results: Vec<MultiResult> = multi_failure
                .iter()
                .map(|e| MultiResult::Error { err: e.as_i32() })
                .collect();
            frame_with(xid, zxid, ErrorCode::Ok, |out| {
                encode_multi_results(&results, out)
            })
        }
        (_, Err(e)) => error(xid, zxid, *e),
        (ReplyKind::Multi(ops), Ok(OpResult::Multi(results))) => {
            let results: Vec<MultiResult> = results
                .iter()
                .zip(ops.iter().copied())
                .map(|(r, op)| multi_result(op, r))
                .collect();
            frame_with(xid, zxid, ErrorCode::Ok, |out| {
                encode_multi_results(&results, out)
            })
        }
        (ReplyKind::Single(op), Ok(r)) => frame_with(xid, zxid, ErrorCode::Ok, |out| {
            single_body(*op, r, out);
        }),
        (ReplyKind::Reconfig(data), Ok(OpResult::SetData { stat })) => record(
            xid,
            zxid,
            &corral_jute::GetDataResponse {
                data: Some(data.clone()),
                stat: stat.clone(),
            },
        ),
        (ReplyKind::Multi(_) | ReplyKind::Reconfig(_), Ok(_)) => {
            error(xid, zxid, ErrorCode::SystemError)
        }
    }
}

fn single_body(op: OpCode, r: &OpResult, out: &mut Vec<u8>) {
    match r {
        OpResult::Created { path, stat } => {
            if op == OpCode::Create {
                CreateResponse { path: path.clone() }.encode(out)
            } else {
                Create2Response {
                    path: path.clone(),
                    stat: stat.clone(),
                }
                .encode(out)
            }
        }
        OpResult::SetData { stat } | OpResult::SetAcl { stat } => {
            StatResponse { stat: stat.clone() }.encode(out)
        }
        OpResult::Deleted
        | OpResult::Checked
        | OpResult::SessionClosed
        | OpResult::SessionCreated
        | OpResult::Multi(_) => {}
    }
}

fn multi_result(op: OpCode, r: &Result<OpResult, ErrorCode>) -> MultiResult {
    match r {
        Err(e) => MultiResult::Error { err: e.as_i32() },
        Ok(OpResult::Created { path, stat }) => {
            // ZooKeeper 3.8 answers a create2 inside a multi as a plain create (path only);
            // createContainer and createTTL get the path and the Stat.
            if matches!(op, OpCode::Create | OpCode::Create2) {
                MultiResult::Create { path: path.clone() }
            } else {
                MultiResult::Create2 {
                    path: path.clone(),
                    stat: stat.clone(),
                }
            }
        }
        Ok(OpResult::Deleted) => MultiResult::Delete,
        Ok(OpResult::SetData { stat }) => MultiResult::SetData { stat: stat.clone() },
        Ok(_) => MultiResult::Check,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_jute::Stat;

    #[test]
    fn create2_inside_multi_answers_like_create() {
        let created = Ok(OpResult::Created {
            path: "/a".into(),
            stat: Stat::default(),
        });
        assert_eq!(
            multi_result(OpCode::Create2, &created),
            MultiResult::Create { path: "/a".into() }
        );
        assert!(matches!(
            multi_result(OpCode::CreateContainer, &created),
            MultiResult::Create2 { .. }
        ));
        assert!(matches!(
            multi_result(OpCode::CreateTtl, &created),
            MultiResult::Create2 { .. }
        ));
    }
}
