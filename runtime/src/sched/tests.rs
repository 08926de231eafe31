//! Host tests of the scheduler on the mock machine (see `mock.rs`).
//! They share one mock machine, so each takes `SERIAL` to keep the
//! goroutine counts they check their own.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::g::GStatus;
use super::mock::run;
use super::*;

static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn status_table_matches_go() {
    use GStatus::*;
    let w = Waiting(WaitReason::Sleep);
    for (from, to) in [(Idle, Runnable), (Dead, Runnable), (Runnable, Running), (Running, Runnable), (Running, w)] {
        assert!(from.can_become(to), "{from:?} -> {to:?} must be legal");
    }
    for (from, to) in [(Running, Syscall), (Syscall, Running), (Syscall, Runnable), (w, Runnable), (Running, Dead)] {
        assert!(from.can_become(to), "{from:?} -> {to:?} must be legal");
    }
    for (from, to) in [(Idle, Running), (Runnable, Dead), (w, Running), (Dead, Running), (Runnable, w), (Dead, Dead)] {
        assert!(!from.can_become(to), "{from:?} -> {to:?} must be rejected");
    }
    assert_eq!(w.describe(), "sleep");
    assert_eq!(Waiting(WaitReason::SyncWaitGroupWait).describe(), "sync.WaitGroup.Wait");
}

#[test]
fn many_goroutines_all_run_and_the_count_returns() {
    let _s = serial();
    let (ran, live_before, live_after) = run(|| {
        let before = num_goroutine();
        let ran = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(2000);
        for _ in 0..2000 {
            let (ran, wg) = (ran.clone(), wg.clone());
            go(move || {
                ran.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        // The last `done` readies us before its goroutine has exited.
        while num_goroutine() > before {
            gosched();
        }
        (ran.load(Ordering::Relaxed), before, num_goroutine())
    });
    assert_eq!(ran, 2000);
    assert_eq!(live_after, live_before);
}

#[test]
fn gosched_lets_every_goroutine_progress() {
    let _s = serial();
    let rounds = run(|| {
        let counts: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let wg = Arc::new(WaitGroup::new());
        wg.add(8);
        for i in 0..8 {
            let (counts, stop, wg) = (counts.clone(), stop.clone(), wg.clone());
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                    gosched();
                }
                wg.done();
            });
        }
        while counts.iter().any(|c| c.load(Ordering::Relaxed) < 50) {
            gosched();
        }
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        counts.iter().map(|c| c.load(Ordering::Relaxed)).min().unwrap()
    });
    assert!(rounds >= 50);
}

#[test]
fn sleepers_wake_and_never_early() {
    let _s = serial();
    let early = run(|| {
        let early = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        let n = 300;
        wg.add(n);
        for i in 0..n as u64 {
            let (early, wg) = (early.clone(), wg.clone());
            go(move || {
                let d = 1_000_000 + (i * 7919) % 20_000_000;
                let t0 = machine::nanotime();
                sleep(d);
                if machine::nanotime() - t0 < d {
                    early.fetch_add(1, Ordering::Relaxed);
                }
                wg.done();
            });
        }
        wg.wait();
        early.load(Ordering::Relaxed)
    });
    assert_eq!(early, 0);
}

#[test]
fn park_and_ready_hand_over_a_goroutine() {
    let _s = serial();
    let seen = run(|| {
        let parked: Arc<Mutex<Option<&'static G>>> = Arc::new(Mutex::new(None));
        let woke = Arc::new(AtomicBool::new(false));
        let (p2, w2) = (parked.clone(), woke.clone());
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let wg2 = wg.clone();
        go(move || {
            gopark(WaitReason::Test, |g| {
                *p2.lock().unwrap() = Some(g);
                true
            });
            w2.store(true, Ordering::Release);
            wg2.done();
        });
        let g = loop {
            if let Some(g) = *parked.lock().unwrap() {
                break g;
            }
            gosched();
        };
        let status = g.status();
        let early = woke.load(Ordering::Acquire);
        goready(g);
        wg.wait();
        (status, early, woke.load(Ordering::Acquire))
    });
    assert_eq!(seen, (GStatus::Waiting(WaitReason::Test), false, true));
}

#[test]
fn an_unlock_function_returning_false_keeps_running() {
    let _s = serial();
    let ok = run(|| {
        let mut called = false;
        gopark(WaitReason::Test, |_| {
            called = true;
            false
        });
        called && getg().map(|g| g.status()) == Some(GStatus::Running)
    });
    assert!(ok);
}

#[test]
fn waitgroup_waiters_all_wake() {
    let _s = serial();
    let woke = run(|| {
        let gate = Arc::new(WaitGroup::new());
        gate.add(1);
        let all = Arc::new(WaitGroup::new());
        all.add(10);
        let woke = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let (gate, all, woke) = (gate.clone(), all.clone(), woke.clone());
            go(move || {
                gate.wait();
                woke.fetch_add(1, Ordering::Relaxed);
                all.done();
            });
        }
        sleep(2_000_000);
        let before = woke.load(Ordering::Relaxed);
        gate.done();
        all.wait();
        (before, woke.load(Ordering::Relaxed))
    });
    assert_eq!(woke, (0, 10));
}

#[test]
fn gomaxprocs_shrinks_and_grows_without_losing_goroutines() {
    let _s = serial();
    let (seen, done) = run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(16);
        for _ in 0..16 {
            let (stop, done, wg) = (stop.clone(), done.clone(), wg.clone());
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    let done = done.clone();
                    go(move || {
                        done.fetch_add(1, Ordering::Relaxed);
                    });
                    gosched();
                }
                wg.done();
            });
        }
        let mut seen = Vec::new();
        for n in [1, 3, 2, 4] {
            gomaxprocs(n);
            seen.push(gomaxprocs_now());
            sleep(5_000_000);
        }
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        (seen, done.load(Ordering::Relaxed))
    });
    assert_eq!(seen, [1, 3, 2, 4]);
    assert!(done > 0);
}

#[test]
fn a_blocking_call_returns_to_a_running_goroutine() {
    let _s = serial();
    let (v, status) = run(|| {
        let v = blocking(|| 41 + 1);
        (v, getg().map(|g| g.status()))
    });
    assert_eq!((v, status), (42, Some(GStatus::Running)));
}
