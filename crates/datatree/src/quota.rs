//! Quotas as ZooKeeper 3.8 keeps them in the tree (`Quotas`, `StatsTrack`, `DataTree`'s
//! `pTrie`, `updateQuotaStat`, `updateQuotaForPath`, `ZooKeeperServer.checkQuota`).
//!
//! A quota on `/a` is two nodes: `/zookeeper/quota/a/zookeeper_limits` (the limits a client
//! wrote, `count=..,bytes=..` plus optional `countHardLimit`/`byteHardLimit`) and
//! `/zookeeper/quota/a/zookeeper_stats` (the usage, which the tree itself keeps: every create,
//! delete and setData under `/a` rewrites it).
//!
//! Invariants kept:
//! - `quota_paths` holds exactly the real paths whose limit node exists; it is maintained by
//!   the insert/remove primitives, so a multi's rollback and a snapshot restore keep it.
//! - usage updates go through `set_node_data` with the stat left alone (ZooKeeper changes the
//!   stats node's bytes in place: its version and mzxid do not move), so the undo log and the
//!   digest see them, and every replica applying the same Txns holds the same bytes.
//! - the hard-limit check runs inside `apply` (ZooKeeper runs it in prep against the
//!   committed tree), so a replica replaying the log reaches the same verdict.

use std::collections::BTreeMap;

use crate::tree::DataTree;

/// `Quotas.quotaZookeeper`.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// `Quotas.limitNode`.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// `Quotas.statNode`.
pub const STAT_NODE: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD: &str = "countHardLimit";
const BYTES_HARD: &str = "byteHardLimit";

/// `StatsTrack`: named numbers, -1 when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    stats: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// `new StatsTrack(String)`: pairs split on runs of `,` or `;`, each `key=value` (an empty
    /// value is -1). Where Java would throw on a malformed pair (no `=`, not a number), the
    /// pair is skipped: a client can write anything into these nodes, and applying a Txn
    /// must never fail on it.
    pub fn parse(data: &[u8]) -> StatsTrack {
        let text = String::from_utf8_lossy(data);
        let mut stats = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            // Java's `split("=")` drops trailing empty strings: "bytes=5=" is ["bytes", "5"].
            let mut parts = pair.split('=');
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let value = if value.is_empty() {
                Some(-1)
            } else {
                value.parse::<i64>().ok()
            };
            if let Some(v) = value {
                stats.insert(key.to_string(), v);
            }
        }
        StatsTrack { stats }
    }

    fn get(&self, key: &str) -> i64 {
        self.stats.get(key).copied().unwrap_or(-1)
    }

    fn set(&mut self, key: &str, value: i64) {
        self.stats.insert(key.to_string(), value);
    }

    pub fn count(&self) -> i64 {
        self.get(COUNT)
    }
    pub fn bytes(&self) -> i64 {
        self.get(BYTES)
    }
    pub fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD)
    }
    pub fn byte_hard_limit(&self) -> i64 {
        self.get(BYTES_HARD)
    }
    pub fn set_count(&mut self, v: i64) {
        self.set(COUNT, v)
    }
    pub fn set_bytes(&mut self, v: i64) {
        self.set(BYTES, v)
    }
    pub fn set_count_hard_limit(&mut self, v: i64) {
        self.set(COUNT_HARD, v)
    }
    pub fn set_byte_hard_limit(&mut self, v: i64) {
        self.set(BYTES_HARD, v)
    }

    /// `StatsTrack.toString`: `count` and `bytes` first; any other key follows after an
    /// extra `=` (which old parsers ignore), sorted, each after a `;`.
    pub fn format(&self) -> String {
        let mut s = format!("{COUNT}={},{BYTES}={}", self.count(), self.bytes());
        let mut extra = self
            .stats
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .peekable();
        if extra.peek().is_some() {
            s.push('=');
            for (k, v) in extra {
                s.push_str(&format!(";{k}={v}"));
            }
        }
        s
    }
}

/// `Quotas.limitPath`.
pub fn limit_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{LIMIT_NODE}")
}

/// `Quotas.statPath`.
pub fn stat_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{STAT_NODE}")
}

/// `PathUtils.getTopNamespace`: `/a/b` -> `a`; the root has none.
pub fn top_namespace(path: &str) -> Option<&str> {
    path.split('/').nth(1).filter(|s| !s.is_empty())
}

/// If `path` is a quota node named `leaf` (`/zookeeper/quota/<real>/<leaf>`), its real path.
pub(crate) fn quota_node_target<'a>(path: &'a str, leaf: &str) -> Option<&'a str> {
    let real = path
        .strip_prefix(QUOTA_ROOT)?
        .strip_suffix(leaf)?
        .strip_suffix('/')?;
    (real.starts_with('/') && real.len() > 1).then_some(real)
}

/// A quota check that found a limit passed: ZooKeeper logs each (rate limited) and counts
/// the hard ones in `quota_exceeded_error_per_namespace`. `apply` returns them for the
/// server to log and count, since the tree has no logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// ZooKeeper's log text: `Quota exceeded: /a [current count=3, softCountLimit=2]`.
    pub message: String,
    /// Whether the write was refused (`QuotaExceeded`) rather than only warned about.
    pub hard: bool,
    /// The top namespace of the written path.
    pub namespace: Option<String>,
}

impl DataTree {
    /// `zookeeper.enforceQuota`: whether creates and setData past a limit are checked.
    pub fn enforce_quota(&self) -> bool {
        self.enforce_quota
    }

    pub fn set_enforce_quota(&mut self, enforce: bool) {
        self.enforce_quota = enforce;
    }

    /// Called by the insert/remove primitives: a limit node appearing or going away adds or
    /// removes its real path from the quota index (`pTrie.addPath` / `deletePath`).
    pub(crate) fn index_quota_node(&mut self, path: &str, added: bool) {
        if let Some(real) = quota_node_target(path, LIMIT_NODE) {
            if added {
                self.quota_paths.insert(real.to_string());
            } else {
                self.quota_paths.remove(real);
            }
        }
    }

    /// `getMaxPrefixWithQuota`: the deepest path at or above `path` that has a quota; the
    /// root never counts.
    pub fn max_prefix_with_quota(&self, path: &str) -> Option<String> {
        if self.quota_paths.is_empty() {
            return None;
        }
        let mut candidate = path;
        while candidate.len() > 1 {
            if self.quota_paths.contains(candidate) {
                return Some(candidate.to_string());
            }
            candidate = &candidate[..candidate.rfind('/')?];
        }
        None
    }

    /// `updateQuotaStat`: adds to the usage of the quota at `prefix`.
    pub(crate) fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat = stat_path(prefix);
        let Some(node) = self.nodes.get(stat.as_str()) else {
            return; // ZooKeeper logs "Missing node for stat" and goes on
        };
        let mut track = StatsTrack::parse(node.data().unwrap_or_default());
        track.set_count(track.count() + count_diff);
        track.set_bytes(track.bytes() + bytes_diff);
        self.set_node_data(&stat, Some(track.format().into_bytes()), |_| {});
    }

    /// `updateQuotaForPath`, run when a stats node is created: its data becomes the count and
    /// bytes of the subtree at `real` as it is now.
    pub(crate) fn recount_quota(&mut self, stat_node: &str) {
        let Some(real) = quota_node_target(stat_node, STAT_NODE) else {
            return;
        };
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack = vec![real.to_string()];
        while let Some(p) = stack.pop() {
            let Some(node) = self.nodes.get(p.as_str()) else {
                continue;
            };
            count += 1;
            bytes += node.data_len() as i64;
            stack.extend(node.children().iter().map(|c| format!("{p}/{c}")));
        }
        let mut track = StatsTrack::default();
        track.set_count(count);
        track.set_bytes(bytes);
        self.set_node_data(stat_node, Some(track.format().into_bytes()), |_| {});
    }

    /// `setupQuota`: every quota's stats node recounted from the tree, as ZooKeeper does when
    /// it loads a snapshot. For trees made outside the log (import); a tree built by `apply`
    /// keeps its usage exact.
    pub fn recount_quotas(&mut self) {
        let paths: Vec<String> = self.quota_paths.iter().cloned().collect();
        for real in paths {
            let stat = stat_path(&real);
            if self.nodes.contains_key(stat.as_str()) {
                self.recount_quota(&stat);
            }
        }
    }

    /// `QuotaMetricsUtils`: per top namespace, the sums of the limits (a hard limit where set,
    /// else the soft one) and of the usage, over the limit and stats leaves under
    /// `/zookeeper/quota`: `[count limit, bytes limit, count usage, bytes usage]`.
    pub fn quota_per_namespace(&self) -> [BTreeMap<String, i64>; 4] {
        let mut sums: [BTreeMap<String, i64>; 4] = Default::default();
        let mut stack = vec![QUOTA_ROOT.to_string()];
        while let Some(path) = stack.pop() {
            let Some(node) = self.nodes.get(path.as_str()) else {
                continue;
            };
            if !node.children().is_empty() {
                stack.extend(node.children().iter().map(|c| format!("{path}/{c}")));
                continue;
            }
            let (is_limit, is_stat) = (
                quota_node_target(&path, LIMIT_NODE),
                quota_node_target(&path, STAT_NODE),
            );
            let Some(real) = is_limit.or(is_stat) else {
                continue;
            };
            let (Some(ns), Some(data)) = (top_namespace(real), node.data()) else {
                continue;
            };
            let t = StatsTrack::parse(data);
            let hard_or_soft = |hard: i64, soft: i64| if hard > -1 { hard } else { soft };
            let figures = if is_limit.is_some() {
                [
                    (0, hard_or_soft(t.count_hard_limit(), t.count())),
                    (1, hard_or_soft(t.byte_hard_limit(), t.bytes())),
                ]
            } else {
                [(2, t.count()), (3, t.bytes())]
            };
            for (i, v) in figures {
                *sums[i].entry(ns.to_string()).or_insert(0) += v;
            }
        }
        sums
    }

    /// `ZooKeeperServer.checkQuota` for a write at `path` that adds `count_diff` nodes and
    /// `bytes_diff` bytes: `Err` with the note when a hard limit would be passed; soft limits
    /// passed are pushed to `notes` and the write goes on. Nothing is checked unless
    /// `enforce_quota`, as in ZooKeeper.
    pub(crate) fn check_quota(
        &self,
        path: &str,
        bytes_diff: i64,
        count_diff: i64,
        notes: &mut Vec<QuotaExceeded>,
    ) -> Result<(), ()> {
        if !self.enforce_quota {
            return Ok(());
        }
        let Some(prefix) = self.max_prefix_with_quota(path) else {
            return Ok(());
        };
        let Some(limit) = self.nodes.get(limit_path(&prefix).as_str()) else {
            return Ok(());
        };
        let limit = StatsTrack::parse(limit.data().unwrap_or_default());
        let check_count = count_diff != 0 && (limit.count() > -1 || limit.count_hard_limit() > -1);
        let check_bytes = bytes_diff != 0 && (limit.bytes() > -1 || limit.byte_hard_limit() > -1);
        if !check_count && !check_bytes {
            return Ok(());
        }
        let Some(usage) = self.nodes.get(stat_path(&prefix).as_str()) else {
            return Ok(());
        };
        let usage = StatsTrack::parse(usage.data().unwrap_or_default());
        let namespace = top_namespace(path).map(str::to_string);
        let checks = [
            (
                check_count,
                "count",
                "Count",
                usage.count() + count_diff,
                limit.count_hard_limit(),
                limit.count(),
            ),
            (
                check_bytes,
                "bytes",
                "Byte",
                usage.bytes() + bytes_diff,
                limit.byte_hard_limit(),
                limit.bytes(),
            ),
        ];
        for (checked, what, limit_name, new_value, hard_limit, soft_limit) in checks {
            let hard = hard_limit > -1;
            let limit_value = if hard { hard_limit } else { soft_limit };
            if !checked || new_value <= limit_value {
                continue;
            }
            let kind = if hard { "hard" } else { "soft" };
            notes.push(QuotaExceeded {
                message: format!(
                    "Quota exceeded: {prefix} [current {what}={new_value}, {kind}{limit_name}Limit={limit_value}]"
                ),
                hard,
                namespace: namespace.clone(),
            });
            if hard {
                return Err(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_track_round_trips_zookeeper_text() {
        let t = StatsTrack::parse(b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3");
        assert_eq!((t.count(), t.bytes(), t.count_hard_limit()), (-1, -1, 3));
        assert_eq!(
            t.format(),
            "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3"
        );
        assert_eq!(
            StatsTrack::parse(b"count=2,bytes=10").format(),
            "count=2,bytes=10"
        );
        assert_eq!(StatsTrack::parse(b"").format(), "count=-1,bytes=-1");
        // Java would throw; corral skips what it cannot read.
        let junk = StatsTrack::parse(b"count,bytes=x;;count=4,=");
        assert_eq!((junk.count(), junk.bytes()), (4, -1));
    }

    #[test]
    fn quota_node_paths() {
        assert_eq!(limit_path("/a/b"), "/zookeeper/quota/a/b/zookeeper_limits");
        assert_eq!(
            quota_node_target("/zookeeper/quota/a/b/zookeeper_limits", LIMIT_NODE),
            Some("/a/b")
        );
        assert_eq!(
            quota_node_target("/zookeeper/quota/zookeeper_limits", LIMIT_NODE),
            None
        );
        assert_eq!(
            quota_node_target("/zookeeper/quota/a/xzookeeper_limits", LIMIT_NODE),
            None
        );
        assert_eq!(top_namespace("/a/b"), Some("a"));
        assert_eq!(top_namespace("/"), None);
    }
}
