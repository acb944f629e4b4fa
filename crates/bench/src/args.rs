//! The command line of `corral bench`: flags into a [`Config`], with every limit checked.

use std::time::Duration;

use crate::workload::{Workload, MULTI_BATCH};

pub const USAGE: &str = "\
usage: corral bench [--servers HOST:PORT[,HOST:PORT...]] [--workload KIND] [--clients N]
                    [--depth D] [--duration S | --ops N] [--warmup S] [--value-size B]
                    [--keys K] [--batch B] [--threads T]
       corral bench --workload election [--contenders K] [--groups G] [--handoffs N]

  --servers     connect string of the server under test (default 127.0.0.1:2181)
  --workload    create | set | get | exists | mixed (90% get, 10% set) | children
                (getChildren of a znode with 100 children) | ephemeral-seq (create an
                ephemeral sequential znode, then delete it: one op) | multi (a multi of
                --batch creates, default 10) | watch | churn | election; default set
  --clients     sessions, each on its own connection (default 1)
  --depth       requests in flight per session (default 1)
  --duration    seconds measured (default 10); with --ops, the most the run may take
                (default 300)
  --ops         stop after this many measured requests
  --warmup      seconds of load before measuring (default 1)
  --value-size  bytes written by create and set (default 100)
  --keys        znodes that set, get, exists and mixed spread over (default 1000)
  --batch       create, multi: each request is a multi of B creates (default 1 for
                create: a plain create; 10 for multi)
  --threads     threads of the bench's own runtime (default 1: the server keeps the rest)

watch: every one of --clients sessions sets a data watch on one znode (getData), then one
more session changes it; an op is one such round, its latency the time from the setData
sent until the last session has its event. --depth must be 1.
churn: each of --clients workers opens a session and closes it, again and again; an op is
one session opened and closed. --depth must be 1.

election: K sessions contend (corral-recipes LeaderLatch on one path, or with --groups G a
GroupedElection over G groups); N times the leader's session is closed and the time until
a successor's handle leads is measured; the closed contender rejoins with a new session.
  --contenders  sessions contending (default 10, at least 2)
  --groups      partitioned election over G groups (default: flat, one LeaderLatch path)
  --handoffs    leader sessions closed and measured (default 20)
  --duration    with election: the most the whole run may take (default 900)

Prints a table and one JSON line per run. Exits 1 if the run failed or any request erred.
";

/// Longest run or warm-up accepted, so that every run ends.
pub const MAX_SECONDS: u64 = 3600;
/// Time limit of an `--ops` run without `--duration`.
const OPS_RUN_LIMIT_SECONDS: u64 = 300;
/// Time limit of an election run without `--duration`.
const ELECTION_LIMIT_SECONDS: u64 = 900;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub servers: String,
    pub workload: Workload,
    pub clients: usize,
    pub depth: usize,
    /// How long to measure; with `ops`, the time limit of the run.
    pub duration: Duration,
    pub ops: Option<u64>,
    pub warmup: Duration,
    pub value_size: usize,
    pub keys: usize,
    /// Creates per request of the `create` workload (a `multi` when more than one).
    pub batch: usize,
    pub threads: usize,
    /// Election: contending sessions.
    pub contenders: usize,
    /// Election: groups of a partitioned election; 0 for a flat one.
    pub groups: u32,
    /// Election: leaders closed and measured.
    pub handoffs: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            servers: "127.0.0.1:2181".to_string(),
            workload: Workload::Set,
            clients: 1,
            depth: 1,
            duration: Duration::from_secs(10),
            ops: None,
            warmup: Duration::from_secs(1),
            value_size: 100,
            keys: 1000,
            batch: 1,
            threads: 1,
            contenders: 10,
            groups: 0,
            handoffs: 20,
        }
    }
}

/// Parses the flags after `corral bench`. `Ok(None)` means help was asked for.
pub fn parse(args: &[String]) -> Result<Option<Config>, String> {
    let mut c = Config::default();
    let mut duration_given = false;
    let mut batch_given = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(None);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--servers" => c.servers = value.to_string(),
            "--workload" => c.workload = value.parse()?,
            "--clients" => c.clients = number(flag, value, 1, 10_000)? as usize,
            "--depth" => c.depth = number(flag, value, 1, 10_000)? as usize,
            "--duration" => {
                c.duration = Duration::from_secs(number(flag, value, 1, MAX_SECONDS)?);
                duration_given = true;
            }
            "--ops" => c.ops = Some(number(flag, value, 1, u64::MAX)?),
            "--warmup" => c.warmup = Duration::from_secs(number(flag, value, 0, MAX_SECONDS)?),
            "--value-size" => c.value_size = number(flag, value, 0, 1 << 20)? as usize,
            "--keys" => c.keys = number(flag, value, 1, 10_000_000)? as usize,
            "--batch" => {
                c.batch = number(flag, value, 1, 1000)? as usize;
                batch_given = true;
            }
            "--threads" => c.threads = number(flag, value, 1, 64)? as usize,
            "--contenders" => c.contenders = number(flag, value, 2, 100_000)? as usize,
            "--groups" => c.groups = number(flag, value, 1, 100_000)? as u32,
            "--handoffs" => c.handoffs = number(flag, value, 1, 100_000)? as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if c.ops.is_some() && !duration_given {
        c.duration = Duration::from_secs(OPS_RUN_LIMIT_SECONDS);
    }
    if c.workload == Workload::Election && !duration_given {
        c.duration = Duration::from_secs(ELECTION_LIMIT_SECONDS);
    }
    if c.groups > 0 && c.workload != Workload::Election {
        return Err("--groups is for the election workload".to_string());
    }
    if c.batch > 1 && !matches!(c.workload, Workload::Create | Workload::Multi) {
        return Err("--batch is for the create and multi workloads".to_string());
    }
    if c.workload == Workload::Multi && !batch_given {
        c.batch = MULTI_BATCH;
    }
    if c.depth > 1 && matches!(c.workload, Workload::Watch | Workload::Churn) {
        return Err(format!(
            "--depth is 1 for the {} workload",
            c.workload.name()
        ));
    }
    if c.servers.is_empty() {
        return Err("--servers is empty".to_string());
    }
    Ok(Some(c))
}

fn number(flag: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} takes a whole number from {min} to {max}, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults() {
        assert_eq!(parse(&[]).unwrap(), Some(Config::default()));
    }

    #[test]
    fn every_flag() {
        let c = parse(&args(
            "--servers 127.0.0.1:2182 --workload mixed --clients 16 --depth 8 --duration 5 \
             --warmup 2 --value-size 10 --keys 50 --threads 2",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            c,
            Config {
                servers: "127.0.0.1:2182".into(),
                workload: Workload::Mixed,
                clients: 16,
                depth: 8,
                duration: Duration::from_secs(5),
                ops: None,
                warmup: Duration::from_secs(2),
                value_size: 10,
                keys: 50,
                batch: 1,
                threads: 2,
                contenders: 10,
                groups: 0,
                handoffs: 20,
            }
        );
        let c = parse(&args("--workload create --batch 100"))
            .unwrap()
            .unwrap();
        assert_eq!(c.batch, 100);
        let c = parse(&args("--workload multi")).unwrap().unwrap();
        assert_eq!(c.batch, MULTI_BATCH);
        let c = parse(&args("--workload multi --batch 3")).unwrap().unwrap();
        assert_eq!(c.batch, 3);
    }

    #[test]
    fn ops_runs_are_bounded() {
        let c = parse(&args("--ops 1000")).unwrap().unwrap();
        assert_eq!(c.ops, Some(1000));
        assert_eq!(c.duration, Duration::from_secs(OPS_RUN_LIMIT_SECONDS));
        let c = parse(&args("--duration 7 --ops 10")).unwrap().unwrap();
        assert_eq!(c.duration, Duration::from_secs(7));
    }

    #[test]
    fn election() {
        let c = parse(&args(
            "--workload election --contenders 10000 --groups 100 --handoffs 5",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.workload, Workload::Election);
        assert_eq!((c.contenders, c.groups, c.handoffs), (10_000, 100, 5));
        assert_eq!(c.duration, Duration::from_secs(ELECTION_LIMIT_SECONDS));
        let c = parse(&args("--workload election --duration 60"))
            .unwrap()
            .unwrap();
        assert_eq!((c.contenders, c.groups), (10, 0));
        assert_eq!(c.duration, Duration::from_secs(60));
    }

    #[test]
    fn help() {
        assert_eq!(parse(&args("--help")).unwrap(), None);
    }

    #[test]
    fn refusals() {
        for bad in [
            "--clients 0",
            "--clients x",
            "--depth -1",
            "--duration 0",
            "--duration 100000",
            "--workload delete",
            "--bogus 1",
            "--ops",
            "--servers",
            "--batch 5",
            "--workload create --batch 1001",
            "--workload election --contenders 1",
            "--workload election --groups 0",
            "--workload election --handoffs 0",
            "--groups 4",
            "--workload get --batch 2",
            "--workload watch --depth 2",
            "--workload churn --depth 4",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad} accepted");
        }
        assert!(parse(&["--servers".into(), String::new()]).is_err());
    }
}
