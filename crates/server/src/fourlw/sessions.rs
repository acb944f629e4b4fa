//! The four-letter words that list connections, sessions and watches, in ZooKeeper 3.8's
//! formats: `cons` (and `stat`'s client lines), `dump`, `wchs`, `wchc`, `wchp`.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::time::Instant;

use crate::ensemble::role::Mode;
use crate::javafmt::java_date_utc;
use crate::pipeline::{wall_clock_ms, Core};

impl Core {
    /// One line per connection: ZooKeeper's short form for `stat`, and for `cons` the full
    /// one with the session's figures once the connection has a session.
    pub(super) fn cons_lines(&self, full: bool) -> String {
        let mut conns: Vec<_> = self.registry.conns.values().collect();
        conns.sort_by_key(|c| c.connected_at);
        let mut s = String::new();
        if let Some(peer) = self.asking {
            // The word's own connection, as ZooKeeper lists it: no session, its one packet.
            let _ = writeln!(s, " /{peer}[0](queued=0,recved=1,sent=0)");
        }
        for c in conns {
            let _ = write!(
                s,
                " /{}[1](queued={},recved={},sent={}",
                c.outbox.peer,
                c.outbox.queued_bytes(),
                c.received,
                c.sent
            );
            if let Some(sid) = c.session.filter(|_| full) {
                let st = &c.stats;
                let to = self.registry.sessions.get(&sid).map_or(0, |x| x.timeout_ms);
                let (min, avg, max) = st.latency.summary_ms();
                let _ = write!(
                    s,
                    ",sid={sid:#x},lop={},est={},to={to},lcxid={:#x},lzxid={:#x},lresp={},\
                     llat={},minlat={min},avglat={},maxlat={max}",
                    st.last_op,
                    st.established_ms,
                    st.last_cxid,
                    st.last_zxid,
                    st.last_response_ms,
                    st.last_latency_ms,
                    avg as u64,
                );
            }
            s.push_str(")\n");
        }
        s
    }

    pub(super) fn cons(&self) -> String {
        let mut s = self.cons_lines(true);
        s.push('\n');
        s
    }

    /// The data watches (ZooKeeper's `DataTree.getWatches`): (session, path) pairs.
    pub(crate) fn data_watches(&self) -> Vec<(i64, String)> {
        let mut v: Vec<(i64, String)> = self
            .watches
            .data_watches()
            .into_iter()
            .filter_map(|(conn, path)| {
                let sid = self.registry.conns.get(&conn)?.session?;
                Some((sid, path))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn wchc(&self) -> String {
        let by_session = self.data_watches();
        grouped(
            by_session
                .iter()
                .map(|(sid, p)| (format!("{sid:#x}"), p.clone())),
        )
    }

    pub(super) fn wchp(&self) -> String {
        let mut by_path: Vec<(String, String)> = self
            .data_watches()
            .into_iter()
            .map(|(sid, p)| (p, format!("{sid:#x}")))
            .collect();
        by_path.sort();
        grouped(by_path.into_iter())
    }

    /// Counts data watches only, as ZooKeeper's `DataTree.getWatchesSummary` does.
    pub(super) fn wchs(&self) -> String {
        let (sessions, paths, total) = self.watch_summary();
        format!("{sessions} connections watching {paths} paths\nTotal watches:{total}\n")
    }

    /// (sessions watching, paths watched, watches) of the data watches.
    pub(crate) fn watch_summary(&self) -> (usize, usize, usize) {
        let watches = self.data_watches();
        let sessions: HashSet<i64> = watches.iter().map(|(s, _)| *s).collect();
        let paths: HashSet<&str> = watches.iter().map(|(_, p)| p.as_str()).collect();
        (sessions.len(), paths.len(), watches.len())
    }

    /// ZooKeeper's `dump`: the session tracker (a leader's or standalone server's expiry
    /// sets; a learner's list of sessions with their timeouts), each session's ephemerals,
    /// and the connections by when they expire.
    pub(super) fn dump(&self) -> String {
        let mut s = String::from("SessionTracker dump:\n");
        let mut ids: Vec<i64> = self.registry.sessions.keys().copied().collect();
        ids.sort();
        if matches!(self.mode(), Mode::Standalone | Mode::Leader) {
            s.push_str("Session ");
            let items = ids
                .iter()
                .map(|id| (self.tracker.deadline(*id), format!("{id:#x}")));
            s.push_str(&expiry_sets(items));
        } else {
            let _ = writeln!(s, "Global Sessions({}):", ids.len());
            for id in &ids {
                let to = self.registry.sessions[id].timeout_ms;
                let _ = writeln!(s, "{id:#x}\t{to}ms");
            }
        }
        s.push_str("ephemeral nodes dump:\n");
        let with = self.ephemerals_by_session();
        let _ = writeln!(s, "Sessions with Ephemerals ({}):", with.len());
        for (id, paths) in with {
            let _ = writeln!(s, "{id:#x}:");
            for p in paths {
                let _ = writeln!(s, "\t{p}");
            }
        }
        s.push_str("Connections dump:\nConnections ");
        let mut conns: Vec<_> = self.registry.conns.values().collect();
        conns.sort_by_key(|c| c.connected_at);
        let asking = self
            .asking
            .map(|peer| (None, format!("ip: /{peer} sessionId: 0x0")));
        let items = conns.into_iter().map(|c| {
            let sid = c.session.unwrap_or(0);
            let expires = c.session.and_then(|id| self.tracker.deadline(id));
            (
                expires,
                format!("ip: /{} sessionId: {sid:#x}", c.outbox.peer),
            )
        });
        s.push_str(&expiry_sets(asking.into_iter().chain(items)));
        s
    }

    /// Each session's ephemeral nodes, sessions and paths sorted; sessions without any left out.
    pub(crate) fn ephemerals_by_session(&self) -> Vec<(i64, Vec<String>)> {
        let mut ids: Vec<i64> = self.registry.sessions.keys().copied().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| {
                let mut paths = self.tree.get_ephemerals(id, "/");
                paths.sort();
                (!paths.is_empty()).then_some((id, paths))
            })
            .collect()
    }
}

/// `key` lines each followed by its tab-indented values, and a blank line at the end, as
/// ZooKeeper's `WatchManager.dumpWatches` (`wchc`, `wchp`). `pairs` come sorted by key.
fn grouped(pairs: impl Iterator<Item = (String, String)>) -> String {
    let mut s = String::new();
    let mut current: Option<String> = None;
    for (key, value) in pairs {
        if current.as_deref() != Some(key.as_str()) {
            let _ = writeln!(s, "{key}");
            current = Some(key);
        }
        let _ = writeln!(s, "\t{value}");
    }
    s.push('\n');
    s
}

/// ZooKeeper's `ExpiryQueue.dump`: `Sets (<sets>)/(<items>):`, then per expiry time
/// `<n> expire at <date>:` and the items, tab-indented. An item without a deadline (a
/// connection without a session yet) expires now.
fn expiry_sets(items: impl Iterator<Item = (Option<Instant>, String)>) -> String {
    let now = Instant::now();
    let now_ms = wall_clock_ms();
    let mut sets: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    for (deadline, item) in items {
        let in_ms = deadline.map_or(0, |d| d.saturating_duration_since(now).as_millis() as i64);
        // Deadlines are tick-aligned; rounding to a second keeps one set per tick.
        let at = (now_ms + in_ms) / 1000 * 1000;
        sets.entry(at).or_default().push(item);
        count += 1;
    }
    let mut s = format!("Sets ({})/({count}):\n", sets.len());
    for (at, items) in sets {
        let _ = writeln!(s, "{} expire at {}:", items.len(), java_date_utc(at));
        for item in items {
            let _ = writeln!(s, "\t{item}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_values_under_keys() {
        let pairs = [("a", "1"), ("a", "2"), ("b", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(grouped(pairs), "a\n\t1\n\t2\nb\n\t3\n\n");
        assert_eq!(grouped(std::iter::empty()), "\n");
    }
}
