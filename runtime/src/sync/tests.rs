//! Host tests of the sync package on the mock machine.
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use super::*;
use crate::chan::Chan;
use crate::sched::mock::run;
use crate::sched::tests::serial;
use crate::sched::{go, gosched, sleep};

/// Runs `n` goroutines of `f(i)` and waits for all of them.
fn spawn_all(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let wg = Arc::new(WaitGroup::new());
    for i in 0..n {
        let f = f.clone();
        wg.go(move || f(i));
    }
    wg.wait();
}

#[test]
fn mutex_counter_is_exact() {
    let _s = serial();
    let n = run(|| {
        let m = Arc::new(Mutex::new(0u64));
        let m2 = m.clone();
        spawn_all(8, move |_| {
            for _ in 0..2000 {
                let mut g = m2.lock();
                *g += 1;
                assert!(m2.try_lock().is_none(), "try_lock succeeded on a held mutex");
                drop(g);
            }
        });
        let n = *m.lock();
        n
    });
    assert_eq!(n, 16_000);
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let m = Mutex::new(5);
    let g = m.try_lock().expect("free mutex");
    assert!(m.try_lock().is_none());
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), 5);
}

#[test]
fn a_starving_waiter_gets_the_mutex_from_a_greedy_holder() {
    let _s = serial();
    let waited = run(|| {
        let m = Arc::new(RawMutex::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (m2, stop2) = (m.clone(), stop.clone());
        m.lock();
        let greedy_started = Arc::new(AtomicBool::new(false));
        let gs = greedy_started.clone();
        // The greedy goroutine keeps relocking at once after every unlock.
        go(move || {
            gs.store(true, Ordering::Relaxed);
            while !stop2.load(Ordering::Relaxed) {
                m2.lock();
                let t = crate::sched::machine::nanotime();
                while crate::sched::machine::nanotime() - t < 200_000 {}
                m2.unlock();
            }
        });
        let done = Chan::<u64>::new(1);
        let (m3, d2) = (m.clone(), done.clone());
        go(move || {
            let t = crate::sched::machine::nanotime();
            m3.lock(); // waits well over 1 ms: starvation mode hands it over
            let waited = crate::sched::machine::nanotime() - t;
            m3.unlock();
            d2.send(waited);
        });
        while !greedy_started.load(Ordering::Relaxed) {
            gosched();
        }
        sleep(3_000_000);
        m.unlock();
        let waited = done.recv().unwrap();
        stop.store(true, Ordering::Relaxed);
        waited
    });
    assert!(waited < 2_000_000_000, "the waiter starved for {waited} ns");
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    let _s = serial();
    let (max_readers, total) = run(|| {
        let l = Arc::new(RwLock::new(0u64));
        let readers = Arc::new(AtomicU32::new(0));
        let max = Arc::new(AtomicU32::new(0));
        let (l2, r2, m2) = (l.clone(), readers.clone(), max.clone());
        spawn_all(8, move |i| {
            for k in 0..300 {
                if (i + k) % 4 == 0 {
                    let mut w = l2.write();
                    assert_eq!(r2.load(Ordering::SeqCst), 0, "a reader inside a write lock");
                    *w += 1;
                } else {
                    let r = l2.read();
                    let now = r2.fetch_add(1, Ordering::SeqCst) + 1;
                    m2.fetch_max(now, Ordering::Relaxed);
                    let _ = *r;
                    for _ in 0..50 {
                        core::hint::spin_loop();
                    }
                    r2.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
        let total = *l.read();
        (max.load(Ordering::Relaxed), total)
    });
    assert_eq!(total, 8 * 300 / 4);
    assert!(max_readers >= 1);
}

#[test]
fn a_waiting_writer_blocks_new_readers() {
    let _s = serial();
    let order = run(|| {
        let l = Arc::new(RawRwMutex::new());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        l.rlock();
        let (l2, o2) = (l.clone(), order.clone());
        let writer = Arc::new(WaitGroup::new());
        writer.go(move || {
            l2.lock();
            o2.lock().unwrap().push("writer");
            l2.unlock();
        });
        // Wait until the writer is pending (it made reader_count negative).
        while l.try_rlock() {
            l.runlock();
            gosched();
        }
        let (l3, o3) = (l.clone(), order.clone());
        let reader = Arc::new(WaitGroup::new());
        reader.go(move || {
            l3.rlock();
            o3.lock().unwrap().push("late reader");
            l3.runlock();
        });
        sleep(2_000_000);
        order.lock().unwrap().push("first reader leaves");
        l.runlock();
        writer.wait();
        reader.wait();
        let v = order.lock().unwrap().clone();
        v
    });
    assert_eq!(order, vec!["first reader leaves", "writer", "late reader"]);
}

#[test]
fn waitgroup_releases_every_waiter() {
    let _s = serial();
    let woke = run(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(3);
        let woke = Arc::new(AtomicUsize::new(0));
        let waiters = Arc::new(WaitGroup::new());
        for _ in 0..5 {
            let (wg, woke) = (wg.clone(), woke.clone());
            waiters.go(move || {
                wg.wait();
                woke.fetch_add(1, Ordering::Relaxed);
            });
        }
        for _ in 0..3 {
            sleep(1_000_000);
            assert_eq!(woke.load(Ordering::Relaxed), 0, "a waiter returned before the count hit zero");
            wg.done();
        }
        waiters.wait();
        woke.load(Ordering::Relaxed)
    });
    assert_eq!(woke, 5);
}

#[test]
#[should_panic(expected = "sync: negative WaitGroup counter")]
fn negative_waitgroup_counter_panics() {
    WaitGroup::new().done();
}

#[test]
fn once_runs_once_and_everyone_waits_for_it() {
    let _s = serial();
    let (runs, all_saw_done) = run(|| {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let saw = Arc::new(AtomicUsize::new(0));
        let (o, r, s) = (once.clone(), runs.clone(), saw.clone());
        spawn_all(10, move |_| {
            o.call_once(|| {
                sleep(2_000_000);
                r.fetch_add(1, Ordering::SeqCst);
            });
            if r.load(Ordering::SeqCst) == 1 {
                s.fetch_add(1, Ordering::SeqCst);
            }
        });
        (runs.load(Ordering::SeqCst), saw.load(Ordering::SeqCst) == 10 && once.is_done())
    });
    assert_eq!(runs, 1);
    assert!(all_saw_done);
}

#[test]
fn cond_signal_wakes_one_and_broadcast_wakes_all() {
    let _s = serial();
    let (after_signal, after_broadcast) = run(|| {
        let state = Arc::new((Mutex::new(0u32), Cond::new()));
        let woke = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..4 {
            let (state, woke) = (state.clone(), woke.clone());
            wg.go(move || {
                let (m, c) = &*state;
                let mut g = m.lock();
                let seen = *g;
                while *g == seen {
                    g = c.wait(g);
                }
                drop(g);
                woke.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Wait until all four are parked on the cond.
        while state.1.notify_waiters() < 4 {
            gosched();
        }
        *state.0.lock() += 1;
        state.1.signal();
        while woke.load(Ordering::SeqCst) < 1 {
            gosched();
        }
        sleep(2_000_000);
        let after_signal = woke.load(Ordering::SeqCst);
        state.1.broadcast();
        wg.wait();
        (after_signal, woke.load(Ordering::SeqCst))
    });
    assert_eq!(after_signal, 1);
    assert_eq!(after_broadcast, 4);
}

#[test]
fn semaphore_admits_at_most_its_permits() {
    let _s = serial();
    let (max, left) = run(|| {
        let sem = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicU32::new(0));
        let max = Arc::new(AtomicU32::new(0));
        let (s2, i2, m2) = (sem.clone(), inside.clone(), max.clone());
        spawn_all(10, move |_| {
            for _ in 0..20 {
                s2.acquire();
                let now = i2.fetch_add(1, Ordering::SeqCst) + 1;
                m2.fetch_max(now, Ordering::SeqCst);
                gosched();
                i2.fetch_sub(1, Ordering::SeqCst);
                s2.release();
            }
        });
        (max.load(Ordering::SeqCst), sem.available())
    });
    assert!(max <= 3, "{max} goroutines inside a 3-permit semaphore");
    assert_eq!(left, 3);
}

#[test]
fn mutex_spinning_is_bounded_and_never_with_one_p() {
    use crate::sched::proc::sync_can_spin;
    let _s = serial();
    let (could_spin, past_four_rounds, with_one_p) = run(|| {
        // Busy goroutines keep the other Ps running, the one case where Go
        // lets a contended Lock spin. They yield, since the mock machine has
        // no asynchronous preemption to take a P back from a bare loop.
        let stop = Arc::new(AtomicBool::new(false));
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..3 {
            let (stop, wg) = (stop.clone(), wg.clone());
            wg.add(1);
            go(move || {
                while !stop.load(Ordering::Relaxed) {
                    gosched();
                }
                wg.done();
            });
        }
        let mut could_spin = false;
        for _ in 0..1000 {
            if sync_can_spin(0) {
                could_spin = true;
                break;
            }
            sleep(1_000_000);
        }
        let past_four_rounds = (4..64).any(sync_can_spin);
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        let prev = crate::sched::gomaxprocs(1);
        let with_one_p = (0..4).any(sync_can_spin);
        crate::sched::gomaxprocs(prev);
        (could_spin, past_four_rounds, with_one_p)
    });
    assert!(could_spin, "never allowed to spin with every other P busy");
    assert!(!past_four_rounds, "a contended Lock spins at most 4 rounds, as Go's");
    assert!(!with_one_p, "spinning with GOMAXPROCS 1 only delays the holder");
}
