//! What clients did: each operation's invocation and completion, in one global order.
//!
//! Order is a logical clock (`seq`), not virtual time: under a paused clock many events share
//! one instant, yet one still happens after another. Virtual time is kept for people.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::trace;

/// What an operation asked of one register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Read,
    /// setData with version -1.
    Write {
        value: u64,
    },
    /// setData with version `expect`.
    Cas {
        expect: i32,
        value: u64,
    },
}

/// What it answered. `None` in [`Op::ret`] means the client never learned (a timeout, a
/// crash): the operation may or may not have taken effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Read {
        value: u64,
        version: i32,
    },
    /// The new version (-1 if the acknowledgement did not say: see `Bug::AckBeforeCommit`).
    Written {
        version: i32,
    },
    BadVersion,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub client: usize,
    pub key: usize,
    pub call: Call,
    pub ret: Option<Ret>,
    pub invoke_seq: u64,
    /// `u64::MAX` while pending or if it never completed.
    pub complete_seq: u64,
    pub invoke_us: u64,
    pub complete_us: u64,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = if self.complete_seq == u64::MAX {
            "never".to_string()
        } else {
            format!(
                "{}.{:03}ms",
                self.complete_us / 1000,
                self.complete_us % 1000
            )
        };
        write!(
            f,
            "client {} key {} {:?} -> {} [{}.{:03}ms .. {end}] (#{}..#{})",
            self.client,
            self.key,
            self.call,
            match self.ret {
                Some(r) => format!("{r:?}"),
                None => "unknown".into(),
            },
            self.invoke_us / 1000,
            self.invoke_us % 1000,
            self.invoke_seq,
            if self.complete_seq == u64::MAX {
                "∞".to_string()
            } else {
                self.complete_seq.to_string()
            },
        )
    }
}

#[derive(Default)]
struct Inner {
    ops: Vec<Op>,
    seq: u64,
}

/// The shared history. Cheap to clone.
#[derive(Clone, Default)]
pub struct History(Arc<Mutex<Inner>>);

impl History {
    /// Records an invocation; returns its handle for [`History::complete`].
    pub fn invoke(&self, client: usize, key: usize, call: Call) -> usize {
        let mut h = self.0.lock().expect("history lock poisoned");
        h.seq += 1;
        let op = Op {
            client,
            key,
            call,
            ret: None,
            invoke_seq: h.seq,
            complete_seq: u64::MAX,
            invoke_us: trace::now_us(),
            complete_us: 0,
        };
        trace!("client {client} invoke key {key} {call:?}");
        h.ops.push(op);
        h.ops.len() - 1
    }

    /// Records what `op` answered; `None` leaves it unknown (it stays open forever).
    pub fn complete(&self, op: usize, ret: Option<Ret>) {
        let mut h = self.0.lock().expect("history lock poisoned");
        h.seq += 1;
        let seq = h.seq;
        let o = &mut h.ops[op];
        trace!("client {} complete key {} {:?}", o.client, o.key, ret);
        if ret.is_some() {
            o.ret = ret;
            o.complete_seq = seq;
            o.complete_us = trace::now_us();
        }
    }

    pub fn ops(&self) -> Vec<Op> {
        let h = self.0.lock().expect("history lock poisoned");
        h.ops.clone()
    }
}
