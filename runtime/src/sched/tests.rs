//! Host tests of the scheduler on the mock machine (see `mock.rs`).
//! They share one mock machine, so each takes `SERIAL` to keep the
//! goroutine counts they check their own.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::g::GStatus;
use super::mock::{self, run};
use super::schedt::SCHED;
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

/// Go's `goschedImpl` ends with `wakep`: a goroutine that yields goes to
/// the global queue, where an idle P could run it, so a spinning M is
/// started if none is looking (without it, the yielding CPU ran the queue
/// alone while the other idled or not, whichever came first: Gosched at 2
/// vCPUs ran at ~650 or ~1,050 ns/op depending on the build).
#[test]
fn gosched_wakes_an_idle_p() {
    let _s = serial();
    let woke = run(|| {
        // Wait (without yielding: that is what is tested) until every other
        // P is idle and no M spins, then yield once.
        let others = SCHED.gomaxprocs.load(Ordering::Acquire) as u32 - 1;
        assert!(others > 0, "the mock machine has more than one CPU");
        while SCHED.npidle.load(Ordering::Acquire) < others || SCHED.nmspinning.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
        let before = mock::WAKES.load(Ordering::Relaxed);
        gosched();
        mock::WAKES.load(Ordering::Relaxed) - before
    });
    assert!(woke >= 1, "gosched woke no idle M ({woke} wake-ups) with work on the global queue");
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

/// This goroutine's mock CPU (stable until it next yields).
fn cpu_now() -> usize {
    let _irq = machine::IrqOff::new();
    machine::cpu()
}

/// Busy goroutines that yield in a loop and count, per CPU, where they ran;
/// a run on `locked_cpu` (the locked goroutine's CPU, or usize::MAX) while it
/// is set is a violation of the wiring.
fn spawn_samplers(
    n: usize,
    stop: &Arc<AtomicBool>,
    locked_cpu: &Arc<AtomicUsize>,
    per_cpu: &Arc<Vec<AtomicU64>>,
    violations: &Arc<AtomicU64>,
    wg: &Arc<WaitGroup>,
) {
    wg.add(n as i64);
    for _ in 0..n {
        let (stop, locked_cpu, per_cpu, violations, wg) =
            (stop.clone(), locked_cpu.clone(), per_cpu.clone(), violations.clone(), wg.clone());
        go(move || {
            while !stop.load(Ordering::Relaxed) {
                let c = cpu_now();
                if locked_cpu.load(Ordering::Acquire) == c {
                    violations.fetch_add(1, Ordering::Relaxed);
                }
                per_cpu[c].fetch_add(1, Ordering::Relaxed);
                gosched();
            }
            wg.done();
        });
    }
}

/// Runs `rounds` of gosched, sleep and WaitGroup parking on a locked
/// goroutine next to 8 samplers; returns (CPUs the locked goroutine was seen
/// on, violations, CPUs the samplers ran on while it was locked).
fn locked_rounds(rounds: usize, procs: usize) -> (Vec<usize>, u64, usize) {
    run(move || {
        let prev = gomaxprocs(procs);
        let stop = Arc::new(AtomicBool::new(false));
        let locked_cpu = Arc::new(AtomicUsize::new(usize::MAX));
        let per_cpu: Arc<Vec<AtomicU64>> = Arc::new((0..mock::NCPU).map(|_| AtomicU64::new(0)).collect());
        let violations = Arc::new(AtomicU64::new(0));
        let wg = Arc::new(WaitGroup::new());
        spawn_samplers(8, &stop, &locked_cpu, &per_cpu, &violations, &wg);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(WaitGroup::new());
        done.add(1);
        let (seen2, done2, locked2) = (seen.clone(), done.clone(), locked_cpu.clone());
        go(move || {
            lock_os_thread();
            let home = cpu_now();
            locked2.store(home, Ordering::Release);
            let mut cpus = vec![home];
            for i in 0..rounds {
                match i % 3 {
                    0 => gosched(),
                    1 => sleep(200_000),
                    _ => {
                        let wg = Arc::new(WaitGroup::new());
                        wg.add(1);
                        let wg2 = wg.clone();
                        go(move || wg2.done());
                        wg.wait();
                    }
                }
                cpus.push(cpu_now());
            }
            locked2.store(usize::MAX, Ordering::Release);
            unlock_os_thread();
            *seen2.lock().unwrap() = cpus;
            done2.done();
        });
        done.wait();
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        gomaxprocs(prev);
        let cpus = std::mem::take(&mut *seen.lock().unwrap());
        let home = cpus[0];
        let others = (0..mock::NCPU).filter(|&c| c != home && per_cpu[c].load(Ordering::Relaxed) > 0).count();
        (cpus, violations.load(Ordering::Relaxed), others)
    })
}

#[test]
fn a_locked_goroutine_stays_on_its_cpu_and_has_it_alone() {
    let _s = serial();
    let (cpus, violations, others) = locked_rounds(300, mock::NCPU);
    assert_eq!(cpus.len(), 301);
    assert!(cpus.iter().all(|&c| c == cpus[0]), "the locked goroutine moved: {cpus:?}");
    assert_eq!(violations, 0, "another goroutine ran on the locked CPU");
    assert!(others >= 1, "the other goroutines did not run elsewhere");
}

#[test]
fn a_locked_goroutine_with_one_p_hands_the_p_around() {
    let _s = serial();
    let (cpus, violations, _) = locked_rounds(150, 1);
    assert!(cpus.iter().all(|&c| c == cpus[0]), "the locked goroutine moved: {cpus:?}");
    assert_eq!(violations, 0, "another goroutine ran on the locked CPU");
}

#[test]
fn lock_os_thread_nests_and_unlock_lets_it_move() {
    let _s = serial();
    let (states, moved) = run(|| {
        let mut states = vec![locked_os_thread()];
        lock_os_thread();
        lock_os_thread();
        states.push(locked_os_thread());
        unlock_os_thread();
        states.push(locked_os_thread());
        unlock_os_thread();
        states.push(locked_os_thread());
        unlock_os_thread(); // unmatched: no-op, as in Go
        states.push(locked_os_thread());
        // Unlocked: with busy goroutines around, it runs on more than one CPU.
        let stop = Arc::new(AtomicBool::new(false));
        let none = Arc::new(AtomicUsize::new(usize::MAX));
        let per_cpu: Arc<Vec<AtomicU64>> = Arc::new((0..mock::NCPU).map(|_| AtomicU64::new(0)).collect());
        let wg = Arc::new(WaitGroup::new());
        spawn_samplers(8, &stop, &none, &per_cpu, &Arc::new(AtomicU64::new(0)), &wg);
        let first = cpu_now();
        let mut moved = false;
        for _ in 0..20_000 {
            gosched();
            if cpu_now() != first {
                moved = true;
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        (states, moved)
    });
    assert_eq!(states, [false, true, true, false, false]);
    assert!(moved, "an unlocked goroutine never changed CPU");
}

#[test]
fn gomaxprocs_changes_around_a_locked_goroutine() {
    let _s = serial();
    let (cpus, ok) = run(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let cpus = Arc::new(Mutex::new(Vec::new()));
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let (stop2, cpus2, wg2) = (stop.clone(), cpus.clone(), wg.clone());
        go(move || {
            lock_os_thread();
            while !stop2.load(Ordering::Relaxed) {
                cpus2.lock().unwrap().push(cpu_now());
                if cpus2.lock().unwrap().len() % 2 == 0 {
                    gosched();
                } else {
                    sleep(100_000);
                }
            }
            wg2.done(); // exits locked: the M is unwired and carries on
        });
        let mut ok = true;
        for n in [1, 3, 2, 4] {
            gomaxprocs(n);
            ok &= gomaxprocs_now() == n;
            sleep(5_000_000);
        }
        stop.store(true, Ordering::Relaxed);
        wg.wait();
        let cpus = std::mem::take(&mut *cpus.lock().unwrap());
        (cpus, ok)
    });
    assert!(ok);
    assert!(cpus.len() > 4 && cpus.iter().all(|&c| c == cpus[0]), "the locked goroutine moved: {cpus:?}");
}

static FORCED: AtomicU64 = AtomicU64::new(0);

#[test]
fn forcegc_runs_the_hook_once_per_period() {
    let _s = serial();
    let (calls, parked, live) = run(|| {
        let live = num_goroutine();
        let prev = set_forcegc_period(20_000_000);
        set_forcegc_hook(|| {
            FORCED.fetch_add(1, Ordering::Relaxed);
        });
        let calls0 = FORCED.load(Ordering::Relaxed);
        // Sleeping Ms halt and wake: sysmon's check runs as they wake.
        let t0 = machine::nanotime();
        while machine::nanotime() - t0 < 300_000_000 {
            sleep(2_000_000);
        }
        let calls = FORCED.load(Ordering::Relaxed) - calls0;
        set_forcegc_period(prev);
        let mut parked = 0;
        for _ in 0..1000 {
            for_each_g(|g| parked += usize::from(g.status() == GStatus::Waiting(WaitReason::ForceGCIdle)));
            if parked > 0 {
                break;
            }
            sleep(1_000_000);
        }
        (calls, parked, num_goroutine() - live)
    });
    assert!((5..=15).contains(&calls), "{calls} forced GCs in 300 ms with a 20 ms period");
    assert_eq!(parked, 1, "the helper parks as force gc (idle)");
    assert_eq!(live, 0, "the helper is a system goroutine");
}

#[test]
fn release_offers_exactly_the_parked_goroutines_stacks() {
    let _s = serial();
    let (parked_ids, offered, me, busy_id, stacks) = run(|| {
        const N: usize = 8;
        let gate = crate::chan::Chan::<()>::new(0);
        let ids = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let busy_id = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(N as i64 + 1);
        for _ in 0..N {
            let (gate, ids, wg) = (gate.clone(), ids.clone(), wg.clone());
            go(move || {
                ids.lock().unwrap().push(getg().unwrap().stack_bounds().unwrap().id);
                gate.recv();
                wg.done();
            });
        }
        // A goroutine that stays runnable: never offered.
        let (stop2, busy2, wg2) = (stop.clone(), busy_id.clone(), wg.clone());
        go(move || {
            busy2.store(getg().unwrap().stack_bounds().unwrap().id, Ordering::Release);
            while !stop2.load(Ordering::Acquire) {
                gosched();
            }
            wg2.done();
        });
        let waiting = |ids: &[usize]| {
            let mut n = 0;
            for_each_g(|g| {
                let id = g.stack_bounds().map(|s| s.id);
                n += usize::from(
                    g.status() == GStatus::Waiting(WaitReason::ChanReceive) && id.is_some_and(|id| ids.contains(&id)),
                );
            });
            n
        };
        while ids.lock().unwrap().len() < N || waiting(&ids.lock().unwrap()) < N || busy_id.load(Ordering::Acquire) == 0
        {
            gosched();
        }
        let released = release_parked_stacks();
        let offered = super::mock::last_released();
        let me = getg().unwrap().stack_bounds().unwrap().id;
        stop.store(true, Ordering::Release);
        gate.close();
        wg.wait();
        let parked_ids = ids.lock().unwrap().clone();
        (parked_ids, offered, me, busy_id.load(Ordering::Acquire), released.stacks)
    });
    for id in &parked_ids {
        assert!(offered.contains(id), "parked goroutine's stack {id} not offered: {offered:?}");
    }
    assert!(!offered.contains(&me), "the caller's own (running) stack was offered");
    assert!(!offered.contains(&busy_id), "a runnable goroutine's stack was offered");
    assert_eq!(stacks, offered.len());
}

#[test]
fn the_pressure_trigger_rests_at_an_eighth_and_halves_when_a_release_cannot_help() {
    use super::scavenge::{low_water, next_trigger};
    assert_eq!(low_water(8000), 1000);
    assert_eq!(next_trigger(5000, 8000), 1000, "a release that won memory back: back to rest");
    assert_eq!(next_trigger(1000, 8000), 1000);
    assert_eq!(next_trigger(600, 8000), 300, "one that could not: half of what is free");
    assert_eq!(next_trigger(0, 8000), 1, "never 0, which means the resting level");
}

#[test]
fn goroutines_release_stacks_when_memory_runs_low_and_only_then() {
    use super::scavenge::set_frames;
    let _s = serial();
    let spawn_and_wait = |n: usize| {
        run(move || {
            let wg = Arc::new(WaitGroup::new());
            wg.add(n as i64);
            for _ in 0..n {
                let wg = wg.clone();
                go(move || wg.done());
            }
            wg.wait();
        })
    };
    let before = pressure_releases();
    set_frames(1 << 20, Some(1 << 20));
    spawn_and_wait(100);
    assert_eq!(pressure_releases(), before, "plenty of memory: no release");
    // 100 of 1,000 frames free: below an eighth.
    set_frames(100, Some(1000));
    spawn_and_wait(1);
    let released = pressure_releases() - before;
    set_frames(1 << 20, Some(1 << 20));
    assert!(released >= 1, "a goroutine starting or exiting below the trigger releases stacks");
    // The release could not help (the mock frees nothing): the trigger fell
    // to half of what was free, so the same shortage does not stop the world
    // at every goroutine.
    let before = pressure_releases();
    set_frames(100, Some(1000));
    spawn_and_wait(20);
    let again = pressure_releases() - before;
    set_frames(1 << 20, Some(1 << 20));
    assert_eq!(again, 0, "100 free is above the lowered trigger (50)");
}

/// The layering rule of `mod.rs`: no file of the bottom layer names a file
/// of the top one (outside its own tests).
#[test]
fn the_bottom_layer_never_imports_the_scheduler() {
    const BOTTOM: [(&str, &str); 10] = [
        ("machine", include_str!("machine.rs")),
        ("lock", include_str!("lock.rs")),
        ("lockrank", include_str!("lockrank.rs")),
        ("g", include_str!("g.rs")),
        ("p", include_str!("p.rs")),
        ("m", include_str!("m.rs")),
        ("schedt", include_str!("schedt.rs")),
        ("timer", include_str!("timer.rs")),
        ("sudog", include_str!("sudog.rs")),
        ("traceback", include_str!("traceback.rs")),
    ];
    const TOP: [&str; 9] = ["proc", "idle", "lockosthread", "time", "preempt", "stw", "syscall", "forcegc", "scavenge"];
    for (name, source) in BOTTOM {
        let code = source.split("#[cfg(test)]\nmod tests").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for top in TOP {
                for path in [
                    format!("super::{top}::"),
                    format!("super::{top};"),
                    format!("super::{{{top}"),
                    format!("sched::{top}::"),
                    format!("sched::{top};"),
                ] {
                    assert!(!line.contains(&path), "{name}.rs (bottom layer) uses {top}.rs (top layer): {line}");
                }
            }
        }
    }
}
