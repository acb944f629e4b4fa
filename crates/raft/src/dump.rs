//! The log's chunk files read record by record, without opening the log: for
//! `corral admin dump-log`, and for the log store's damage check before raft-log opens a log.
//!
//! Read-only: no lock is taken and nothing is written, so it reads the directory of a killed
//! server (or of a running one: its newest record may then be half written). raft-log's own
//! `Dump` takes the directory's exclusive lock, creating and truncating its `LOCK` file, and
//! refuses while a server runs; the records are decoded here with raft-log's own codec instead.
//!
//! Records are plain values (no openraft or raft-log types): [`Record`], at a byte offset in its
//! file. Reading a file stops at the first record that does not read back, and says what the
//! rest looks like ([`Damage`]): a torn tail (what a crash mid-write leaves, which raft-log cuts
//! off at open) or corruption (which must stop a start).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use raft_log::codeq::Decode;
use raft_log::{RaftLogAction, RaftLogRecord, WALRecord};

use crate::types::{CorralNode, EntryPayload};
use crate::wal_types::{WalLogId, WalPayload, WalTypes, WalVote};

/// Bytes the torn-tail probe may decode in all before it gives up (see [`DamageKind`]).
const PROBE_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// The largest record type raft-log writes (a checkpoint); the probe skips other offsets.
const MAX_RECORD_TYPE: u32 = 5;

/// A Raft log id: the entry's term, the leader that wrote it, its index (the zxid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogId {
    pub term: u64,
    pub leader: u64,
    pub index: u64,
}

/// A saved vote: `node` was voted for in `term`; `committed` once it won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub term: u64,
    pub node: u64,
    pub committed: bool,
}

/// What a log entry carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A new leader's first entry.
    Blank,
    /// A server entry, as `pipeline::propose` encoded it.
    Normal(Vec<u8>),
    /// The group's members: the voter sets (two during a joint change) and every node.
    Membership {
        voters: Vec<BTreeSet<u64>>,
        nodes: BTreeMap<u64, CorralNode>,
    },
}

/// One record of a chunk file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The log's state when the chunk began; the first record of every chunk.
    State {
        vote: Option<Vote>,
        last: Option<LogId>,
        committed: Option<LogId>,
        purged: Option<LogId>,
    },
    Vote(Vote),
    Entry {
        id: LogId,
        payload: Payload,
    },
    /// Entries up to this one are committed (written without an fsync of its own).
    Commit(LogId),
    /// Entries after this one are removed (none: all of them).
    TruncateAfter(Option<LogId>),
    /// Entries up to this one are removed (a snapshot covers them).
    PurgeUpto(LogId),
}

/// A record and where it is in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub offset: u64,
    pub size: u64,
    pub record: Record,
}

/// What follows the last record that reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The file ends inside a record and no valid record follows it: a write cut short by a
    /// crash. raft-log cuts it off when it opens the newest chunk.
    TornTail,
    /// A record that does not read back, followed only by zero bytes: a crash on a file system
    /// that extended the file before writing its data. raft-log cuts it off too.
    ZeroTail,
    /// Anything else: a damaged record with data after it. A record whose length field is
    /// damaged also reads as "the file ends inside a record", so such an ending is torn only
    /// when no valid record can be found after it; `valid_record_at` names the first one.
    Corrupt { valid_record_at: Option<u64> },
}

/// The first record of a file that does not read back.
#[derive(Debug)]
pub struct Damage {
    /// Where the record begins in the file (the damaged byte may be further in).
    pub offset: u64,
    pub kind: DamageKind,
    pub error: io::Error,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            DamageKind::TornTail => "torn tail (a write cut short)".to_string(),
            DamageKind::ZeroTail => "torn tail (zero bytes to the end)".to_string(),
            DamageKind::Corrupt {
                valid_record_at: Some(at),
            } => format!("damaged record (a valid record follows at offset {at})"),
            DamageKind::Corrupt {
                valid_record_at: None,
            } => "damaged record".to_string(),
        };
        write!(f, "{what} at offset {}: {}", self.offset, self.error)
    }
}

/// One chunk file, read.
#[derive(Debug)]
pub struct Chunk {
    pub path: PathBuf,
    pub len: u64,
    pub records: Vec<Located>,
    pub damage: Option<Damage>,
}

/// The chunk files (`r-<offset>.wal`) in `dir`, oldest first.
pub fn chunk_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Ok(offset) = raft_log::chunked_wal::Config::parse_chunk_file_name(name) {
            files.push((offset, entry.path()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// Reads every record of one chunk file, up to the first that does not read back.
pub fn read_chunk(path: &Path) -> io::Result<Chunk> {
    let bytes = std::fs::read(path)?;
    let mut records = Vec::new();
    let mut at = 0;
    let mut damage = None;
    while at < bytes.len() {
        let mut rest = &bytes[at..];
        match RaftLogRecord::<WalTypes>::decode(&mut rest) {
            Ok(rec) => {
                let size = bytes.len() - at - rest.len();
                records.push(Located {
                    offset: at as u64,
                    size: size as u64,
                    record: plain(rec),
                });
                at += size;
            }
            Err(error) => {
                damage = Some(Damage {
                    offset: at as u64,
                    kind: classify(&bytes, at, &error),
                    error,
                });
                break;
            }
        }
    }
    Ok(Chunk {
        path: path.to_path_buf(),
        len: bytes.len() as u64,
        records,
        damage,
    })
}

fn classify(bytes: &[u8], at: usize, error: &io::Error) -> DamageKind {
    if error.kind() != io::ErrorKind::UnexpectedEof {
        return if bytes[at..].iter().all(|&b| b == 0) {
            DamageKind::ZeroTail
        } else {
            DamageKind::Corrupt {
                valid_record_at: None,
            }
        };
    }
    match valid_record_after(bytes, at) {
        Probe::None => DamageKind::TornTail,
        Probe::Found(y) => DamageKind::Corrupt {
            valid_record_at: Some(y as u64),
        },
        // Cannot tell a torn write from damage: refusing is the side that loses nothing.
        Probe::GaveUp => DamageKind::Corrupt {
            valid_record_at: None,
        },
    }
}

enum Probe {
    None,
    Found(usize),
    GaveUp,
}

/// Looks for a record that reads back (checksum and all) at any offset after `at`. A torn
/// write leaves only a prefix of one record, in which none is found (unless the payload itself
/// holds an encoded record, which makes a start refuse rather than lose anything). Bounded by
/// [`PROBE_BUDGET_BYTES`]: a garbage length field makes one attempt read to the end.
fn valid_record_after(bytes: &[u8], at: usize) -> Probe {
    let mut budget = PROBE_BUDGET_BYTES;
    for y in at + 1..bytes.len() {
        let Some(ty) = bytes.get(y..y + 4) else {
            break;
        };
        if u32::from_be_bytes(ty.try_into().expect("4 bytes")) > MAX_RECORD_TYPE {
            continue;
        }
        let mut rest = &bytes[y..];
        let ok = RaftLogRecord::<WalTypes>::decode(&mut rest).is_ok();
        if ok {
            return Probe::Found(y);
        }
        let read = bytes.len() - y - rest.len();
        match budget.checked_sub(read) {
            Some(left) => budget = left,
            None => return Probe::GaveUp,
        }
    }
    Probe::None
}

fn plain(rec: RaftLogRecord<WalTypes>) -> Record {
    match rec {
        WALRecord::Checkpoint(state) => Record::State {
            vote: state.vote().map(vote),
            last: state.last().map(log_id),
            committed: state.committed().map(log_id),
            purged: state.purged().map(log_id),
        },
        WALRecord::Action(action) => match action {
            RaftLogAction::SaveVote(v) => Record::Vote(vote(&v)),
            RaftLogAction::Append(id, p) => Record::Entry {
                id: log_id(&id),
                payload: payload(p),
            },
            RaftLogAction::Commit(id) => Record::Commit(log_id(&id)),
            RaftLogAction::TruncateAfter(id) => Record::TruncateAfter(id.as_ref().map(log_id)),
            RaftLogAction::PurgeUpto(id) => Record::PurgeUpto(log_id(&id)),
        },
    }
}

fn log_id(id: &WalLogId) -> LogId {
    LogId {
        term: id.0.leader_id.term,
        leader: id.0.leader_id.node_id,
        index: id.0.index,
    }
}

fn vote(v: &WalVote) -> Vote {
    Vote {
        term: v.0.leader_id.term,
        node: v.0.leader_id.node_id,
        committed: v.0.committed,
    }
}

fn payload(p: WalPayload) -> Payload {
    match p.0 {
        EntryPayload::Blank => Payload::Blank,
        EntryPayload::Normal(bytes) => Payload::Normal(bytes.0),
        EntryPayload::Membership(m) => Payload::Membership {
            voters: m.get_joint_config().clone(),
            nodes: m.nodes().map(|(id, n)| (*id, n.clone())).collect(),
        },
    }
}
