//! Host tests of channel timers on the mock machine.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use core::time::Duration;

use super::*;
use crate::chan::TryRecvError;
use crate::sched::mock::run;
use crate::sched::sleep;
use crate::sched::tests::serial;

const MS: Duration = Duration::from_millis(1);
/// The scheduler's own sleep takes nanoseconds.
const MS_NS: u64 = 1_000_000;

#[test]
fn after_fires_not_early() {
    let _s = serial();
    let (start, got) = run(|| {
        let start = now();
        let c = after(5 * MS);
        sleep(50 * MS_NS); // received late: the value stays the due time
        (start, c.recv().unwrap())
    });
    assert!(!got.before(start + 5 * MS), "fired {:?} early", (start + 5 * MS) - got);
    assert!(
        got - start < 40 * MS,
        "the value is the time it was due (Go's sendTime), not when it was sent or received: {:?}",
        got - start
    );
}

#[test]
fn stop_before_firing_prevents_the_value() {
    let _s = serial();
    let (was_pending, later) = run(|| {
        let t = Timer::new(5 * MS);
        let was_pending = t.stop();
        sleep(15 * MS_NS);
        (was_pending, t.c.try_recv())
    });
    assert!(was_pending);
    assert_eq!(later, Err(TryRecvError::Empty));
}

#[test]
fn stop_after_firing_leaves_no_stale_value() {
    let _s = serial();
    let (len_cap, was_pending, later) = run(|| {
        let t = Timer::new(MS);
        sleep(10 * MS_NS); // fired: the value waits in the channel
        let len_cap = (t.c.len(), t.c.cap());
        (len_cap, t.stop(), t.c.try_recv())
    });
    assert_eq!(len_cap, (0, 0), "timer channels look unbuffered");
    assert!(!was_pending);
    assert_eq!(later, Err(TryRecvError::Empty), "Go 1.23: no value after Stop returns");
}

#[test]
fn reset_moves_the_deadline() {
    let _s = serial();
    let (reset_at, got) = run(|| {
        let t = Timer::new(2 * MS);
        let reset_at = now();
        assert!(t.reset(20 * MS), "still pending when reset");
        (reset_at, t.c.recv().unwrap())
    });
    assert!(!got.before(reset_at + 20 * MS), "fired at the old deadline");
}

#[test]
fn after_func_runs_once_per_arming_and_stop_cancels() {
    let _s = serial();
    let (first, second, cancelled) = run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let t = after_func(MS, move || {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        sleep(10 * MS_NS);
        let first = n.load(Ordering::SeqCst);
        t.reset(MS);
        sleep(10 * MS_NS);
        let second = n.load(Ordering::SeqCst);
        t.reset(5 * MS);
        let cancelled = t.stop();
        sleep(15 * MS_NS);
        (first, second, cancelled && n.load(Ordering::SeqCst) == 2)
    });
    assert_eq!((first, second), (1, 2));
    assert!(cancelled);
}

#[test]
fn ticker_ticks_every_period_until_stopped() {
    let _s = serial();
    let (ticks, gaps_ok, after_stop) = run(|| {
        let t = Ticker::new(3 * MS);
        let mut last = now();
        let mut gaps_ok = true;
        for _ in 0..10 {
            let tick = t.c.recv().unwrap();
            gaps_ok &= !tick.before(last); // ticks never go backwards
            last = tick;
        }
        t.stop();
        sleep(10 * MS_NS);
        (10, gaps_ok, t.c.try_recv())
    });
    assert_eq!(ticks, 10);
    assert!(gaps_ok);
    assert_eq!(after_stop, Err(TryRecvError::Empty));
}

#[test]
fn ticker_reset_changes_the_period() {
    let _s = serial();
    let (reset_at, ticks) = run(|| {
        let mut t = Ticker::new(1_000 * MS);
        sleep(MS_NS);
        let reset_at = now();
        t.reset(2 * MS);
        let ticks: Vec<Time> = (0..3).map(|_| t.c.recv().unwrap()).collect();
        t.stop();
        (reset_at, ticks)
    });
    // Three ticks on the new period's schedule, none early (tick k is due
    // at reset + k periods; like Go's, its value is the time it was due, a
    // later period's if a slow reader missed some), and long before the old
    // one-second period would have produced even one.
    for (k, &t) in ticks.iter().enumerate() {
        let due = reset_at + (k as u32 + 1) * 2 * MS;
        assert!(!t.before(due), "tick {k} early: {ticks:?} after reset at {reset_at:?}");
    }
    assert!(ticks[2] - reset_at < 500 * MS, "still on the old period: {ticks:?}");
}

#[test]
fn select_with_a_timeout() {
    let _s = serial();
    let (timed_out, got) = run(|| {
        let quiet = Chan::<u32>::new(0);
        let timed_out = crate::select! {
            recv(quiet) -> _v => false,
            recv(after(2 * MS)) -> _t => true,
        };
        let busy = Chan::<u32>::new(1);
        busy.send(7);
        let got = crate::select! {
            recv(busy) -> v => v,
            recv(after(1_000 * MS)) -> _t => None,
        };
        (timed_out, got)
    });
    assert!(timed_out);
    assert_eq!(got, Some(7));
}
