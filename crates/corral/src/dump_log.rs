//! `corral admin dump-log DIR`: every record of the Raft log, one line each, in the spirit of
//! ZooKeeper's `LogFormatter`. An entry shows its log id (index, term, leader) and its kind; a
//! normal entry is a batch of txns (`corral_raft::batch`), each on its own line with its zxid,
//! origin, proposer, time, session and Txn.
//!
//! It reads the chunk files without opening the log (`corral_raft::dump`): nothing in DIR is
//! written, no lock is taken, so it works on the directory of a killed server. A record that
//! does not read back ends its file's listing with a line naming the file and the offset; a
//! torn tail of the newest file (a write cut short, which the next start cuts off) is shown the
//! same way but is not an error.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use corral_datatree::{Txn, TxnOp};
use corral_jute::{create_flags, Acl};
use corral_raft::batch;
use corral_raft::dump::{self, DamageKind, LogId, Payload, Record, Vote};
use corral_server::pipeline::propose::{Entry, Logged, Origin};
use corral_server::recovery::LOG_SUBDIR;

use crate::admin::{acl_string, hex, java_date_utc, preview};

/// What a dump found wrong; the listing itself went to the output.
#[derive(Debug)]
pub enum DumpLogError {
    NoLog(PathBuf),
    /// Damaged records or entries that do not decode, all listed in the output.
    Damaged(usize),
    Io(io::Error),
}

impl std::fmt::Display for DumpLogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpLogError::NoLog(dir) => {
                write!(f, "no raft log chunk files (r-*.wal) in {}", dir.display())
            }
            DumpLogError::Damaged(n) => write!(f, "{n} damaged or undecodable record(s), listed"),
            DumpLogError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for DumpLogError {
    fn from(e: io::Error) -> Self {
        DumpLogError::Io(e)
    }
}

/// Prints the log in `dir` (a dataLogDir, or its `log` subdirectory) to `out`.
pub fn dump_log(dir: &Path, out: &mut impl Write) -> Result<(), DumpLogError> {
    let sub = dir.join(LOG_SUBDIR);
    let dir = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let files = dump::chunk_files(&dir)?;
    if files.is_empty() {
        return Err(DumpLogError::NoLog(dir));
    }
    writeln!(out, "Raft log in {}", dir.display())?;
    let (mut records, mut entries, mut bad) = (0usize, 0usize, 0usize);
    let mut indexes: Option<(u64, u64)> = None;
    for path in &files {
        let chunk = dump::read_chunk(path)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        writeln!(out, "{name} ({} bytes)", chunk.len)?;
        for r in &chunk.records {
            records += 1;
            write!(out, "  @{:<8} ", r.offset)?;
            match &r.record {
                Record::Entry { id, payload } => {
                    entries += 1;
                    indexes = Some(indexes.map_or((id.index, id.index), |(lo, _)| (lo, id.index)));
                    write!(out, "entry {}", log_id(id))?;
                    if !print_payload(out, id.index, payload)? {
                        bad += 1;
                    }
                    writeln!(out)?;
                }
                other => writeln!(out, "{}", record(other))?,
            }
        }
        if let Some(d) = &chunk.damage {
            // Only the newest file's torn tail is cut; anywhere else, damage stops a start.
            let newest = Some(path) == files.last();
            let torn = matches!(d.kind, DamageKind::TornTail | DamageKind::ZeroTail);
            let verdict = if newest && torn {
                "the next start cuts it off"
            } else {
                bad += 1;
                "a server refuses to start on this log"
            };
            writeln!(out, "  {name}: {d}; {verdict}")?;
        }
    }
    let range = indexes.map_or(String::new(), |(lo, hi)| format!(", index {lo}..{hi}"));
    writeln!(
        out,
        "{records} records, {entries} entries{range}, {} file(s)",
        files.len()
    )?;
    if bad > 0 {
        return Err(DumpLogError::Damaged(bad));
    }
    Ok(())
}

/// `index 5 (term 1, leader 1)`; the zxids of an entry's txns are printed with them.
fn log_id(id: &LogId) -> String {
    format!(
        "index {} (term {}, leader {})",
        id.index, id.term, id.leader
    )
}

fn opt_log_id(id: &Option<LogId>) -> String {
    id.as_ref().map_or("-".into(), log_id)
}

fn vote(v: &Vote) -> String {
    let state = if v.committed { "won" } else { "asked" };
    format!("term {} for {} ({state})", v.term, v.node)
}

fn record(r: &Record) -> String {
    match r {
        Record::State {
            vote: v,
            last,
            committed,
            purged,
        } => format!(
            "state: vote {}; last {}; committed {}; purged {}",
            v.as_ref().map_or("-".into(), vote),
            opt_log_id(last),
            opt_log_id(committed),
            opt_log_id(purged)
        ),
        Record::Vote(v) => format!("vote {}", vote(v)),
        Record::Commit(id) => format!("commit up to {}", log_id(id)),
        Record::TruncateAfter(id) => format!("truncate after {}", opt_log_id(id)),
        Record::PurgeUpto(id) => format!("purge up to {}", log_id(id)),
        Record::Entry { id, .. } => format!("entry {}", log_id(id)),
    }
}

/// Writes an entry's kind and content; false when a normal entry does not decode.
fn print_payload(out: &mut impl Write, index: u64, payload: &Payload) -> io::Result<bool> {
    match payload {
        Payload::Blank => write!(out, " blank")?,
        Payload::Membership { voters, nodes } => {
            write!(out, " membership voters {voters:?}")?;
            for (id, n) in nodes {
                write!(out, " node {id} ({n})")?;
            }
        }
        Payload::Normal(bytes) => {
            let items = match batch::decode_batch(bytes) {
                Ok(items) => items,
                Err(e) => {
                    write!(
                        out,
                        " normal UNDECODABLE batch ({} bytes): {e}",
                        bytes.len()
                    )?;
                    return Ok(false);
                }
            };
            write!(out, " normal, {} txn(s)", items.len())?;
            let mut whole = true;
            for (i, item) in items.into_iter().enumerate() {
                write!(out, "\n      zxid {:#x} ", batch::zxid_of(index, i))?;
                match Entry::from_log_bytes(item) {
                    Ok((proposer, Logged::Sync { session_id })) => {
                        write!(
                            out,
                            "origin sync {} proposer {proposer:#x} sync",
                            hex(session_id)
                        )?;
                    }
                    Ok((proposer, Logged::Txn(entry))) => {
                        let origin = match entry.origin {
                            Origin::Client { session_id } => {
                                format!("client {}", hex(session_id))
                            }
                            Origin::Internal => "internal".into(),
                        };
                        write!(
                            out,
                            "origin {origin} proposer {proposer:#x} {}",
                            txn(&entry.txn)
                        )?;
                    }
                    Err(e) => {
                        write!(out, "UNDECODABLE ({} bytes): {e}", item.len())?;
                        whole = false;
                    }
                }
            }
            return Ok(whole);
        }
    }
    Ok(true)
}

/// `LogFormatter`'s `time session type args`, with the connection's auth ids after.
fn txn(t: &Txn) -> String {
    let auth: Vec<String> = t
        .auth
        .iter()
        .map(|a| format!("{}:{}", a.scheme, a.id))
        .collect();
    format!(
        "time {} ({} ms) session {} {} auth [{}]",
        java_date_utc(t.time_ms),
        t.time_ms,
        hex(t.session_id),
        op_string(&t.op),
        auth.join(", ")
    )
}

fn op_string(op: &TxnOp) -> String {
    match op {
        TxnOp::CreateSession { timeout_ms, passwd } => {
            format!(
                "createSession timeout {timeout_ms} passwd {} bytes",
                passwd.len()
            )
        }
        TxnOp::CloseSession => "closeSession".into(),
        TxnOp::Create {
            path,
            data,
            acl,
            flags,
            ttl_ms,
        } => format!(
            "create {path} {} acl [{}] flags {flags} ({}) ttl {ttl_ms}",
            data_string(data),
            acls(acl),
            flag_name(*flags)
        ),
        TxnOp::Delete { path, version } => format!("delete {path} version {version}"),
        TxnOp::SetData {
            path,
            data,
            version,
        } => format!("setData {path} {} version {version}", data_string(data)),
        TxnOp::SetAcl { path, acl, version } => {
            format!("setACL {path} acl [{}] version {version}", acls(acl))
        }
        TxnOp::Check { path, version } => format!("check {path} version {version}"),
        TxnOp::Multi(ops) => {
            let ops: Vec<String> = ops.iter().map(op_string).collect();
            format!("multi ({}) [{}]", ops.len(), ops.join("; "))
        }
        TxnOp::DeleteContainer { path } => format!("deleteContainer {path}"),
    }
}

/// `data 4 bytes "hi\n\x00"`, or `data null`.
fn data_string(data: &Option<Vec<u8>>) -> String {
    match data {
        Some(d) => format!("data {} bytes {}", d.len(), preview(Some(d))),
        None => "data null".into(),
    }
}

fn acls(acl: &[Acl]) -> String {
    acl_string(acl).join(", ")
}

fn flag_name(flags: i32) -> &'static str {
    match flags {
        create_flags::PERSISTENT => "persistent",
        create_flags::EPHEMERAL => "ephemeral",
        create_flags::PERSISTENT_SEQUENTIAL => "persistent sequential",
        create_flags::EPHEMERAL_SEQUENTIAL => "ephemeral sequential",
        create_flags::CONTAINER => "container",
        create_flags::PERSISTENT_WITH_TTL => "persistent with ttl",
        create_flags::PERSISTENT_SEQUENTIAL_WITH_TTL => "persistent sequential with ttl",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use corral_jute::Acl;

    use super::*;

    #[test]
    fn ops_print_their_fields() {
        let set = TxnOp::SetData {
            path: "/a".into(),
            data: None,
            version: 3,
        };
        assert_eq!(op_string(&set), "setData /a data null version 3");
        let multi = TxnOp::Multi(vec![
            TxnOp::Create {
                path: "/b".into(),
                data: Some(b"x\n".to_vec()),
                acl: Acl::read_only(),
                flags: create_flags::EPHEMERAL_SEQUENTIAL,
                ttl_ms: -1,
            },
            TxnOp::Delete {
                path: "/c".into(),
                version: -1,
            },
        ]);
        assert_eq!(
            op_string(&multi),
            "multi (2) [create /b data 2 bytes \"x\\n\" acl [world:anyone:r] flags 3 \
             (ephemeral sequential) ttl -1; delete /c version -1]"
        );
        let session = TxnOp::CreateSession {
            timeout_ms: 4000,
            passwd: vec![7; 16],
        };
        assert_eq!(
            op_string(&session),
            "createSession timeout 4000 passwd 16 bytes"
        );
    }

    #[test]
    fn a_directory_without_a_log_is_an_error() {
        let dir = std::env::temp_dir().join(format!("corral-dump-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = dump_log(&dir, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("no raft log chunk files"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
