//! zkCli.sh's quota commands (3.8's `SetQuotaCommand`, `ListQuotaCommand`,
//! `DelQuotaCommand`): the same client-side steps (which nodes under `/zookeeper/quota` are
//! created, written and deleted, in which order) and the same lines on stdout and stderr. The
//! server keeps the usage; these commands only write limits and read them back.

use corral_client::{Acl, CreateMode, Error};
use corral_datatree::quota::{limit_path, stat_path, StatsTrack, LIMIT_NODE, QUOTA_ROOT};

use super::args::CliError;
use super::commands::{child_path, Conn};
use super::output::validate_path;

/// The one flag group of setquota and delquota: commons-cli's `OptionGroup`, in its order.
const QUOTA_FLAGS: [(&str, &str); 4] = [
    ("n", "num soft quota"),
    ("b", "bytes soft quota"),
    ("N", "num hard quota"),
    ("B", "bytes hard quota"),
];

/// The group's flags in the order the words give them (an `OptionGroup` admits one).
fn group_flags(words: &[String]) -> Vec<&'static str> {
    let mut seen = Vec::new();
    for w in words.iter().skip(1) {
        if w == "--" {
            break;
        }
        let Some(rest) = w.strip_prefix('-') else {
            continue;
        };
        if let Some((f, _)) = QUOTA_FLAGS.iter().find(|(f, _)| rest.starts_with(f)) {
            seen.push(*f);
        }
    }
    seen
}

/// commons-cli's `AlreadySelectedException` for a second flag of the group.
fn one_of_group(words: &[String]) -> Result<Option<&'static str>, CliError> {
    let flags = group_flags(words);
    match flags.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, second, ..] => Err(CliError::new(format!(
            "org.apache.commons.cli.AlreadySelectedException: The option '{second}' was specified but an option from this group has already \
             been selected: '{first}'"
        ))),
    }
}

fn keeper(e: Error, path: &str) -> CliError {
    super::output::keeper_error(&e, Some(path))
}

fn on(path: &str) -> impl FnOnce(Error) -> CliError + '_ {
    move |e| keeper(e, path)
}

impl Conn {
    pub(super) async fn setquota(&self, words: &[String]) -> Result<(), CliError> {
        let spec: Vec<_> = QUOTA_FLAGS.iter().map(|(f, _)| (*f, true)).collect();
        let p = super::args::parse(words, &spec)?;
        let Some(flag) = one_of_group(words)? else {
            let group: Vec<String> = QUOTA_FLAGS
                .iter()
                .map(|(f, d)| format!("-{f} {d}"))
                .collect();
            return Err(CliError::new(format!(
                "org.apache.commons.cli.MissingOptionException: Missing required option: [{}]",
                group.join(", ")
            )));
        };
        if p.args.len() < 2 {
            return Err(CliError::new(super::commands::usage_of("setquota")));
        }
        let path = p.args[1].as_str();
        if path.starts_with(QUOTA_ROOT) {
            errln!("cannot set a quota under the path: {QUOTA_ROOT}");
            return Ok(());
        }
        let mut quota = StatsTrack::default();
        quota.set_count(-1);
        quota.set_bytes(-1);
        quota.set_count_hard_limit(-1);
        quota.set_byte_hard_limit(-1);
        let value = p.value(flag).unwrap_or_default();
        // Counts are Java ints, bytes longs: a value out of range is a NumberFormatException.
        let parsed: Option<i64> = if flag.eq_ignore_ascii_case("n") {
            value.parse::<i32>().ok().map(i64::from)
        } else {
            value.parse::<i64>().ok()
        };
        let Some(v) = parsed else {
            errln!("NumberFormatException happens when parsing the option value");
            return Ok(());
        };
        match flag {
            "n" | "N" if v <= 0 => {
                errln!("the num quota must be greater than zero");
                return Ok(());
            }
            "b" | "B" if v < 0 => {
                errln!("the bytes quota must be greater than or equal to zero");
                return Ok(());
            }
            "n" => quota.set_count(v),
            "b" => quota.set_bytes(v),
            "N" => quota.set_count_hard_limit(v),
            _ => quota.set_byte_hard_limit(v),
        }
        validate_path(path, false)?;
        self.create_quota(path, &quota).await
    }

    /// `SetQuotaCommand.createQuota`.
    async fn create_quota(&self, path: &str, quota: &StatsTrack) -> Result<(), CliError> {
        let c = &self.client;
        if c.exists(path).await.map_err(|e| keeper(e, path))?.is_none() {
            return Err(CliError::new(format!("{path} does not exist.")));
        }
        self.check_no_child_quota(path).await?;
        self.check_no_parent_quota(path).await?;
        let mut quota_path = QUOTA_ROOT.to_string();
        for part in path.split('/').filter(|s| !s.is_empty()) {
            quota_path = format!("{quota_path}/{part}");
            if c.exists(&quota_path)
                .await
                .map_err(|e| keeper(e, &quota_path))?
                .is_none()
            {
                match c
                    .create_nullable(&quota_path, None, &Acl::open(), CreateMode::Persistent)
                    .await
                {
                    Ok(_) | Err(Error::NodeExists) => {}
                    Err(e) => return Err(keeper(e, &quota_path)),
                }
            }
        }
        let (limits, stats) = (limit_path(path), stat_path(path));
        let read = |p: String| async move {
            c.get_data(&p)
                .await
                .map(|(d, _)| StatsTrack::parse(&d))
                .map_err(|e| keeper(e, &p))
        };
        if c.exists(&limits)
            .await
            .map_err(|e| keeper(e, &limits))?
            .is_none()
        {
            let data = quota.format();
            c.create(
                &limits,
                data.as_bytes(),
                &Acl::open(),
                CreateMode::Persistent,
            )
            .await
            .map_err(|e| keeper(e, &limits))?;
            let mut zero = StatsTrack::default();
            zero.set_count(0);
            zero.set_bytes(0);
            c.create(
                &stats,
                zero.format().as_bytes(),
                &Acl::open(),
                CreateMode::Persistent,
            )
            .await
            .map_err(|e| keeper(e, &stats))?;
            warn_if_below(&read(limits).await?, &read(stats).await?);
        } else {
            let mut merged = read(limits.clone()).await?;
            let keep = |v: i64, set: &mut dyn FnMut(i64)| {
                if v > -1 {
                    set(v)
                }
            };
            keep(quota.count(), &mut |v| merged.set_count(v));
            keep(quota.bytes(), &mut |v| merged.set_bytes(v));
            keep(quota.count_hard_limit(), &mut |v| {
                merged.set_count_hard_limit(v)
            });
            keep(quota.byte_hard_limit(), &mut |v| {
                merged.set_byte_hard_limit(v)
            });
            warn_if_below(&merged, &read(stats).await?);
            c.set_data(&limits, merged.format().as_bytes(), None)
                .await
                .map_err(|e| keeper(e, &limits))?;
        }
        Ok(())
    }

    /// `checkIfChildQuota`: no path below `path` may have a quota already.
    async fn check_no_child_quota(&self, path: &str) -> Result<(), CliError> {
        let own = format!("{QUOTA_ROOT}{path}");
        let mut stack = vec![own.clone()];
        while let Some(q) = stack.pop() {
            let children = match self.client.get_children(&q).await {
                Ok(c) => c,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(keeper(e, &q)),
            };
            if q != own && children.iter().any(|c| c == LIMIT_NODE) {
                let below = &q[QUOTA_ROOT.len()..];
                return Err(CliError::new(format!(
                    "{path} has a child {below} which has a quota"
                )));
            }
            stack.extend(children.iter().map(|c| child_path(&q, c)));
        }
        Ok(())
    }

    /// `checkIfParentQuota`: no path above `path` may have a quota already.
    async fn check_no_parent_quota(&self, path: &str) -> Result<(), CliError> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut q = QUOTA_ROOT.to_string();
        for part in parts.iter().take(parts.len().saturating_sub(1)).skip(1) {
            q = format!("{q}/{part}");
            let children = match self.client.get_children(&q).await {
                Ok(c) => c,
                Err(Error::NoNode) => return Ok(()),
                Err(e) => return Err(keeper(e, &q)),
            };
            if children.is_empty() {
                return Ok(());
            }
            if children.iter().any(|c| c == LIMIT_NODE) {
                let above = &q[QUOTA_ROOT.len()..];
                return Err(CliError::new(format!(
                    "{path} has a parent {above} which has a quota"
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn listquota(&self, words: &[String]) -> Result<(), CliError> {
        let p = super::args::parse(words, &[])?;
        if p.args.len() < 2 {
            return Err(CliError::new(super::commands::usage_of("listquota")));
        }
        let path = p.args[1].as_str();
        let limits = limit_path(path);
        errln!("absolute path is {limits}");
        for (label, node) in [("quota", limits), ("stat", stat_path(path))] {
            match self.client.get_data(&node).await {
                Ok((data, _)) => {
                    println!(
                        "Output {label} for {path} {}",
                        StatsTrack::parse(&data).format()
                    )
                }
                Err(Error::NoNode) => {
                    errln!("quota for {path} does not exist.");
                    return Ok(());
                }
                Err(e) => return Err(keeper(e, &node)),
            }
        }
        Ok(())
    }

    pub(super) async fn delquota(&self, words: &[String]) -> Result<(), CliError> {
        let spec: Vec<_> = QUOTA_FLAGS.iter().map(|(f, _)| (*f, false)).collect();
        let p = super::args::parse(words, &spec)?;
        let flag = one_of_group(words)?;
        if p.args.len() < 2 {
            return Err(CliError::new(super::commands::usage_of("delquota")));
        }
        let path = p.args[1].as_str();
        let c = &self.client;
        let limits = limit_path(path);
        if c.exists(&limits)
            .await
            .map_err(|e| keeper(e, &limits))?
            .is_none()
        {
            println!("Quota does not exist for {path}");
            return Ok(());
        }
        let mut track = match c.get_data(&limits).await {
            Ok((d, _)) => StatsTrack::parse(&d),
            Err(Error::NoNode) => {
                errln!("quota for {path} does not exist.");
                return Ok(());
            }
            Err(e) => return Err(keeper(e, &limits)),
        };
        let Some(flag) = flag else {
            return self.delete_quota_nodes(path).await;
        };
        match flag {
            "n" => track.set_count(-1),
            "b" => track.set_bytes(-1),
            "N" => track.set_count_hard_limit(-1),
            _ => track.set_byte_hard_limit(-1),
        }
        c.set_data(&limits, track.format().as_bytes(), None)
            .await
            .map(drop)
            .map_err(|e| keeper(e, &limits))
    }

    /// `delQuota` without a flag: the quota node's children, then the quota node and every
    /// ancestor left empty, up to `/zookeeper/quota` (`trimProcQuotas`).
    async fn delete_quota_nodes(&self, path: &str) -> Result<(), CliError> {
        let c = &self.client;
        let node = format!("{QUOTA_ROOT}{path}");
        for child in c.get_children(&node).await.map_err(on(&node))? {
            let p = child_path(&node, &child);
            c.delete(&p, None).await.map_err(on(&p))?;
        }
        let mut q = node;
        while q != QUOTA_ROOT {
            if !c.get_children(&q).await.map_err(on(&q))?.is_empty() {
                break;
            }
            c.delete(&q, None).await.map_err(on(&q))?;
            q.truncate(q.rfind('/').unwrap_or(0));
        }
        Ok(())
    }
}

/// `SetQuotaCommand.checkQuota`: a limit already below the usage is set, with a warning.
fn warn_if_below(quota: &StatsTrack, usage: &StatsTrack) {
    let below =
        |soft: i64, hard: i64, used: i64| (soft > -1 && soft < used) || (hard > -1 && hard < used);
    if below(quota.count(), quota.count_hard_limit(), usage.count()) {
        println!(
            "[Warning]: the count quota you create is less than the existing count:{}",
            usage.count()
        );
    }
    if below(quota.bytes(), quota.byte_hard_limit(), usage.bytes()) {
        println!(
            "[Warning]: the bytes quota you create is less than the existing bytes:{}",
            usage.bytes()
        );
    }
}
