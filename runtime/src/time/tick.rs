//! `Ticker`: Go's time.Ticker (tick.go), a channel that receives the time
//! every period. Built on the same timer as [`super::Timer`], with a period:
//! each firing re-arms for the next multiple of the period after now, and
//! the send is non-blocking, so a slow reader misses ticks rather than
//! queueing them (Go: "adjusts the intervals or drops ticks").
use alloc::sync::Arc;

use super::{start, Action, TimerInner};
use crate::chan::Chan;

pub struct Ticker {
    inner: Arc<TimerInner>,
    /// Receives the time at every tick.
    pub c: Chan<u64>,
}

impl Ticker {
    /// Go's `time.NewTicker(d)`; panics on a zero period, as Go does
    /// (`non-positive interval for NewTicker`).
    pub fn new(d: u64) -> Ticker {
        assert!(d > 0, "non-positive interval for NewTicker");
        let c = Chan::new_timer();
        let inner = TimerInner::new(Action::Send(c.clone()), d);
        start(&inner, d);
        Ticker { inner, c }
    }

    /// Go's `Stop`: no more ticks; no tick sent before it is received after.
    pub fn stop(&self) {
        self.inner.stop_and_maybe_arm(None);
    }

    /// Go's `Reset`: stops the ticker and restarts it with period `d`.
    pub fn reset(&mut self, d: u64) {
        assert!(d > 0, "non-positive interval for Ticker.Reset");
        let c = self.c.clone();
        // The period is part of the shared timer: build a new one.
        self.inner.stop_and_maybe_arm(None);
        self.inner = TimerInner::new(Action::Send(c), d);
        start(&self.inner, d);
    }
}

impl Drop for Ticker {
    /// Unlike Go (whose GC collects an unreferenced ticker), a ticker's heap
    /// entry would keep it ticking forever: dropping the handle stops it.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Go's `time.Tick(d)`: a ticker's channel, for a ticker that is never
/// stopped (it ticks until the program ends).
pub fn tick(d: u64) -> Chan<u64> {
    let t = Ticker::new(d);
    let c = t.c.clone();
    core::mem::forget(t);
    c
}
