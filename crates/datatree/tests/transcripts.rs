//! Transcript tests (etcd-io/raft `testdata` style): each `testdata/*.txt` is one scenario of
//! commands, each followed by the exact lines (`> ...`) it must produce. `REWRITE=1 cargo test`
//! rewrites the expectations from the actual output, for review in the diff.
//!
//! Commands (`key=value` options; `s=` is the session, default 1; `auth=` a comma list of
//! `digest:user:pw` (hashed here), `ip:addr`, `super`; `acl=` a comma list of `scheme:id:perms`
//! with perms from `rwcda`, `digestpw:user:pw:perms` hashing the id; `data=null` is null data):
//!
//! - writes, each applied at the next zxid (or `zxid=`), at the clock (or `time=`):
//!   `open SID [timeout=] [passwd=]`, `close SID`, `create PATH [data=] [mode=|flags=] [ttl=]
//!   [acl=]`, `delete PATH [v=]`, `set PATH [data=] [v=]`, `setacl PATH acl= [v=]`,
//!   `check PATH [v=]`, `reap PATH` (DeleteContainer from session 0), and `multi` followed by
//!   sub-ops indented two spaces. Output: `ok [path]` or `err Code`, a failed multi's layout,
//!   then `trigger Kind path` lines.
//! - reads: `get`, `stat` (no ACL), `exists` (checked), `ls`, `getacl`, `count`, `ephemerals SID
//!   [prefix]`, `candidates [now=]`, `sessions`, `info`, `digest` (prints `#k`, the k-th
//!   distinct digest seen), and the settings `clock MS`, `extended on|off`, `quota on|off`
//!   (`enforceQuota`). A write that passed a quota limit also prints `quota soft|hard MESSAGE`.
//!
//! After every write the runner also checks what a transcript cannot show: the tree's
//! invariants, that a failed write left the digest unchanged, and that returned stats equal
//! what a read sees.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use corral_datatree::{digest_id, Applied, DataTree, OpResult, Txn, TxnOp};
use corral_jute::{create_flags, perms, Acl, Id, Stat};

struct Runner {
    tree: DataTree,
    clock_ms: i64,
    digests: Vec<u64>,
}

type Opts<'a> = HashMap<&'a str, &'a str>;

fn split(line: &str) -> (Vec<&str>, Opts<'_>) {
    let mut pos = Vec::new();
    let mut opts = HashMap::new();
    for tok in line.split_whitespace() {
        match tok.split_once('=') {
            Some((k, v)) => {
                opts.insert(k, v);
            }
            None => pos.push(tok),
        }
    }
    (pos, opts)
}

fn parse_perms(s: &str) -> i32 {
    s.chars()
        .map(|c| match c {
            'r' => perms::READ,
            'w' => perms::WRITE,
            'c' => perms::CREATE,
            'd' => perms::DELETE,
            'a' => perms::ADMIN,
            _ => panic!("bad perm {c}"),
        })
        .sum()
}

fn parse_acl(spec: &str) -> Vec<Acl> {
    if spec.is_empty() {
        return Vec::new();
    }
    spec.split(',')
        .map(|e| {
            let (rest, p) = e.rsplit_once(':').expect("scheme:id:perms");
            let (scheme, id) = rest.split_once(':').expect("scheme:id");
            let id = match scheme {
                "digestpw" => Id::new("digest", &digest_id(id)),
                _ => Id::new(scheme, id),
            };
            Acl {
                perms: parse_perms(p),
                id,
            }
        })
        .collect()
}

fn parse_auth(opts: &Opts<'_>) -> Vec<Id> {
    let Some(spec) = opts.get("auth") else {
        return Vec::new();
    };
    spec.split(',')
        .map(|a| match a.split_once(':') {
            _ if a == "super" => Id::new("super", ""),
            Some(("digest", up)) => Id::new("digest", &digest_id(up)),
            Some((scheme, id)) => Id::new(scheme, id),
            None => panic!("bad auth {a}"),
        })
        .collect()
}

fn parse_data(opts: &Opts<'_>) -> Option<Vec<u8>> {
    match opts.get("data") {
        Some(&"null") => None,
        Some(d) => Some(d.as_bytes().to_vec()),
        None => Some(Vec::new()),
    }
}

fn num<T: std::str::FromStr>(opts: &Opts<'_>, k: &str, default: T) -> T {
    opts.get(k).map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("bad {k}={v}"))
    })
}

fn fmt_stat(s: &Stat) -> String {
    format!(
        "czxid={} mzxid={} pzxid={} ctime={} mtime={} version={} cversion={} aversion={} owner={:#x} len={} children={}",
        s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion, s.ephemeral_owner, s.data_length, s.num_children
    )
}

fn fmt_acl(acl: &[Acl]) -> String {
    let letters = |p: i32| -> String {
        [
            (perms::READ, 'r'),
            (perms::WRITE, 'w'),
            (perms::CREATE, 'c'),
            (perms::DELETE, 'd'),
            (perms::ADMIN, 'a'),
        ]
        .iter()
        .filter(|(b, _)| p & b != 0)
        .map(|(_, c)| *c)
        .collect()
    };
    acl.iter()
        .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, letters(a.perms)))
        .collect::<Vec<_>>()
        .join(",")
}

fn write_op(cmd: &str, pos: &[&str], opts: &Opts<'_>) -> TxnOp {
    let path = || pos.get(1).expect("path").to_string();
    let version = || num(opts, "v", -1);
    match cmd {
        "open" => TxnOp::CreateSession {
            timeout_ms: num(opts, "timeout", 30000),
            passwd: opts.get("passwd").unwrap_or(&"pw").as_bytes().to_vec(),
        },
        "close" => TxnOp::CloseSession,
        "create" => {
            let flags = match opts.get("mode").copied() {
                None => num(opts, "flags", create_flags::PERSISTENT),
                Some("ephemeral") => create_flags::EPHEMERAL,
                Some("sequential") => create_flags::PERSISTENT_SEQUENTIAL,
                Some("ephemeral_sequential") => create_flags::EPHEMERAL_SEQUENTIAL,
                Some("container") => create_flags::CONTAINER,
                Some("ttl") => create_flags::PERSISTENT_WITH_TTL,
                Some("ttl_sequential") => create_flags::PERSISTENT_SEQUENTIAL_WITH_TTL,
                Some(m) => panic!("bad mode {m}"),
            };
            let acl = opts.get("acl").map_or_else(Acl::open, |a| parse_acl(a));
            TxnOp::Create {
                path: path(),
                data: parse_data(opts),
                acl,
                flags,
                ttl_ms: num(opts, "ttl", -1),
            }
        }
        "delete" => TxnOp::Delete {
            path: path(),
            version: version(),
        },
        "set" => TxnOp::SetData {
            path: path(),
            data: parse_data(opts),
            version: version(),
        },
        "setacl" => TxnOp::SetAcl {
            path: path(),
            acl: parse_acl(opts.get("acl").unwrap_or(&"")),
            version: version(),
        },
        "check" => TxnOp::Check {
            path: path(),
            version: version(),
        },
        "reap" => TxnOp::DeleteContainer { path: path() },
        _ => panic!("unknown command {cmd}"),
    }
}

fn fmt_result(r: &OpResult) -> String {
    match r {
        OpResult::Created { path, .. } => format!("ok {path}"),
        _ => "ok".to_string(),
    }
}

impl Runner {
    fn new() -> Runner {
        Runner {
            tree: DataTree::new(),
            clock_ms: 1000,
            digests: Vec::new(),
        }
    }

    /// Checks a returned stat against what a read sees now.
    fn check_stat(&self, r: &OpResult, txn: &TxnOp) {
        let path = match txn {
            TxnOp::SetData { path, .. } | TxnOp::SetAcl { path, .. } => path.as_str(),
            _ => "",
        };
        match r {
            OpResult::Created { path, stat } => assert_eq!(
                Some(stat.clone()),
                self.tree.exists(path),
                "create stat of {path}"
            ),
            OpResult::SetData { stat } | OpResult::SetAcl { stat } => {
                assert_eq!(Some(stat.clone()), self.tree.exists(path))
            }
            _ => {}
        }
    }

    fn apply(
        &mut self,
        cmd: &str,
        pos: &[&str],
        opts: &Opts<'_>,
        subs: &[String],
        out: &mut Vec<String>,
    ) {
        let op = if cmd == "multi" {
            TxnOp::Multi(
                subs.iter()
                    .map(|l| {
                        let (p, o) = split(l);
                        write_op(p[0], &p, &o)
                    })
                    .collect(),
            )
        } else {
            write_op(cmd, pos, opts)
        };
        let session_id = match cmd {
            "open" | "close" => pos[1].parse().expect("session id"),
            "reap" => 0,
            _ => num(opts, "s", 1),
        };
        let txn = Txn {
            session_id,
            time_ms: num(opts, "time", self.clock_ms),
            auth: parse_auth(opts),
            op: op.clone(),
        };
        let zxid = num(opts, "zxid", self.tree.last_zxid() + 1);
        let before = self.tree.digest();
        let applied: Applied = self.tree.apply(zxid, &txn);
        assert_eq!(applied.zxid, zxid);
        assert_eq!(self.tree.last_zxid(), zxid);
        self.tree.check_invariants();
        match &applied.result {
            Ok(OpResult::Multi(results)) => {
                for r in results {
                    let r = r.as_ref().expect("a successful multi has only Ok entries");
                    out.push(fmt_result(r));
                }
            }
            Ok(r) => {
                self.check_stat(r, &op);
                out.push(fmt_result(r));
            }
            Err(code) => {
                assert_eq!(
                    before,
                    self.tree.digest(),
                    "a failed write changed the tree"
                );
                assert!(applied.triggers.is_empty(), "a failed write fired triggers");
                if applied.multi_failure.is_empty() {
                    out.push(format!("err {code:?}"));
                } else {
                    let layout: Vec<String> = applied
                        .multi_failure
                        .iter()
                        .map(|c| format!("{c:?}"))
                        .collect();
                    out.push(format!("err {code:?} [{}]", layout.join(", ")));
                }
            }
        }
        assert!(applied.result.is_err() || applied.multi_failure.is_empty());
        for t in &applied.triggers {
            out.push(format!("trigger {:?} {}", t.kind, t.path));
        }
        for q in &applied.quota_exceeded {
            let kind = if q.hard { "hard" } else { "soft" };
            out.push(format!("quota {kind} {}", q.message));
        }
    }

    fn read(&mut self, cmd: &str, pos: &[&str], opts: &Opts<'_>, out: &mut Vec<String>) {
        let auth = parse_auth(opts);
        let path = pos.get(1).copied().unwrap_or("");
        let err = |c| format!("err {c:?}");
        let line = match cmd {
            "get" => match self.tree.get_data(path, &auth) {
                Ok((d, s)) => {
                    let d = d.map_or("null".to_string(), |d| {
                        format!("{:?}", String::from_utf8_lossy(d))
                    });
                    format!("{d} {}", fmt_stat(&s))
                }
                Err(c) => err(c),
            },
            "stat" => self
                .tree
                .exists(path)
                .map_or("none".to_string(), |s| fmt_stat(&s)),
            "exists" => match self.tree.exists_checked(path, &auth) {
                Ok(s) => s.map_or("none".to_string(), |s| fmt_stat(&s)),
                Err(c) => err(c),
            },
            "ls" => match self.tree.get_children(path, &auth) {
                Ok((c, _)) => format!("[{}]", c.join(", ")),
                Err(c) => err(c),
            },
            "getacl" => match self.tree.get_acl(path, &auth) {
                Ok((a, s)) => format!("{} aversion={}", fmt_acl(&a), s.aversion),
                Err(c) => err(c),
            },
            "count" => match self.tree.get_all_children_number(path, &auth) {
                Ok(n) => n.to_string(),
                Err(c) => err(c),
            },
            "ephemerals" => {
                let sid = path.parse().expect("session id");
                format!(
                    "[{}]",
                    self.tree
                        .get_ephemerals(sid, pos.get(2).copied().unwrap_or(""))
                        .join(", ")
                )
            }
            "candidates" => format!(
                "[{}]",
                self.tree
                    .expirable_nodes(num(opts, "now", self.clock_ms))
                    .join(", ")
            ),
            "sessions" => {
                let ids = self.tree.session_ids();
                let s: Vec<String> = ids
                    .iter()
                    .map(|i| format!("{i}:{}", self.tree.session(*i).expect("listed").timeout_ms))
                    .collect();
                format!("[{}]", s.join(", "))
            }
            "info" => format!(
                "nodes={} size={} ephemerals={} zxid={}",
                self.tree.node_count(),
                self.tree.approximate_data_size(),
                self.tree.ephemeral_count(),
                self.tree.last_zxid()
            ),
            "digest" => {
                let d = self.tree.digest();
                let k = match self.digests.iter().position(|x| *x == d) {
                    Some(k) => k,
                    None => {
                        self.digests.push(d);
                        self.digests.len() - 1
                    }
                };
                format!("#{k}")
            }
            "extended" => {
                self.tree.set_extended_types_enabled(path == "on");
                return;
            }
            "quota" => {
                self.tree.set_enforce_quota(path == "on");
                return;
            }
            "clock" => {
                self.clock_ms = path.parse().expect("clock ms");
                return;
            }
            _ => panic!("unknown command {cmd}"),
        };
        out.push(line);
    }
}

const READS: [&str; 14] = [
    "get",
    "stat",
    "exists",
    "ls",
    "getacl",
    "count",
    "ephemerals",
    "candidates",
    "sessions",
    "info",
    "digest",
    "clock",
    "extended",
    "quota",
];

/// Runs one transcript; returns the file as it should read (commands with actual outputs) and
/// the final tree digest.
fn run(text: &str) -> (String, u64) {
    let mut r = Runner::new();
    let mut rewritten = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with('>') {
            continue; // expectations are regenerated below
        }
        rewritten.push_str(line);
        rewritten.push('\n');
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("  ") {
            continue;
        }
        let (pos, opts) = split(line);
        let mut subs = Vec::new();
        while i < lines.len() && lines[i].starts_with("  ") {
            subs.push(lines[i].trim().to_string());
            rewritten.push_str(lines[i]);
            rewritten.push('\n');
            i += 1;
        }
        let mut out = Vec::new();
        if READS.contains(&pos[0]) {
            r.read(pos[0], &pos, &opts, &mut out);
        } else {
            r.apply(pos[0], &pos, &opts, &subs, &mut out);
        }
        for o in out {
            rewritten.push_str("> ");
            rewritten.push_str(&o);
            rewritten.push('\n');
        }
    }
    (rewritten, r.tree.digest())
}

#[test]
fn transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    let rewrite = std::env::var_os("REWRITE").is_some();
    let mut failed = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read transcript");
        let (actual, digest) = run(&text);
        // A second replica applying the same log must end with the same digest.
        assert_eq!(run(&text).1, digest, "{} is not deterministic", f.display());
        if actual != text {
            if rewrite {
                fs::write(f, &actual).expect("rewrite transcript");
            } else {
                let name = f
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                eprintln!("--- {name}: expected vs actual");
                for (a, b) in text.lines().zip(actual.lines()).filter(|(a, b)| a != b) {
                    eprintln!("  expected: {a}\n  actual:   {b}");
                }
                if text.lines().count() != actual.lines().count() {
                    eprintln!(
                        "  (line counts differ: {} vs {})",
                        text.lines().count(),
                        actual.lines().count()
                    );
                }
                failed.push(name);
            }
        }
    }
    assert!(
        failed.is_empty(),
        "transcripts differ: {failed:?} (REWRITE=1 to regenerate, then review)"
    );
}

#[test]
fn digest_tells_different_trees_apart() {
    let (_, a) = run("open 1\ncreate /a data=x\n");
    let (_, b) = run("open 1\ncreate /a data=y\n");
    let (_, c) = run("open 1\ncreate /a data=null\n");
    let (_, d) = run("open 1\ncreate /a data=x acl=world:anyone:r\n");
    let (_, e) = run("open 1\ncreate /b data=x\n");
    let all = [a, b, c, d, e];
    for i in 0..all.len() {
        for j in i + 1..all.len() {
            assert_ne!(all[i], all[j], "trees {i} and {j}");
        }
    }
}
