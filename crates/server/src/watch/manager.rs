//! Who watches what, and which connections a change notifies.
//!
//! Watches belong to connections, as in ZooKeeper (a watcher is a `ServerCnxn`): a client that
//! reconnects re-registers them with `setWatches`. Rules kept here, from ZooKeeper's
//! `WatchManager` and `DataTree`:
//! - one-shot data and exist watches share one table; a change removes them as it fires them;
//! - one-shot child watches fire on NodeChildrenChanged and NodeDeleted of their path;
//! - persistent watches fire on every event of their path and are never removed by firing;
//! - persistent-recursive watches fire for their path and every descendant, except
//!   NodeChildrenChanged;
//! - one trigger notifies a connection at most once.
//!
//! Unlike ZooKeeper 3.8, a one-shot watch and a persistent watch on the same path are kept
//! apart (as in 3.9): a getData watch does not turn an earlier persistent watch into a one-shot.

use std::collections::{HashMap, HashSet};

use corral_datatree::{EventKind, Trigger};
use corral_jute::records::proto::{event_type, watcher_type};

pub type ConnId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// getData or exists: both live in ZooKeeper's data-watch table.
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

const ALL_KINDS: [WatchKind; 4] = [
    WatchKind::Data,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::PersistentRecursive,
];

/// One watch event to deliver: `event` is a `WatcherEvent.type` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub conn: ConnId,
    pub path: String,
    pub event: i32,
}

#[derive(Default)]
pub struct WatchManager {
    tables: HashMap<WatchKind, HashMap<String, HashSet<ConnId>>>,
    by_conn: HashMap<ConnId, HashSet<(WatchKind, String)>>,
}

impl WatchManager {
    pub fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
        self.tables
            .entry(kind)
            .or_default()
            .entry(path.to_string())
            .or_default()
            .insert(conn);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert((kind, path.to_string()));
    }

    fn remove_one(&mut self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        let Some(table) = self.tables.get_mut(&kind) else {
            return false;
        };
        let Some(set) = table.get_mut(path) else {
            return false;
        };
        let removed = set.remove(&conn);
        if set.is_empty() {
            table.remove(path);
        }
        if removed {
            if let Some(mine) = self.by_conn.get_mut(&conn) {
                mine.remove(&(kind, path.to_string()));
                if mine.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
        }
        removed
    }

    fn has(&self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        self.tables
            .get(&kind)
            .and_then(|t| t.get(path))
            .is_some_and(|s| s.contains(&conn))
    }

    /// The kinds a `WatcherType` of removeWatches/checkWatches covers.
    fn kinds_of(watcher_type: i32) -> &'static [WatchKind] {
        match watcher_type {
            watcher_type::CHILDREN => &[WatchKind::Child, WatchKind::Persistent],
            watcher_type::DATA => &[
                WatchKind::Data,
                WatchKind::Persistent,
                WatchKind::PersistentRecursive,
            ],
            watcher_type::ANY => &ALL_KINDS,
            4 => &[WatchKind::Persistent],
            5 => &[WatchKind::PersistentRecursive],
            _ => &[],
        }
    }

    /// removeWatches: true if anything was removed.
    pub fn remove(&mut self, conn: ConnId, path: &str, watcher_type: i32) -> bool {
        let mut removed = false;
        for &kind in Self::kinds_of(watcher_type) {
            removed |= self.remove_one(conn, path, kind);
        }
        removed
    }

    /// checkWatches: whether `conn` holds a watch of that type on `path`.
    pub fn contains(&self, conn: ConnId, path: &str, watcher_type: i32) -> bool {
        Self::kinds_of(watcher_type)
            .iter()
            .any(|&k| self.has(conn, path, k))
    }

    /// Forgets every watch of a closed connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        if let Some(mine) = self.by_conn.remove(&conn) {
            for (kind, path) in mine {
                if let Some(table) = self.tables.get_mut(&kind) {
                    if let Some(set) = table.get_mut(&path) {
                        set.remove(&conn);
                        if set.is_empty() {
                            table.remove(&path);
                        }
                    }
                }
            }
        }
    }

    /// Takes the one-shot watchers of `kind` on `path`, leaving none behind.
    fn take_one_shot(&mut self, kind: WatchKind, path: &str, out: &mut Vec<ConnId>) {
        let Some(set) = self.tables.get_mut(&kind).and_then(|t| t.remove(path)) else {
            return;
        };
        for conn in set {
            if let Some(mine) = self.by_conn.get_mut(&conn) {
                mine.remove(&(kind, path.to_string()));
                if mine.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
            out.push(conn);
        }
    }

    fn persistent_on(&self, kind: WatchKind, path: &str, out: &mut Vec<ConnId>) {
        if let Some(set) = self.tables.get(&kind).and_then(|t| t.get(path)) {
            out.extend(set.iter().copied());
        }
    }

    /// The connections a change notifies, each once, removing the one-shot watches fired.
    pub fn trigger(&mut self, t: &Trigger) -> Vec<Fired> {
        let mut conns = Vec::new();
        let event = match t.kind {
            EventKind::NodeCreated => event_type::NODE_CREATED,
            EventKind::NodeDeleted => event_type::NODE_DELETED,
            EventKind::NodeDataChanged => event_type::NODE_DATA_CHANGED,
            EventKind::NodeChildrenChanged => event_type::NODE_CHILDREN_CHANGED,
        };
        match t.kind {
            EventKind::NodeCreated | EventKind::NodeDataChanged | EventKind::NodeDeleted => {
                self.take_one_shot(WatchKind::Data, &t.path, &mut conns);
                if t.kind == EventKind::NodeDeleted {
                    self.take_one_shot(WatchKind::Child, &t.path, &mut conns);
                }
                self.persistent_on(WatchKind::Persistent, &t.path, &mut conns);
                if self
                    .tables
                    .get(&WatchKind::PersistentRecursive)
                    .is_some_and(|t| !t.is_empty())
                {
                    for p in self_and_ancestors(&t.path) {
                        self.persistent_on(WatchKind::PersistentRecursive, p, &mut conns);
                    }
                }
            }
            EventKind::NodeChildrenChanged => {
                self.take_one_shot(WatchKind::Child, &t.path, &mut conns);
                self.persistent_on(WatchKind::Persistent, &t.path, &mut conns);
            }
        }
        let mut seen = HashSet::new();
        conns
            .into_iter()
            .filter(|c| seen.insert(*c))
            .map(|conn| Fired {
                conn,
                path: t.path.clone(),
                event,
            })
            .collect()
    }

    pub fn watch_count(&self) -> usize {
        self.by_conn.values().map(|s| s.len()).sum()
    }

    /// (connection, kind, path) of every watch, in no particular order.
    pub fn all(&self) -> Vec<(ConnId, WatchKind, String)> {
        self.by_conn
            .iter()
            .flat_map(|(c, set)| set.iter().map(|(k, p)| (*c, *k, p.clone())))
            .collect()
    }

    /// (connection, path) of every watch in ZooKeeper's data-watch table: one-shot data and
    /// exist watches, and persistent and persistent-recursive ones.
    pub fn data_watches(&self) -> Vec<(ConnId, String)> {
        let kinds = [
            WatchKind::Data,
            WatchKind::Persistent,
            WatchKind::PersistentRecursive,
        ];
        let mut v = Vec::new();
        for kind in kinds {
            for (path, conns) in self.tables.get(&kind).into_iter().flatten() {
                v.extend(conns.iter().map(|c| (*c, path.clone())));
            }
        }
        v
    }
}

/// `/a/b` yields `/a/b`, `/a`, `/`.
fn self_and_ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if cur == "/" {
            None
        } else {
            match cur.rfind('/') {
                Some(0) => Some("/"),
                Some(i) => Some(&cur[..i]),
                None => None,
            }
        };
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trig(path: &str, kind: EventKind) -> Trigger {
        Trigger {
            path: path.into(),
            kind,
        }
    }

    #[test]
    fn one_shot_data_watch_fires_once() {
        let mut m = WatchManager::default();
        m.add(1, "/a", WatchKind::Data);
        assert_eq!(m.trigger(&trig("/a", EventKind::NodeDataChanged)).len(), 1);
        assert!(m
            .trigger(&trig("/a", EventKind::NodeDataChanged))
            .is_empty());
        assert_eq!(m.watch_count(), 0);
    }

    #[test]
    fn delete_notifies_data_and_child_watcher_once() {
        let mut m = WatchManager::default();
        m.add(1, "/a", WatchKind::Data);
        m.add(1, "/a", WatchKind::Child);
        let fired = m.trigger(&trig("/a", EventKind::NodeDeleted));
        assert_eq!(
            fired,
            vec![Fired {
                conn: 1,
                path: "/a".into(),
                event: 2
            }]
        );
    }

    #[test]
    fn recursive_watch_skips_children_changed() {
        let mut m = WatchManager::default();
        m.add(7, "/", WatchKind::PersistentRecursive);
        assert_eq!(m.trigger(&trig("/x/y", EventKind::NodeCreated)).len(), 1);
        assert!(m
            .trigger(&trig("/x", EventKind::NodeChildrenChanged))
            .is_empty());
        assert_eq!(
            m.trigger(&trig("/x/y", EventKind::NodeCreated)).len(),
            1,
            "still there"
        );
    }

    #[test]
    fn persistent_watch_sees_children_changes_of_its_path() {
        let mut m = WatchManager::default();
        m.add(3, "/p", WatchKind::Persistent);
        assert_eq!(
            m.trigger(&trig("/p", EventKind::NodeChildrenChanged)).len(),
            1
        );
        assert!(m.trigger(&trig("/p/c", EventKind::NodeCreated)).is_empty());
    }

    #[test]
    fn remove_conn_forgets_everything() {
        let mut m = WatchManager::default();
        m.add(1, "/a", WatchKind::Data);
        m.add(1, "/b", WatchKind::Persistent);
        m.remove_conn(1);
        assert_eq!(m.watch_count(), 0);
        assert!(m.data_watches().is_empty());
    }

    #[test]
    fn remove_by_type() {
        let mut m = WatchManager::default();
        m.add(1, "/a", WatchKind::Child);
        assert!(!m.remove(1, "/a", watcher_type::DATA));
        assert!(m.contains(1, "/a", watcher_type::CHILDREN));
        assert!(m.remove(1, "/a", watcher_type::CHILDREN));
        assert!(!m.contains(1, "/a", watcher_type::ANY));
    }

    #[test]
    fn ancestors() {
        let v: Vec<_> = self_and_ancestors("/a/b").collect();
        assert_eq!(v, ["/a/b", "/a", "/"]);
    }
}
