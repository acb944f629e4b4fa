//! The session table (id -> timeout and password) and the ephemerals each owner holds.
//!
//! Invariants kept: a path is in `ephemerals[owner]` exactly while an ephemeral node at that
//! path with that owner exists (the tree calls `add_ephemeral`/`remove_ephemeral` from its only
//! insert/remove primitives); `ephemeral_count` is the total of those sets.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the tree keeps of a session. Liveness (touches, expiry) is the server's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub timeout_ms: i32,
    pub passwd: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct Sessions {
    table: BTreeMap<i64, Session>,
    /// Sorted per owner so closing a session deletes in a replica-independent order.
    ephemerals: HashMap<i64, BTreeSet<String>>,
    ephemeral_count: usize,
}

impl Sessions {
    pub fn get(&self, id: i64) -> Option<&Session> {
        self.table.get(&id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.table.contains_key(&id)
    }

    /// Opens (or re-opens, replacing timeout and password) a session.
    pub fn open(&mut self, id: i64, session: Session) {
        self.table.insert(id, session);
    }

    pub fn close(&mut self, id: i64) -> Option<Session> {
        self.table.remove(&id)
    }

    /// Session ids, ascending.
    pub fn ids(&self) -> Vec<i64> {
        self.table.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The ephemeral paths `owner` holds, sorted.
    pub fn ephemerals(&self, owner: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&owner)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemeral_count
    }

    /// The owners holding at least one ephemeral, ascending.
    pub fn owners(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.ephemerals.keys().copied().collect();
        v.sort_unstable();
        v
    }

    pub(crate) fn add_ephemeral(&mut self, owner: i64, path: &str) {
        if self
            .ephemerals
            .entry(owner)
            .or_default()
            .insert(path.to_string())
        {
            self.ephemeral_count += 1;
        }
    }

    pub(crate) fn remove_ephemeral(&mut self, owner: i64, path: &str) {
        if let Some(set) = self.ephemerals.get_mut(&owner) {
            if set.remove(path) {
                self.ephemeral_count -= 1;
            }
            if set.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemerals_are_counted_and_sorted() {
        let mut s = Sessions::default();
        s.open(
            7,
            Session {
                timeout_ms: 3000,
                passwd: vec![1],
            },
        );
        s.add_ephemeral(7, "/b");
        s.add_ephemeral(7, "/a");
        s.add_ephemeral(7, "/a");
        assert_eq!(s.ephemerals(7).collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!(s.ephemeral_count(), 2);
        s.remove_ephemeral(7, "/a");
        s.remove_ephemeral(7, "/zz");
        assert_eq!(s.ephemeral_count(), 1);
        assert_eq!(s.ids(), [7]);
        assert_eq!(s.close(7).map(|x| x.timeout_ms), Some(3000));
        assert!(!s.contains(7));
    }
}
