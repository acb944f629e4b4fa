//! `corral admin ...`: offline tools for operators. `dump-snapshot FILE` prints a snapshot the
//! way ZooKeeper's `SnapshotFormatter` does (each znode's stat, then the sessions, then the last
//! zxid), adding what corral's format also holds: node kind, a data preview, the ACL, the digest
//! and the checksum verdict. It streams: no tree is built, so it also shows a damaged file up to
//! the damage, then names the error. `dump-log DIR` prints the Raft log (`dump_log`).
//! `import-zookeeper` converts an Apache ZooKeeper data directory (`import_zk`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use corral_datatree::node::Node;
use corral_datatree::snapshot::{SnapshotError, SnapshotReader};
use corral_datatree::NodeKind;
use corral_jute::Acl;

use crate::dump_log::dump_log;

/// Java's `Date.toString` in UTC, as zkCli and ZooKeeper's tools print times.
pub(crate) use corral_server::javafmt::java_date_utc;

/// Data bytes shown before the preview is cut.
const DATA_PREVIEW_BYTES: usize = 40;

pub const USAGE: &str = "\
usage: corral admin dump-snapshot FILE
       corral admin dump-log DIR
       corral admin import-zookeeper ZK_DATADIR [--log-dir ZK_DATALOGDIR] [--to CORRAL_DATADIR]

  dump-snapshot FILE   print a snapshot's meta, znodes and sessions (SnapshotFormatter style)
  dump-log DIR         print every record of the Raft log in DIR (a dataLogDir or its log/
                       subdirectory), one line each (LogFormatter style); read-only
  import-zookeeper ZK_DATADIR   read an Apache ZooKeeper 3.x dataDir (version-2/snapshot.*,
                       log.*; --log-dir for a separate dataLogDir) and write its tree, stats,
                       ACLs and sessions as one corral snapshot in CORRAL_DATADIR/snapshots
                       (default: ZK_DATADIR itself, so the same zoo.cfg serves it)
";

pub fn run(args: &[String]) -> ExitCode {
    match args {
        [cmd, file] if cmd == "dump-snapshot" => {
            to_stdout(file, |out| dump_snapshot(Path::new(file), out))
        }
        [cmd, dir] if cmd == "dump-log" => to_stdout(dir, |out| dump_log(Path::new(dir), out)),
        [cmd, rest @ ..] if cmd == "import-zookeeper" => match crate::import_zk::run(rest) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("corral: import-zookeeper: {e}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs a dump into a buffered stdout; an error names `arg` and exits 1.
fn to_stdout<E: std::fmt::Display>(
    arg: &str,
    dump: impl FnOnce(&mut io::BufWriter<io::StdoutLock<'static>>) -> Result<(), E>,
) -> ExitCode {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = dump(&mut out);
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("corral: {arg}: {e}");
            ExitCode::from(1)
        }
        (_, Err(e)) => {
            eprintln!("corral: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Debug)]
pub enum DumpError {
    Snapshot(SnapshotError),
    Output(io::Error),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Snapshot(e) => write!(f, "{e}"),
            DumpError::Output(e) => write!(f, "cannot write: {e}"),
        }
    }
}

impl From<SnapshotError> for DumpError {
    fn from(e: SnapshotError) -> Self {
        DumpError::Snapshot(e)
    }
}

impl From<io::Error> for DumpError {
    fn from(e: io::Error) -> Self {
        DumpError::Output(e)
    }
}

/// Prints the snapshot at `path` to `out`; fails at the first problem with the file.
pub fn dump_snapshot(path: &Path, out: &mut impl Write) -> Result<(), DumpError> {
    let io_err = |source| SnapshotError::Io { offset: 0, source };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut rd = SnapshotReader::open(file, len)?;
    let h = rd.header().clone();
    writeln!(out, "Snapshot format version: {}", h.version as u32)?;
    writeln!(out, "Last zxid: {:#x}", h.meta.last_zxid)?;
    writeln!(out, "Raft meta: {} bytes", h.meta.raft_meta.len())?;
    writeln!(out, "ZNode Details (count={}):", h.node_count)?;
    let mut ephemerals: BTreeMap<i64, usize> = BTreeMap::new();
    while let Some((path, node)) = rd.next_node()? {
        if node.kind() == NodeKind::Ephemeral {
            *ephemerals
                .entry(node.persisted().ephemeral_owner)
                .or_default() += 1;
        }
        print_node(out, &path, &node)?;
    }
    writeln!(out, "----")?;
    writeln!(out, "Session Details (sid, timeout, ephemeralCount):")?;
    while let Some((id, s)) = rd.next_session()? {
        let count = ephemerals.get(&id).copied().unwrap_or(0);
        writeln!(out, "{}, {}, {count}", hex(id), s.timeout_ms)?;
    }
    let digest = rd.finish()?;
    writeln!(out, "----")?;
    writeln!(out, "Last zxid: {:#x}", h.meta.last_zxid)?;
    writeln!(out, "Digest: {digest:#018x}")?;
    writeln!(out, "Checksum: ok ({len} bytes)")?;
    Ok(())
}

fn print_node(out: &mut impl Write, path: &str, node: &Node) -> io::Result<()> {
    let s = node.persisted();
    writeln!(out, "----")?;
    writeln!(out, "{path}")?;
    writeln!(out, "  cZxid = {}", hex(s.czxid))?;
    writeln!(out, "  ctime = {}", java_date_utc(s.ctime))?;
    writeln!(out, "  mZxid = {}", hex(s.mzxid))?;
    writeln!(out, "  mtime = {}", java_date_utc(s.mtime))?;
    writeln!(out, "  pZxid = {}", hex(s.pzxid))?;
    writeln!(out, "  cversion = {}", s.cversion)?;
    writeln!(out, "  dataVersion = {}", s.version)?;
    writeln!(out, "  aclVersion = {}", s.aversion)?;
    writeln!(out, "  ephemeralOwner = {}", hex(s.ephemeral_owner))?;
    writeln!(out, "  kind = {:?}", node.kind())?;
    writeln!(out, "  dataLength = {}", node.data_len())?;
    writeln!(out, "  data = {}", preview(node.data()))?;
    writeln!(out, "  acl = {}", acl_string(node.acl()).join(", "))
}

/// SnapshotFormatter's `%#016x`: 0x and 14 digits.
pub(crate) fn hex(v: i64) -> String {
    format!("{:#016x}", v as u64)
}

/// Each ACL entry as `scheme:id:perms`.
pub(crate) fn acl_string(acl: &[Acl]) -> Vec<String> {
    acl.iter()
        .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, perm_string(a.perms)))
        .collect()
}

/// `null`, or the first bytes quoted and escaped, with `...` when cut.
pub(crate) fn preview(data: Option<&[u8]>) -> String {
    let Some(d) = data else {
        return "null".to_string();
    };
    let shown = &d[..d.len().min(DATA_PREVIEW_BYTES)];
    let cut = if d.len() > shown.len() { "..." } else { "" };
    format!("\"{}\"{cut}", shown.escape_ascii())
}

/// `ZKUtil.getPermString` order: r, w, c, d, a.
fn perm_string(perms: i32) -> String {
    [(1, 'r'), (2, 'w'), (4, 'c'), (8, 'd'), (16, 'a')]
        .iter()
        .filter(|(bit, _)| perms & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_perms() {
        assert_eq!(preview(None), "null");
        assert_eq!(preview(Some(b"")), "\"\"");
        assert_eq!(preview(Some(b"a\"\x00\xff")), "\"a\\\"\\x00\\xff\"");
        assert!(preview(Some(&[b'x'; 100])).ends_with("x\"..."));
        assert_eq!(perm_string(31), "rwcda");
        assert_eq!(perm_string(1), "r");
    }
}
