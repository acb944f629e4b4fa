//! The run's event trace: every fault, message fate, election and client event, stamped with
//! virtual time. Two runs of one seed must produce the same trace (`tests/determinism.rs`).

use std::cell::RefCell;
use std::fmt::Write;

thread_local! {
    static TRACE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static START: RefCell<Option<tokio::time::Instant>> = const { RefCell::new(None) };
}

/// Starts a new trace; virtual time 0 is now.
pub fn reset() {
    TRACE.with(|t| t.borrow_mut().clear());
    START.with(|s| *s.borrow_mut() = Some(tokio::time::Instant::now()));
}

/// Virtual microseconds since `reset`.
pub fn now_us() -> u64 {
    START.with(|s| {
        let start = s.borrow().expect("trace::reset first");
        tokio::time::Instant::now()
            .duration_since(start)
            .as_micros() as u64
    })
}

/// Appends one event.
pub fn event(what: std::fmt::Arguments<'_>) {
    let mut line = String::new();
    let us = now_us();
    let _ = write!(line, "{:>6}.{:03}ms {what}", us / 1000, us % 1000);
    TRACE.with(|t| t.borrow_mut().push(line));
}

/// The trace so far.
pub fn take() -> Vec<String> {
    TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// `trace!("…", args)`: appends one event.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::trace::event(format_args!($($arg)*)) };
}
