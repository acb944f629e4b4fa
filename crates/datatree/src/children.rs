//! A node's child names, sorted. A small set is a `BTreeSet`; past [`LARGE`] names it
//! becomes a persistent set (`imbl::OrdSet`), whose clone is O(1).
//!
//! Why two shapes: the tree is cloned for every snapshot (a persistent map, so nodes are
//! shared until changed), and the first change to a shared node copies the node, its
//! children included. A parent of 500,000 children copied that way stalled the core for tens
//! of milliseconds after each snapshot, under every write (the create benchmark's p99). A
//! persistent set shares its chunks instead. It is not used for every node because each of
//! its chunks holds room for 64 names however few there are, and most nodes have none or a
//! handful.

use std::collections::{btree_set, BTreeSet};
use std::fmt;

use imbl::{ordset, OrdSet};

/// What an empty set iterates over.
static EMPTY: BTreeSet<Box<str>> = BTreeSet::new();

/// Names past which a set is kept persistent (copying a `BTreeSet` of this many is a few
/// tens of microseconds).
pub const LARGE: usize = 1024;

/// Most znodes have no children: the empty set is no allocation and one word in the node
/// (a `Repr` inline took 32 bytes of every node, and with it the node's allocation went from
/// mimalloc's 128-byte class to its 160-byte one).
#[derive(Clone, Default)]
pub struct Children(Option<Box<Repr>>);

#[derive(Clone)]
enum Repr {
    Small(BTreeSet<Box<str>>),
    Large(OrdSet<Box<str>>),
}

impl Children {
    pub fn new() -> Children {
        Children::default()
    }

    /// The set of `names` (distinct; a snapshot lists them in order).
    pub fn from_sorted(names: Vec<String>) -> Children {
        let names = names.into_iter().map(String::into_boxed_str);
        let repr = match names.len() {
            0 => return Children(None),
            n if n > LARGE => {
                let mut set = OrdSet::new();
                crate::dense::insert_alternately(names.collect(), |name| {
                    set.insert(name);
                });
                Repr::Large(set)
            }
            _ => Repr::Small(names.collect()),
        };
        Children(Some(Box::new(repr)))
    }

    pub fn len(&self) -> usize {
        match self.0.as_deref() {
            None => 0,
            Some(Repr::Small(s)) => s.len(),
            Some(Repr::Large(s)) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, name: &str) -> bool {
        match self.0.as_deref() {
            None => false,
            Some(Repr::Small(s)) => s.contains(name),
            Some(Repr::Large(s)) => s.contains(name),
        }
    }

    /// Adds `name`; false if it was there already.
    pub fn insert(&mut self, name: &str) -> bool {
        let repr = self
            .0
            .get_or_insert_with(|| Box::new(Repr::Small(BTreeSet::new())));
        match &mut **repr {
            Repr::Small(s) if s.len() < LARGE => s.insert(name.into()),
            Repr::Small(s) => {
                let mut large: OrdSet<Box<str>> = std::mem::take(s).into_iter().collect();
                let fresh = large.insert(name.into()).is_none();
                **repr = Repr::Large(large);
                fresh
            }
            Repr::Large(s) => s.insert(name.into()).is_none(),
        }
    }

    /// Removes `name`; false if it was not there. A small set that empties is freed; a
    /// large set stays persistent (it was large once, it may well be again).
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(repr) = self.0.as_deref_mut() else {
            return false;
        };
        match repr {
            Repr::Small(s) => {
                let removed = s.remove(name);
                if s.is_empty() {
                    self.0 = None;
                }
                removed
            }
            Repr::Large(s) => s.remove(name).is_some(),
        }
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// The names in order.
    pub fn iter(&self) -> Iter<'_> {
        match self.0.as_deref() {
            None => Iter::Small(EMPTY.iter()),
            Some(Repr::Small(s)) => Iter::Small(s.iter()),
            Some(Repr::Large(s)) => Iter::Large(s.iter()),
        }
    }
}

pub enum Iter<'a> {
    Small(btree_set::Iter<'a, Box<str>>),
    Large(ordset::Iter<'a, Box<str>, imbl::shared_ptr::DefaultSharedPtr>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Iter::Small(i) => i.next().map(|n| &**n),
            Iter::Large(i) => i.next().map(|n| &**n),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(i) => i.size_hint(),
            Iter::Large(i) => i.size_hint(),
        }
    }
}

/// Exact, as both sets' own iterators are (an encoder writes the count first).
impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Children {
    type Item = &'a str;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Children {
    fn eq(&self, other: &Children) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Children {}

impl fmt::Debug for Children {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Children) -> Vec<&str> {
        c.iter().collect()
    }

    #[test]
    fn a_set_that_grows_past_large_keeps_every_name_in_order() {
        let mut c = Children::new();
        // Inserted in reverse, so order comes from the set, not from arrival.
        for i in (0..LARGE + 10).rev() {
            assert!(c.insert(&format!("n{i:05}")));
        }
        assert!(matches!(c.0.as_deref(), Some(Repr::Large(_))));
        assert!(!c.insert("n00000"), "a second insert is not fresh");
        assert_eq!(c.len(), LARGE + 10);
        assert_eq!(c.iter().len(), LARGE + 10, "the iterator knows its length");
        let listed = names(&c);
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(listed[0], "n00000");
        assert!(c.remove("n00007") && !c.remove("n00007"));
        assert!(!c.contains("n00007") && c.contains("n00008"));
        assert_eq!(c.len(), LARGE + 9);
    }

    #[test]
    fn small_and_large_sets_of_the_same_names_are_equal() {
        let sorted: Vec<String> = (0..LARGE + 1).map(|i| format!("n{i:05}")).collect();
        let large = Children::from_sorted(sorted.clone());
        assert!(matches!(large.0.as_deref(), Some(Repr::Large(_))));
        let mut small = Children::new();
        for n in &sorted {
            small.insert(n);
        }
        assert_eq!(large, small);
        let mut fewer = large.clone();
        fewer.remove("n00000");
        assert_ne!(fewer, large);
        assert_eq!(
            large.len(),
            sorted.len(),
            "a clone's change leaves the original"
        );
    }

    #[test]
    fn clear_empties_either_shape() {
        let mut c = Children::from_sorted((0..LARGE + 1).map(|i| i.to_string()).collect());
        c.clear();
        assert!(c.is_empty() && names(&c).is_empty());
        assert!(c.insert("a") && c.contains("a"));
    }
}
