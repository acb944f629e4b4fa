//! Linearizability of one register's history: the Wing–Gong search with Lowe's memo (a
//! configuration already explored, as the set of linearized operations and the register's
//! state, is never explored again).
//!
//! The register is a znode: its value (the data, a number) and its data version. An operation
//! whose answer is unknown may be linearized anywhere after its invocation, or never.
//!
//! When a history is not linearizable, [`witness`] shrinks it to the shortest prefix that is
//! not (linearizability is prefix-closed: if a prefix cannot be explained, neither can the
//! whole) and names the operation whose completion makes it fail.

use std::collections::HashSet;

use crate::history::{Call, Op, Ret};

/// The register's state: (value, data version). A key starts as created with value 0.
pub type State = (u64, i32);

pub const INITIAL: State = (0, 0);

/// Configurations explored before the search gives up and calls the history unchecked.
pub const MAX_STEPS: u64 = 2_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    NotLinearizable,
    /// The search hit `MAX_STEPS`.
    Unknown,
}

/// The next state if `op` takes effect in `s` and answers what it answered; `None` if that
/// answer is impossible in `s`.
fn step(s: State, call: Call, ret: Option<Ret>) -> Option<State> {
    let (value, version) = s;
    match (call, ret) {
        (Call::Read, None) => Some(s),
        (
            Call::Read,
            Some(Ret::Read {
                value: v,
                version: n,
            }),
        ) => (v == value && n == version).then_some(s),
        (Call::Write { value: v }, None) => Some((v, version + 1)),
        (Call::Write { value: v }, Some(Ret::Written { version: n })) => {
            (n == -1 || n == version + 1).then_some((v, version + 1))
        }
        (Call::Cas { expect, value: v }, None) => Some(if expect == version {
            (v, version + 1)
        } else {
            s
        }),
        (Call::Cas { expect, value: v }, Some(Ret::Written { version: n })) => {
            (expect == version && (n == -1 || n == version + 1)).then_some((v, version + 1))
        }
        (Call::Cas { expect, .. }, Some(Ret::BadVersion)) => (expect != version).then_some(s),
        _ => None,
    }
}

struct Search<'a> {
    ops: &'a [Op],
    done: Vec<bool>,
    seen: HashSet<(Vec<u64>, State)>,
    steps: u64,
}

impl Search<'_> {
    fn key(&self) -> Vec<u64> {
        let mut words = vec![0u64; self.done.len().div_ceil(64)];
        for (i, &d) in self.done.iter().enumerate() {
            if d {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        words
    }

    fn run(&mut self, s: State) -> Verdict {
        // Every operation that completed is linearized: the rest (unknown answers) may never
        // have happened.
        let open_min = self
            .ops
            .iter()
            .zip(&self.done)
            .filter(|(o, d)| !**d && o.ret.is_some())
            .map(|(o, _)| o.complete_seq)
            .min();
        let Some(open_min) = open_min else {
            return Verdict::Linearizable;
        };
        if !self.seen.insert((self.key(), s)) {
            return Verdict::NotLinearizable;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Verdict::Unknown;
        }
        // Candidates: operations invoked before the earliest pending completion.
        for i in 0..self.ops.len() {
            let op = &self.ops[i];
            if self.done[i] || op.invoke_seq > open_min {
                continue;
            }
            if let Some(next) = step(s, op.call, op.ret) {
                self.done[i] = true;
                let v = self.run(next);
                self.done[i] = false;
                if v != Verdict::NotLinearizable {
                    return v;
                }
            }
        }
        Verdict::NotLinearizable
    }
}

/// Whether `ops` (one register's operations) are linearizable from `INITIAL`.
pub fn check(ops: &[Op]) -> Verdict {
    let mut search = Search {
        ops,
        done: vec![false; ops.len()],
        seen: HashSet::new(),
        steps: 0,
    };
    search.run(INITIAL)
}

/// The history as it stood just after event `seq`: later invocations removed, later answers
/// unknown.
fn prefix(ops: &[Op], seq: u64) -> Vec<Op> {
    ops.iter()
        .filter(|o| o.invoke_seq <= seq)
        .map(|o| {
            let mut o = o.clone();
            if o.complete_seq > seq {
                o.ret = None;
                o.complete_seq = u64::MAX;
            }
            o
        })
        .collect()
}

/// For a non-linearizable history: the index of the operation whose completion first makes
/// it fail, and the operations that overlap it or set up its state (the last few that
/// completed before it was invoked).
pub fn witness(ops: &[Op]) -> (usize, Vec<Op>) {
    const CONTEXT_OPS: usize = 4;
    let mut ends: Vec<u64> = ops
        .iter()
        .filter(|o| o.ret.is_some())
        .map(|o| o.complete_seq)
        .collect();
    ends.sort_unstable();
    // The first completion after which the prefix cannot be explained (binary search).
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if check(&prefix(ops, ends[mid])) == Verdict::NotLinearizable {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let end = ends[lo];
    let culprit = ops
        .iter()
        .position(|o| o.complete_seq == end)
        .expect("an end is some op's");
    let start = ops[culprit].invoke_seq;
    let mut before: Vec<&Op> = ops.iter().filter(|o| o.complete_seq < start).collect();
    before.sort_by_key(|o| o.complete_seq);
    let context = before.len().saturating_sub(CONTEXT_OPS);
    let mut slice: Vec<Op> = before[context..].iter().map(|o| (*o).clone()).collect();
    slice.extend(
        ops.iter()
            .filter(|o| o.invoke_seq <= end && o.complete_seq >= start)
            .cloned(),
    );
    slice.sort_by_key(|o| o.invoke_seq);
    (culprit, slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(invoke: u64, complete: u64, call: Call, ret: Option<Ret>) -> Op {
        Op {
            client: 0,
            key: 0,
            call,
            ret,
            invoke_seq: invoke,
            complete_seq: if ret.is_some() { complete } else { u64::MAX },
            invoke_us: invoke,
            complete_us: complete,
        }
    }

    #[test]
    fn sequential_history_passes() {
        let h = [
            op(
                1,
                2,
                Call::Write { value: 5 },
                Some(Ret::Written { version: 1 }),
            ),
            op(
                3,
                4,
                Call::Read,
                Some(Ret::Read {
                    value: 5,
                    version: 1,
                }),
            ),
            op(
                5,
                6,
                Call::Cas {
                    expect: 0,
                    value: 7,
                },
                Some(Ret::BadVersion),
            ),
            op(
                7,
                8,
                Call::Cas {
                    expect: 1,
                    value: 7,
                },
                Some(Ret::Written { version: 2 }),
            ),
        ];
        assert_eq!(check(&h), Verdict::Linearizable);
    }

    #[test]
    fn stale_read_after_acknowledged_write_fails() {
        let h = [
            op(
                1,
                2,
                Call::Write { value: 5 },
                Some(Ret::Written { version: 1 }),
            ),
            op(
                3,
                4,
                Call::Read,
                Some(Ret::Read {
                    value: 0,
                    version: 0,
                }),
            ),
        ];
        assert_eq!(check(&h), Verdict::NotLinearizable);
        let (culprit, slice) = witness(&h);
        assert_eq!(culprit, 1);
        assert_eq!(slice.len(), 2);
    }

    #[test]
    fn concurrent_and_unknown_operations_may_go_either_way() {
        let h = [
            // Overlaps the read: either order is fine.
            op(
                1,
                4,
                Call::Write { value: 5 },
                Some(Ret::Written { version: 1 }),
            ),
            op(
                2,
                3,
                Call::Read,
                Some(Ret::Read {
                    value: 0,
                    version: 0,
                }),
            ),
            // Never answered, yet seen by a later read: it took effect.
            op(5, 0, Call::Write { value: 9 }, None),
            op(
                6,
                7,
                Call::Read,
                Some(Ret::Read {
                    value: 9,
                    version: 2,
                }),
            ),
        ];
        assert_eq!(check(&h), Verdict::Linearizable);
    }
}
