//! `test=lockosthread`: a goroutine wired to its CPU by `lock_os_thread`
//! runs only there, and nothing else runs there meanwhile.
//!
//! 1. Workers (two per CPU) spin doing integer work, so they are preempted
//!    at every slice and every CPU stays busy. Each sample reads its CPU and
//!    the locked CPU with interrupts off (one instant: it cannot be moved
//!    between the two reads) and counts itself per CPU; a sample on the
//!    locked CPU while the lock is held is a violation.
//! 2. A goroutine locks itself and, for 300 ms, cycles through `sleep(1 ms)`,
//!    `gosched`, parking on a WaitGroup that a helper goroutine releases
//!    after 0.5 ms, and spinning for 10 ms (five slices with `timeslice=2000`:
//!    it is preempted), reading its CPU after every step and throughout the
//!    spin. Preemptions are counted on the locked CPU (only the locked
//!    goroutine runs there, so they are all its own).
//! 3. Meanwhile the main goroutine stops the world every 20 ms, switching
//!    GOMAXPROCS between 2 and its first value: the stop preempts the locked
//!    goroutine, whose M must hand its P to the stopper.
//! 4. It unlocks and yields until it runs on another CPU, while workers
//!    count their runs on the formerly locked CPU.
//!
//! Pass: the locked goroutine was always on one CPU, no worker ran there
//! while it was locked, it was preempted, workers ran on every other CPU (on
//! some other CPU with fewer Ps than CPUs), and after the unlock it moved and
//! workers used its CPU (with GOMAXPROCS=1 the one P need not move: only the
//! latter is required).
//!
//! `test=lockdeadlock`: every goroutine blocked, two of them locked, the
//! forced-GC helper parked: the deadlock is still reported.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use runtime::sched::{self, machine::IrqOff, WaitGroup};

use crate::arch::{self, percpu};
use crate::println;

const NONE: usize = usize::MAX;
const LOCKED_NS: u64 = 300_000_000;
const SPIN_NS: u64 = 10_000_000;

struct Shared {
    stop: AtomicBool,
    /// The locked goroutine's CPU while it holds the lock, else NONE.
    locked_cpu: AtomicUsize,
    /// Set once the goroutine has unlocked.
    unlocked: AtomicBool,
    violations: AtomicU64,
    /// Worker samples per CPU while the lock was held, and after.
    while_locked: Vec<AtomicU64>,
    after: Vec<AtomicU64>,
}

/// This CPU, read with interrupts off, and `locked_cpu` at the same instant.
fn sample(s: &Shared) -> (usize, usize) {
    let _irq = IrqOff::new();
    (arch::cpu_id(), s.locked_cpu.load(Ordering::Acquire))
}

fn worker(s: Arc<Shared>, wg: Arc<WaitGroup>) {
    let mut x = 1u64;
    while !s.stop.load(Ordering::Relaxed) {
        let (cpu, locked) = sample(&s);
        if locked != NONE {
            s.violations.fetch_add(u64::from(cpu == locked), Ordering::Relaxed);
            s.while_locked[cpu].fetch_add(1, Ordering::Relaxed);
        } else if s.unlocked.load(Ordering::Acquire) {
            s.after[cpu].fetch_add(1, Ordering::Relaxed);
        }
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        core::hint::black_box(x);
    }
    wg.done();
}

#[derive(Default)]
struct Report {
    home: usize,
    rounds: [u64; 4],
    checks: u64,
    off_home: u64,
    preempted: u64,
    moved_to: Option<usize>,
}

/// The locked goroutine's life (steps 2 and 4).
fn locked_life(s: &Shared) -> Report {
    sched::lock_os_thread();
    let home = sample(s).0;
    s.locked_cpu.store(home, Ordering::Release);
    let mut r = Report { home, ..Report::default() };
    let check = |r: &mut Report| {
        r.checks += 1;
        r.off_home += u64::from(sample(s).0 != home);
    };
    let preempt0 = percpu::get(home).preemptions.load(Ordering::Relaxed);
    let t0 = arch::nanotime();
    let mut step = 0;
    while arch::nanotime() - t0 < LOCKED_NS {
        match step % 4 {
            0 => sched::sleep(1_000_000),
            1 => sched::gosched(),
            2 => {
                let wg = Arc::new(WaitGroup::new());
                wg.add(1);
                let wg2 = wg.clone();
                sched::go(move || {
                    sched::sleep(500_000);
                    wg2.done();
                });
                wg.wait();
            }
            _ => {
                let until = arch::nanotime() + SPIN_NS;
                while arch::nanotime() < until {
                    check(&mut r);
                }
            }
        }
        r.rounds[step % 4] += 1;
        check(&mut r);
        step += 1;
    }
    r.preempted = percpu::get(home).preemptions.load(Ordering::Relaxed) - preempt0;
    s.locked_cpu.store(NONE, Ordering::Release);
    sched::unlock_os_thread();
    s.unlocked.store(true, Ordering::Release);
    let t1 = arch::nanotime();
    for i in 0.. {
        if arch::nanotime() - t1 > 500_000_000 {
            break; // with one P it need not move: that P stays on this CPU
        }
        if i % 2 == 0 {
            sched::gosched();
        } else {
            sched::sleep(100_000);
        }
        let cpu = sample(s).0;
        if cpu != home {
            r.moved_to = Some(cpu);
            break;
        }
    }
    // Leave the workers time to come back to the freed CPU.
    sched::sleep(50_000_000);
    r
}

pub fn lockosthread() -> bool {
    let ncpu = sched::num_cpu();
    let procs = sched::gomaxprocs_now();
    let s = Arc::new(Shared {
        stop: AtomicBool::new(false),
        locked_cpu: AtomicUsize::new(NONE),
        unlocked: AtomicBool::new(false),
        violations: AtomicU64::new(0),
        while_locked: (0..ncpu).map(|_| AtomicU64::new(0)).collect(),
        after: (0..ncpu).map(|_| AtomicU64::new(0)).collect(),
    });
    let workers = Arc::new(WaitGroup::new());
    workers.add(2 * ncpu as i64);
    for _ in 0..2 * ncpu {
        let (s, wg) = (s.clone(), workers.clone());
        sched::go(move || worker(s, wg));
    }
    let report = Arc::new(runtime::sched::Lock::<_>::new(runtime::sched::LockRank::TestLow, None));
    let done = Arc::new(WaitGroup::new());
    done.add(1);
    let (s2, report2, done2) = (s.clone(), report.clone(), done.clone());
    sched::go(move || {
        let r = locked_life(&s2);
        *report2.lock() = Some(r);
        done2.done();
    });
    // Meanwhile, stop the world and change GOMAXPROCS now and then: the
    // locked goroutine is preempted by the stop and its M hands the P over.
    while s.locked_cpu.load(Ordering::Acquire) == NONE && !s.unlocked.load(Ordering::Acquire) {
        sched::sleep(1_000_000);
    }
    let (mut stops, mut worst) = (0u64, 0u64);
    while s.locked_cpu.load(Ordering::Acquire) != NONE {
        let stopped = sched::stop_the_world();
        worst = worst.max(stopped.pause_ns);
        stops += 1;
        sched::start_the_world(stopped, Some(if stops % 2 == 1 { 2.min(procs) } else { procs }));
        sched::sleep(20_000_000);
    }
    sched::gomaxprocs(procs);
    done.wait();
    s.stop.store(true, Ordering::Relaxed);
    workers.wait();
    let r = report.lock().take().expect("the locked goroutine reported");
    let per_cpu: Vec<u64> = s.while_locked.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let violations = s.violations.load(Ordering::Relaxed);
    let only_home = r.off_home == 0;
    let others: Vec<u64> = per_cpu.iter().enumerate().filter(|&(c, _)| c != r.home).map(|(_, &n)| n).collect();
    let others_ok = if procs == ncpu { others.iter().all(|&n| n > 0) } else { others.iter().any(|&n| n > 0) };
    let after_home = s.after[r.home].load(Ordering::Relaxed);
    let [sleeps, yields, parks, spins] = r.rounds;
    println!(
        "lockosthread: locked on cpu{} for {} ms: {sleeps} sleeps, {yields} gosched, {parks} WaitGroup parks, {spins} spins, preempted {} times; {} CPU checks, ran only there: {only_home}; other goroutines on cpu{} meanwhile: {violations}; workers per CPU meanwhile: {per_cpu:?}",
        r.home,
        LOCKED_NS / 1_000_000,
        r.preempted,
        r.checks,
        r.home,
    );
    let moved = match r.moved_to {
        Some(c) => alloc::format!("cpu{c}"),
        None => "nowhere".into(),
    };
    println!(
        "lockosthread: after unlock it ran on {moved}; workers ran on cpu{} {after_home} times; the world stopped {stops} times meanwhile (GOMAXPROCS {procs} <-> {}), longest pause {} us",
        r.home,
        2.min(procs),
        worst / 1000
    );
    let moved_ok = r.moved_to.is_some() || procs == 1;
    only_home && violations == 0 && r.preempted > 0 && spins > 0 && others_ok && moved_ok && after_home > 0
}

/// `test=lockdeadlock`: every goroutine blocked, two of them locked to their
/// CPUs (whose Ms wait in `stoplockedm`, counted in `nmidlelocked`), and the
/// forced-GC helper parked with a 20 ms period: Go's deadlock error must
/// still come.
pub fn lockdeadlock() -> bool {
    // The forced-GC helper, parked between runs, must not hide the deadlock.
    sched::set_forcegc_period(20_000_000);
    sched::set_forcegc_hook(|| {});
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let wg2 = wg.clone();
    sched::go(move || {
        sched::lock_os_thread();
        sched::sleep(10_000_000);
        let never = WaitGroup::new();
        never.add(1);
        never.wait();
        wg2.done();
    });
    sched::lock_os_thread();
    println!("lockdeadlock: main and a goroutine, both locked to their CPUs, wait forever");
    wg.wait();
    false
}
