//! The timer a P's heap holds (Go's `timer`): a deadline, a function and
//! its argument, and where in which heap it sits. Part of the bottom layer
//! (a G embeds one for `sleep`, a P's heap holds pointers to them); adding,
//! deleting and running timers is the scheduler's business (`time.rs`).
//!
//! ## Invariants
//! - `pp` is the P id + 1 whose heap holds the timer, 0 when in none; `index`
//!   is its heap slot while there. Both change only under that P's `timers`
//!   lock; `del_timer` reads `pp` without it to find the lock, then re-checks
//!   under it.
//! - A timer's memory stays put while it is in a heap: the heap holds raw
//!   pointers ([`TimerRef`]).
use core::sync::atomic::AtomicUsize;

use crate::timers::HeapItem;

/// What a timer runs: `f(arg, seq)`, with the `seq` it was armed with.
pub type TimerFn = fn(usize, u64);

/// A one-shot timer: at `when`, `f(arg, seq)` runs on some M's scheduler stack.
pub struct Timer {
    pub(crate) when: u64,
    pub(crate) f: TimerFn,
    pub(crate) arg: usize,
    /// The owner's arming sequence number, handed back to `f` (Go 1.23's
    /// `seq`): a function that runs after its timer was stopped or reset
    /// (it was already popped when the owner looked) recognizes itself as stale.
    pub(crate) seq: u64,
    pub(crate) index: usize,
    /// P id + 1 of the heap holding the timer, 0 in none. Written under that
    /// P's timer lock; read without it by `del_timer` to find the lock.
    pub(crate) pp: AtomicUsize,
}

impl Timer {
    pub const fn new() -> Timer {
        Timer { when: 0, f: |_, _| {}, arg: 0, seq: 0, index: 0, pp: AtomicUsize::new(0) }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

/// What a heap stores: a pointer to a pinned [`Timer`].
pub struct TimerRef(pub(crate) *mut Timer);

// SAFETY: a TimerRef lives only inside a P's heap, under its lock; the timer
// it points to is pinned and accessed under that lock.
unsafe impl Send for TimerRef {}

impl HeapItem for TimerRef {
    fn when(&self) -> u64 {
        // SAFETY: the timer is pinned while in a heap, and we hold the heap's lock.
        unsafe { (*self.0).when }
    }
    fn set_index(&mut self, index: usize) {
        // SAFETY: as above.
        unsafe { (*self.0).index = index };
    }
}
