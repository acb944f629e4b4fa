//! What the log store writes into raft-log, and its on-disk encoding.
//!
//! raft-log is generic over [`raft_log::Types`]; its records must be `codeq` codecs, which
//! openraft's types are not (and the orphan rule forbids adding), so each stored type is a
//! newtype here with a hand-written, fixed encoding:
//!
//! - [`WalLogId`]: `term u64 | leader node u64 | index u64`, big-endian (codeq's integers).
//! - [`WalVote`]:  `term u64 | node u64 | committed u8`.
//! - [`WalPayload`]: a tag byte, then: `0` blank; `1` normal: `len u32 | bytes` (the server's
//!   serialized entry, untouched); `2` membership: `len u32 | postcard(Membership)`.
//!
//! This is a disk format: change it only by adding tags, never by changing one. raft-log wraps
//! every record in a CRC32 checksum, so these codecs need not carry their own.

use std::io;

use raft_log::codeq::{Decode, Encode};

use crate::types::{CorralNode, EntryPayload, LogId, LogPayload, Membership, NodeId, Vote};
use crate::wal_callback::WalCallback;

/// The raft-log type family for corral's log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WalTypes;

impl raft_log::Types for WalTypes {
    type LogId = WalLogId;
    type LogPayload = WalPayload;
    type Vote = WalVote;
    type Callback = WalCallback;
    // raft-log's spare slot for application data; unused for now.
    type UserData = ();

    fn log_index(log_id: &WalLogId) -> u64 {
        log_id.0.index
    }

    fn payload_size(payload: &WalPayload) -> u64 {
        // Only sizes raft-log's payload cache, so an estimate will do.
        match &payload.0 {
            EntryPayload::Blank => 0,
            EntryPayload::Normal(p) => p.0.len() as u64,
            EntryPayload::Membership(_) => MEMBERSHIP_SIZE_ESTIMATE_BYTES,
        }
    }
}

const MEMBERSHIP_SIZE_ESTIMATE_BYTES: u64 = 256;

const TAG_BLANK: u8 = 0;
const TAG_NORMAL: u8 = 1;
const TAG_MEMBERSHIP: u8 = 2;

/// openraft's `LogId`, storable. Ordered exactly as openraft orders log ids, which raft-log
/// relies on to refuse an append that does not move forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalLogId(pub LogId);

/// openraft's `Vote`, storable. Its partial order is openraft's; raft-log refuses to save a
/// vote that is not `>=` the saved one, which is the rule openraft itself keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
pub struct WalVote(pub Vote);

/// openraft's entry payload, storable.
#[derive(Debug, Clone)]
pub struct WalPayload(pub EntryPayload);

impl Encode for WalLogId {
    fn encode<W: io::Write>(&self, mut w: W) -> io::Result<usize> {
        let mut n = self.0.leader_id.term.encode(&mut w)?;
        n += self.0.leader_id.node_id.encode(&mut w)?;
        n += self.0.index.encode(&mut w)?;
        Ok(n)
    }
}

impl Decode for WalLogId {
    fn decode<R: io::Read>(mut r: R) -> io::Result<Self> {
        let term = u64::decode(&mut r)?;
        let node_id: NodeId = u64::decode(&mut r)?;
        let index = u64::decode(&mut r)?;
        Ok(WalLogId(openraft::LogId::new(
            openraft::CommittedLeaderId::new(term, node_id),
            index,
        )))
    }
}

impl Encode for WalVote {
    fn encode<W: io::Write>(&self, mut w: W) -> io::Result<usize> {
        let mut n = self.0.leader_id.term.encode(&mut w)?;
        n += self.0.leader_id.node_id.encode(&mut w)?;
        n += (self.0.committed as u8).encode(&mut w)?;
        Ok(n)
    }
}

impl Decode for WalVote {
    fn decode<R: io::Read>(mut r: R) -> io::Result<Self> {
        let term = u64::decode(&mut r)?;
        let node_id = u64::decode(&mut r)?;
        let committed = match u8::decode(&mut r)? {
            0 => false,
            1 => true,
            other => return Err(invalid(format!("vote committed flag {other}"))),
        };
        let mut vote = openraft::Vote::new(term, node_id);
        vote.committed = committed;
        Ok(WalVote(vote))
    }
}

impl Encode for WalPayload {
    fn encode<W: io::Write>(&self, mut w: W) -> io::Result<usize> {
        match &self.0 {
            EntryPayload::Blank => TAG_BLANK.encode(&mut w),
            EntryPayload::Normal(p) => {
                let n = TAG_NORMAL.encode(&mut w)?;
                Ok(n + p.0.encode(&mut w)?)
            }
            EntryPayload::Membership(m) => {
                let bytes = postcard::to_stdvec(m)
                    .map_err(|e| invalid(format!("encode membership: {e}")))?;
                let n = TAG_MEMBERSHIP.encode(&mut w)?;
                Ok(n + bytes.encode(&mut w)?)
            }
        }
    }
}

impl Decode for WalPayload {
    fn decode<R: io::Read>(mut r: R) -> io::Result<Self> {
        let payload = match u8::decode(&mut r)? {
            TAG_BLANK => EntryPayload::Blank,
            TAG_NORMAL => EntryPayload::Normal(LogPayload(Vec::<u8>::decode(&mut r)?)),
            TAG_MEMBERSHIP => {
                let bytes = Vec::<u8>::decode(&mut r)?;
                let m: Membership =
                    postcard::from_bytes::<openraft::Membership<NodeId, CorralNode>>(&bytes)
                        .map_err(|e| invalid(format!("decode membership: {e}")))?;
                EntryPayload::Membership(m)
            }
            other => return Err(invalid(format!("unknown payload tag {other}"))),
        };
        Ok(WalPayload(payload))
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn round_trip<T: Encode + Decode>(v: &T) -> T {
        let mut buf = Vec::new();
        let n = v.encode(&mut buf).unwrap();
        assert_eq!(n, buf.len(), "encode reports the bytes it wrote");
        T::decode(&mut buf.as_slice()).unwrap()
    }

    #[test]
    fn log_id_layout_is_fixed() {
        let id = WalLogId(openraft::LogId::new(
            openraft::CommittedLeaderId::new(3, 2),
            7,
        ));
        let mut buf = Vec::new();
        id.encode(&mut buf).unwrap();
        assert_eq!(
            buf,
            [0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7]
        );
        assert_eq!(round_trip(&id), id);
    }

    #[test]
    fn vote_round_trips_with_committed_flag() {
        let mut vote = openraft::Vote::new(5, 1);
        assert_eq!(round_trip(&WalVote(vote)), WalVote(vote));
        vote.commit();
        assert_eq!(round_trip(&WalVote(vote)), WalVote(vote));
    }

    #[test]
    fn payloads_round_trip() {
        let normal = WalPayload(EntryPayload::Normal(LogPayload(b"txn".to_vec())));
        let mut buf = Vec::new();
        normal.encode(&mut buf).unwrap();
        assert_eq!(buf, [TAG_NORMAL, 0, 0, 0, 3, b't', b'x', b'n']);

        let nodes = BTreeMap::from([(
            1,
            CorralNode {
                peer_addr: "a:2888".into(),
                client_addr: "a:2181".into(),
            },
        )]);
        let m = openraft::Membership::new(vec![BTreeSet::from([1])], nodes);
        for p in [
            EntryPayload::Blank,
            EntryPayload::Normal(LogPayload(vec![1, 2, 3])),
            EntryPayload::Membership(m),
        ] {
            assert_eq!(round_trip(&WalPayload(p.clone())).0, p);
        }
    }

    #[test]
    fn unknown_payload_tag_is_invalid_data() {
        let err = WalPayload::decode(&mut [9u8].as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
