//! Channel timers: Go's time.Timer, time.After, time.AfterFunc (sleep.go)
//! and time.Ticker (tick.go), on the per-P timer heaps of
//! [`crate::sched::time`]; and the clock, `now()` and `Time` ([`now`]).
//!
//! ## Design
//! A [`Timer`] owns a shared `TimerInner`: a runtime timer (pinned in the
//! `Arc`'s allocation), what to do when it fires (send the time on a channel,
//! or start a goroutine), an optional period (tickers), and under the
//! timer's own lock (Go's `t.mu`) an arming sequence number.
//!
//! 1. Arming adds the runtime timer to the calling goroutine's P, with
//!    `arg` = a strong reference to the inner (`Arc::into_raw`): a pending
//!    timer is kept alive by its heap even when every handle is dropped, as
//!    Go's GC keeps a pending timer reachable.
//! 2. Firing (on some M's scheduler stack, `check_timers`): lock the timer;
//!    if the `seq` it was armed with is not the current one, it was stopped
//!    or reset after being popped: do nothing. Otherwise a channel timer does
//!    a non-blocking send of the current time (a ticker re-arms itself first,
//!    for the next period after now, dropping ticks a slow reader missed, as
//!    Go does); a func timer starts `f` on a new goroutine (Go's `goFunc`).
//!    The heap's reference is then released.
//! 3. `stop`/`reset`: lock the timer, bump `seq`, delete the runtime timer
//!    from its heap (releasing the heap's reference), drain the channel (so
//!    no value sent before the call is received after it), and for `reset`
//!    arm again. `stop` reports whether the timer was still pending.
//!
//! ## Go 1.23 semantics
//! A timer channel holds at most one value and reports `len` and `cap` 0,
//! as Go's "synchronous" timer channels do; after `stop` or `reset` returns
//! no stale value can be received (the drain plus the `seq` check). The
//! value sent is the [`Time`] the timer was due (Go's `sendTime` sends
//! `Now()` less how late the send is).
//!
//! Lock order: the timer's lock → a P's timer heap lock (add/delete), and
//! the timer's lock → the channel's lock (send, drain). A timer function
//! runs with the heap lock released, so it may take the timer's lock.
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::time::Duration;

use crate::chan::Chan;
use crate::sched::lock::GLock;
use crate::sched::lockrank::LockRank;
use crate::sched::machine;
use crate::sched::time::{add_timer_here, del_timer, Timer as RuntimeTimer};

mod now;
mod tick;

pub(crate) use now::nanos;
pub use now::{now, since, Time};
pub use tick::{tick, Ticker};

/// What a firing timer does.
enum Action {
    /// Send the time on the channel (Go's `sendTime`).
    Send(Chan<Time>),
    /// Start the function on a new goroutine (Go's `goFunc`).
    Go(Arc<dyn Fn() + Send + Sync>),
}

struct TimerInner {
    /// Arming sequence number (Go's `t.seq`), under the lock.
    seq: GLock<u64>,
    /// The runtime timer; pinned here for the inner's life.
    rt: UnsafeCell<RuntimeTimer>,
    action: Action,
    /// Ticker period in ns (0: one-shot).
    period: u64,
}

// SAFETY: `rt` is touched only under the timer's lock (arm, delete) or by
// the heap that holds it, under that heap's lock.
unsafe impl Sync for TimerInner {}
// SAFETY: as above.
unsafe impl Send for TimerInner {}

impl TimerInner {
    fn new(action: Action, period: u64) -> Arc<TimerInner> {
        Arc::new(TimerInner {
            seq: GLock::new(LockRank::TimerSeq, 0),
            rt: UnsafeCell::new(RuntimeTimer::new()),
            action,
            period,
        })
    }

    /// Adds the runtime timer to this P's heap for `when`. Timer lock held.
    fn arm(self: &Arc<Self>, seq: u64, when: u64) {
        let arg = Arc::into_raw(self.clone()) as usize;
        // SAFETY: the runtime timer lives in the inner, which the heap's
        // reference (`arg`) keeps alive until it fires or is deleted.
        unsafe { add_timer_here(self.rt.get(), when, fire, arg, seq) };
    }

    /// Takes the runtime timer out of its heap; true if it was there. Timer
    /// lock held.
    fn disarm(&self) -> bool {
        // SAFETY: the runtime timer is pinned in `self`.
        let was = unsafe { del_timer(self.rt.get()) };
        if was {
            // SAFETY: the heap held the reference `arm` leaked; it is ours now.
            drop(unsafe { Arc::from_raw(self as *const TimerInner) });
        }
        was
    }

    /// Stops the timer (and, with `when`, re-arms it): Go's `t.stop`/`t.modify`.
    fn stop_and_maybe_arm(self: &Arc<Self>, when: Option<u64>) -> bool {
        let mut seq = self.seq.lock();
        *seq += 1;
        let pending = self.disarm();
        if let Action::Send(c) = &self.action {
            let hc = c.hchan().expect("timer channels are not nil");
            let _g = hc.lock();
            // SAFETY: the channel's lock is held.
            unsafe { hc.drain() };
        }
        if let Some(when) = when {
            self.arm(*seq, when);
        }
        pending
    }
}

/// The runtime timer's function: `arg` is the heap's strong reference.
fn fire(arg: usize, seq: u64) {
    // SAFETY: `arm` leaked this reference for the heap; the heap gave it up
    // by popping the timer, so it is ours.
    let t = unsafe { Arc::from_raw(arg as *const TimerInner) };
    let (wall, now) = machine::time_now();
    let guard = t.seq.lock();
    if *guard != seq {
        return; // stopped or reset after it was popped
    }
    match &t.action {
        Action::Send(c) => {
            // SAFETY: as in `arm`: we hold the timer's lock.
            let due = unsafe { (*t.rt.get()).when };
            if t.period > 0 {
                // Next tick after now: ticks a slow reader missed are dropped.
                // SAFETY: as in `arm`: we hold the timer's lock.
                let when = unsafe { (*t.rt.get()).when };
                let next = when + t.period * ((now - when) / t.period + 1);
                t.arm(seq, next);
            }
            let _ = c.try_send(Time::earlier_by(wall, now, now.saturating_sub(due)));
        }
        Action::Go(f) => {
            let f = f.clone();
            drop(guard);
            crate::sched::go(move || f());
        }
    }
}

/// Go's `time.Timer`: fires once, `d` after it is made or reset.
///
/// ```ignore
/// let t = gort::time::Timer::new(Duration::from_millis(50));
/// select! {
///     recv(t.c) -> _ => println!("too slow"),
///     recv(done) -> _ => { t.stop(); }
/// }
/// ```
pub struct Timer {
    inner: Arc<TimerInner>,
    /// Receives the time the timer was due when it fires (nil for
    /// `after_func` timers).
    pub c: Chan<Time>,
}

impl Timer {
    /// Go's `time.NewTimer(d)`.
    pub fn new(d: Duration) -> Timer {
        let c = Chan::new_timer();
        let inner = TimerInner::new(Action::Send(c.clone()), 0);
        start(&inner, d);
        Timer { inner, c }
    }

    /// Go's `Stop`: prevents the timer from firing; true if it was pending.
    /// No value sent before the call can be received after it.
    pub fn stop(&self) -> bool {
        self.inner.stop_and_maybe_arm(None)
    }

    /// Go's `Reset`: fires `d` from now instead; true if it was pending.
    pub fn reset(&self, d: Duration) -> bool {
        let when = machine::nanotime().saturating_add(nanos(d));
        self.inner.stop_and_maybe_arm(Some(when))
    }
}

fn start(inner: &Arc<TimerInner>, d: Duration) {
    let when = machine::nanotime().saturating_add(nanos(d));
    let seq = inner.seq.lock();
    inner.arm(*seq, when);
}

/// Go's `time.After(d)`: a channel that receives the time after `d`.
///
/// ```ignore
/// select! {
///     recv(results) -> r => println!("{r:?}"),
///     recv(gort::time::after(Duration::from_secs(1))) -> _ => println!("timed out"),
/// }
/// ```
pub fn after(d: Duration) -> Chan<Time> {
    Timer::new(d).c
}

/// Go's `time.AfterFunc(d, f)`: runs `f` on its own goroutine after `d`
/// (again after each `reset`); `stop` cancels it.
///
/// ```ignore
/// let t = gort::time::after_func(Duration::from_millis(10), || println!("ding"));
/// ```
pub fn after_func(d: Duration, f: impl Fn() + Send + Sync + 'static) -> Timer {
    let f: Arc<dyn Fn() + Send + Sync> = Arc::new(f);
    let inner = TimerInner::new(Action::Go(f), 0);
    start(&inner, d);
    Timer { inner, c: Chan::nil() }
}

/// Go's `time.Sleep(d)`: parks the goroutine for at least `d`.
///
/// ```ignore
/// gort::time::sleep(Duration::from_millis(100));
/// ```
pub fn sleep(d: Duration) {
    crate::sched::sleep(nanos(d));
}

#[cfg(test)]
mod tests;
