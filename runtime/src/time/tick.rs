//! `Ticker`: Go's time.Ticker (tick.go), a channel that receives the time
//! every period. Built on the same timer as [`super::Timer`], with a period:
//! each firing re-arms for the next multiple of the period after now, and
//! the send is non-blocking, so a slow reader misses ticks rather than
//! queueing them (Go: "adjusts the intervals or drops ticks").
use alloc::sync::Arc;
use core::time::Duration;

use super::{nanos, start, Action, Time, TimerInner};
use crate::chan::Chan;

/// Go's `time.Ticker`.
///
/// ```ignore
/// let ticker = gort::time::Ticker::new(Duration::from_millis(100));
/// for _ in 0..3 {
///     let t = ticker.c.recv().unwrap();
///     println!("tick at {}", t.unix_nano());
/// }
/// ticker.stop();
/// ```
pub struct Ticker {
    inner: Arc<TimerInner>,
    /// Receives the time at every tick.
    pub c: Chan<Time>,
}

impl Ticker {
    /// Go's `time.NewTicker(d)`; panics on a zero period, as Go does
    /// (`non-positive interval for NewTicker`).
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "non-positive interval for NewTicker");
        let c = Chan::new_timer();
        let inner = TimerInner::new(Action::Send(c.clone()), nanos(d));
        start(&inner, d);
        Ticker { inner, c }
    }

    /// Go's `Stop`: no more ticks; no tick sent before it is received after.
    pub fn stop(&self) {
        self.inner.stop_and_maybe_arm(None);
    }

    /// Go's `Reset`: stops the ticker and restarts it with period `d`.
    pub fn reset(&mut self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        let c = self.c.clone();
        // The period is part of the shared timer: build a new one.
        self.inner.stop_and_maybe_arm(None);
        self.inner = TimerInner::new(Action::Send(c), nanos(d));
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
pub fn tick(d: Duration) -> Chan<Time> {
    let t = Ticker::new(d);
    let c = t.c.clone();
    core::mem::forget(t);
    c
}
