//! Goroutine scenarios of the scheduler (the table in `main.rs` lists them),
//! run in the main goroutine once the scheduler owns every CPU. Each prints
//! what it measured; the QEMU tests in `tests/tests/sched.rs` assert on those
//! lines and on the verdict. Each function's doc says what it proves.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use runtime::sched::{self, WaitGroup};

use crate::arch::{self, stack};
use crate::println;

/// Per-P counters (runs, steals) for P 0..GOMAXPROCS.
fn p_counters() -> Vec<(u64, u64)> {
    (0..sched::gomaxprocs_now())
        .map(|id| {
            let p = sched::p::allp(id).expect("P exists");
            (p.stats.runs.load(Ordering::Relaxed), p.stats.steals.load(Ordering::Relaxed))
        })
        .collect()
}

/// A little integer work, so a goroutine is not free.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// `test=goroutines`: 100,000 short goroutines complete; every P ran some;
/// steals happened
pub fn goroutines() -> bool {
    const N: u64 = 100_000;
    const WAVE: u64 = 5_000;
    let before = p_counters();
    let total = Arc::new(AtomicU64::new(0));
    let ran = Arc::new(AtomicU64::new(0));
    let t0 = arch::nanotime();
    for wave in 0..N / WAVE {
        let wg = Arc::new(WaitGroup::new());
        wg.add(WAVE as i64);
        for i in 0..WAVE {
            let (total, ran, wg) = (total.clone(), ran.clone(), wg.clone());
            let seed = wave * WAVE + i;
            sched::go(move || {
                total.fetch_add(work(seed) & 0xffff, Ordering::Relaxed);
                ran.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
    }
    let ms = (arch::nanotime() - t0) / 1_000_000;
    let expected: u64 = (0..N).map(|s| work(s) & 0xffff).sum();
    let after = p_counters();
    let mut every_p = true;
    let mut steals = 0;
    for (id, (b, a)) in before.iter().zip(&after).enumerate() {
        println!("goroutines: P{id} ran {} goroutines, stole {}", a.0 - b.0, a.1 - b.1);
        every_p &= a.0 > b.0;
        steals += a.1 - b.1;
    }
    let done = ran.load(Ordering::Relaxed);
    println!("goroutines: {done} of {N} completed in {ms} ms, {steals} steals, every P ran some: {every_p}");
    let sum_ok = total.load(Ordering::Relaxed) == expected;
    println!("goroutines: results {}", if sum_ok { "match" } else { "DIFFER" });
    done == N && sum_ok && every_p && (steals > 0 || sched::gomaxprocs_now() == 1)
}

/// `test=sleep`: 10,000 goroutines sleeping random durations all wake, none
/// early
pub fn sleepers() -> bool {
    const N: u64 = 10_000;
    let early = Arc::new(AtomicU64::new(0));
    let late_max = Arc::new(AtomicU64::new(0));
    let woke = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(N as i64);
    for i in 0..N {
        let (early, late_max, woke, wg) = (early.clone(), late_max.clone(), woke.clone(), wg.clone());
        sched::go(move || {
            let d = 1_000_000 + work(i) % 200_000_000; // 1 ms .. 201 ms
            let t0 = arch::nanotime();
            sched::sleep(d);
            let slept = arch::nanotime() - t0;
            if slept < d {
                early.fetch_add(1, Ordering::Relaxed);
            }
            late_max.fetch_max(slept - d.min(slept), Ordering::Relaxed);
            woke.fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let (woke, early) = (woke.load(Ordering::Relaxed), early.load(Ordering::Relaxed));
    println!(
        "sleep: {woke} of {N} sleepers woke, {early} early, latest {} ms late",
        late_max.load(Ordering::Relaxed) / 1_000_000
    );
    woke == N && early == 0
}

/// `test=hog`: `loop {}` hogs, one on every P, cannot keep the yielding main
/// goroutine off the CPU for more than about a slice.
pub fn hog() -> bool {
    let procs = sched::gomaxprocs_now();
    for _ in 0..procs {
        sched::go(|| {
            #[allow(clippy::empty_loop)]
            loop {}
        });
    }
    // Let the hogs take every P, then measure how long the main goroutine
    // waits for the CPU between yields.
    sched::gosched();
    // At least 50 yields and at least 100 ms (ten slices): with more
    // goroutines than Ps, some P holds two of them, and within a few slices
    // its hog is preempted, whether it shares the P with main or with
    // another hog. (50 yields alone can finish inside one slice when the
    // hogs all went to the other Ps.)
    let (mut worst, mut rounds) = (0, 0);
    let start = arch::nanotime();
    let mut last = start;
    while rounds < 50 || last - start < 100_000_000 {
        sched::gosched();
        let now = arch::nanotime();
        worst = worst.max(now - last);
        last = now;
        rounds += 1;
    }
    let preempted: u64 =
        (0..procs).map(|id| sched::p::allp(id).expect("P exists").stats.preemptions.load(Ordering::Relaxed)).sum();
    println!(
        "hog: {procs} hog(s) on {procs} P(s); main got the CPU {rounds} times, longest wait {} us, {preempted} preemptions",
        worst / 1000
    );
    preempted > 0
}

core::arch::global_asm!(
    ".global simd_mix",
    "simd_mix:",
    // xmm0: counter lanes, xmm1: step, xmm2..xmm7: integer state, xmm8..xmm15: f64 state
    "movq xmm0, rdi",
    "pshufd xmm0, xmm0, 0x44",
    "mov rax, 0x9e3779b97f4a7c15",
    "movq xmm1, rax",
    "pshufd xmm1, xmm1, 0x44",
    "movdqa xmm2, xmm0",
    "movdqa xmm3, xmm1",
    "movdqa xmm4, xmm0",
    "movdqa xmm5, xmm1",
    "movdqa xmm6, xmm0",
    "movdqa xmm7, xmm1",
    "mov rax, 0x3fefff2e48e8a71e", // 0.9999
    "movq xmm14, rax",
    "pshufd xmm14, xmm14, 0x44",
    "mov rax, 0x3fe0000000000000", // 0.5
    "movq xmm15, rax",
    "pshufd xmm15, xmm15, 0x44",
    "cvtsi2sd xmm8, edi",
    "pshufd xmm8, xmm8, 0x44",
    "movapd xmm9, xmm15",
    "movapd xmm10, xmm14",
    "movapd xmm11, xmm8",
    "movapd xmm12, xmm15",
    "movapd xmm13, xmm14",
    "2:",
    "paddq xmm0, xmm1",
    "pxor xmm2, xmm0",
    "movdqa xmm3, xmm2",
    "psllq xmm3, 13",
    "pxor xmm2, xmm3",
    "movdqa xmm3, xmm2",
    "psrlq xmm3, 7",
    "pxor xmm2, xmm3",
    "paddq xmm4, xmm2",
    "pxor xmm5, xmm4",
    "paddq xmm6, xmm5",
    "pxor xmm7, xmm6",
    "mulpd xmm8, xmm14",
    "addpd xmm8, xmm15",
    "mulpd xmm9, xmm14",
    "addpd xmm9, xmm8",
    "mulpd xmm10, xmm14",
    "addpd xmm10, xmm9",
    "mulpd xmm11, xmm14",
    "addpd xmm11, xmm10",
    "mulpd xmm12, xmm14",
    "addpd xmm12, xmm11",
    "mulpd xmm13, xmm14",
    "addpd xmm13, xmm12",
    "dec rsi",
    "jnz 2b",
    "pxor xmm2, xmm4",
    "pxor xmm2, xmm5",
    "pxor xmm2, xmm6",
    "pxor xmm2, xmm7",
    "addpd xmm8, xmm9",
    "addpd xmm8, xmm10",
    "addpd xmm8, xmm11",
    "addpd xmm8, xmm12",
    "addpd xmm8, xmm13",
    "pxor xmm2, xmm8",
    "movq rax, xmm2",
    "pshufd xmm3, xmm2, 0xee",
    "movq rdx, xmm3",
    "rol rdx, 17", // the lanes are equal: fold them without cancelling
    "xor rax, rdx",
    "ret",
);

unsafe extern "C" {
    /// SSE integer and double-precision work over all sixteen XMM registers
    /// for `iters` rounds (`iters` > 0); a lost or clobbered register changes the result.
    fn simd_mix(seed: u64, iters: u64) -> u64;
}

/// One goroutine's job: SSE work plus soft-float `f64` work (general registers).
fn fpu_job(seed: u64) -> (u64, u64) {
    // SAFETY: SSE is enabled on every CPU; the routine touches only registers.
    let simd = unsafe { simd_mix(seed, 20_000) };
    let mut x = seed as f64 * 0.001 + 1.0;
    for i in 0..2_000 {
        x = x * 1.000_1 + (i as f64).sqrt_approx() / (x + 1.0);
    }
    (simd, x.to_bits())
}

trait SqrtApprox {
    fn sqrt_approx(self) -> f64;
}

impl SqrtApprox for f64 {
    /// Newton's method, so the soft-float path has divisions in it.
    fn sqrt_approx(self) -> f64 {
        let mut r = self.max(1.0);
        for _ in 0..4 {
            r = 0.5 * (r + self / r);
        }
        r
    }
}

/// `test=fpu`: 1,000 goroutines doing SSE integer and floating-point work under
/// preemption get the sequential results
pub fn fpu() -> bool {
    const N: u64 = 1_000;
    let expected: Vec<(u64, u64)> = (0..N).map(fpu_job).collect();
    let results: Arc<Vec<AtomicU64>> = Arc::new((0..2 * N).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(N as i64);
    let preempt0: u64 = preemptions();
    for i in 0..N {
        let (results, wg) = (results.clone(), wg.clone());
        sched::go(move || {
            let (a, b) = fpu_job(i);
            results[2 * i as usize].store(a, Ordering::Relaxed);
            results[2 * i as usize + 1].store(b, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let preempted = preemptions() - preempt0;
    let wrong = (0..N as usize)
        .filter(|&i| {
            (results[2 * i].load(Ordering::Relaxed), results[2 * i + 1].load(Ordering::Relaxed)) != expected[i]
        })
        .count();
    println!(
        "fpu: {N} goroutines, {preempted} preemptions while they ran, {wrong} results differ from the sequential run"
    );
    wrong == 0 && preempted > 0
}

fn preemptions() -> u64 {
    (0..sched::gomaxprocs_now())
        .map(|id| sched::p::allp(id).expect("P exists").stats.preemptions.load(Ordering::Relaxed))
        .sum()
}

/// `test=locks`: allocator and runtime locks hammered by many goroutines never
/// deadlock
pub fn locks() -> bool {
    const N: usize = 200;
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(N as i64);
    let shared = Arc::new(sched::Lock::<_>::new(sched::LockRank::TestLow, Vec::<u64>::new()));
    for i in 0..N {
        let (stop, rounds, wg, shared) = (stop.clone(), rounds.clone(), wg.clone(), shared.clone());
        sched::go(move || {
            let mut r = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // The allocator's lock, a runtime lock, goroutine creation and
                // a WaitGroup, all while preemption can strike anywhere.
                let v: Vec<u64> = (0..(i as u64 % 17) + 1).collect();
                shared.lock().push(v.iter().sum());
                let inner = Arc::new(WaitGroup::new());
                inner.add(1);
                let inner2 = inner.clone();
                sched::go(move || inner2.done());
                inner.wait();
                if shared.lock().len() > 1000 {
                    shared.lock().clear();
                }
                r += 1;
            }
            rounds.fetch_add(r as usize, Ordering::Relaxed);
            wg.done();
        });
    }
    sched::sleep(1_500_000_000);
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    println!(
        "locks: {N} goroutines did {} rounds of alloc/lock/go/wait with {} preemptions, no deadlock",
        rounds.load(Ordering::Relaxed),
        preemptions()
    );
    rounds.load(Ordering::Relaxed) > 0
}

/// Recurses with 512-byte frames until the stack reaches `bytes` below `top`.
#[inline(never)]
fn recurse(depth: u64, top: u64, bytes: u64, low: &AtomicU64) -> u64 {
    let pad = [depth; 64];
    let sp = &pad as *const _ as u64;
    low.fetch_min(sp, Ordering::Relaxed);
    if top - sp >= bytes {
        return pad[3];
    }
    core::hint::black_box(recurse(depth + 1, top, bytes, low)) + core::hint::black_box(pad)[7] - depth
}

/// `test=deepstack`: recursion grows a goroutine stack past 1 MiB; its pages
/// come back when it exits
pub fn deepstack() -> bool {
    let (grown0, returned0) = stack::stats();
    let low = Arc::new(AtomicU64::new(u64::MAX));
    let top = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let (low2, top2, wg2) = (low.clone(), top.clone(), wg.clone());
    sched::go(move || {
        let here = 0u64;
        let top = &here as *const u64 as u64;
        top2.store(top, Ordering::Relaxed);
        core::hint::black_box(recurse(0, top, 1100 << 10, &low2));
        wg2.done();
    });
    wg.wait();
    // `done` ran before the goroutine exited; its M trims the stack just
    // after. Wait for that (up to 10 s: the host may be busy).
    let mut returned = 0;
    for _ in 0..10_000 {
        returned = stack::stats().1 - returned0;
        if returned > 0 {
            break;
        }
        sched::sleep(1_000_000);
    }
    let grown = stack::stats().0 - grown0;
    let kib = (top.load(Ordering::Relaxed) - low.load(Ordering::Relaxed)) / 1024;
    println!("deepstack: grew to {kib} KiB ({grown} pages mapped on demand), {returned} pages returned at exit");
    kib >= 1024 && returned >= grown && grown > 0
}

/// `test=goverflow`: recursion past the reservation: `fatal error: stack
/// overflow` naming the goroutine
pub fn goverflow() -> bool {
    let low = Arc::new(AtomicU64::new(u64::MAX));
    let goid = sched::go(move || {
        let here = 0u64;
        recurse(0, &here as *const u64 as u64, u64::MAX, &low);
    });
    println!("goverflow: goroutine {goid} recurses without bound");
    let wg = WaitGroup::new();
    wg.add(1);
    wg.wait(); // never returns: the overflow ends the run
    false
}

/// `test=deadlock`: every goroutine blocked: Go's deadlock error and a
/// goroutine dump
pub fn deadlock() -> bool {
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let wg2 = wg.clone();
    sched::go(move || {
        sched::sleep(10_000_000);
        let other = WaitGroup::new();
        other.add(1);
        other.wait();
        wg2.done();
    });
    // Ten thousand more, all asleep the same way: the dump folds them into
    // one line instead of printing for minutes.
    let never = runtime::chan::Chan::<u8>::new(0);
    for _ in 0..10_000 {
        let never = never.clone();
        sched::go(move || {
            never.recv();
        });
    }
    println!("deadlock: main waits for a goroutine that waits forever");
    wg.wait();
    false
}

/// `test=ctrlquit`: Ctrl+\ on the console prints the goroutine dump; the
/// program goes on
pub fn ctrlquit() -> bool {
    let gate = Arc::new(WaitGroup::new());
    gate.add(1);
    let gate2 = gate.clone();
    sched::go(move || gate2.wait());
    sched::go(|| sched::sleep(3_600_000_000_000));
    sched::gosched();
    println!("ctrlquit: ready for Ctrl+\\");
    // Waits for the console interrupt; the runner's timeout fails the test if it never comes.
    while crate::arch::traceback::console_dumps() == 0 {
        sched::sleep(5_000_000);
    }
    gate.done();
    println!("ctrlquit: dump printed, still running");
    true
}

/// `test=gomaxprocs`: GOMAXPROCS changed at run time (stop the world, resize)
/// while goroutines run: only the live Ps run goroutines, nothing is lost
pub fn gomaxprocs_resize() -> bool {
    const WORKERS: usize = 32;
    let baseline = sched::num_goroutine();
    let stop = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..WORKERS).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(WORKERS as i64);
    for w in 0..WORKERS {
        let (stop, spawned, finished, counts, wg) =
            (stop.clone(), spawned.clone(), finished.clone(), counts.clone(), wg.clone());
        sched::go(move || {
            while !stop.load(Ordering::Relaxed) {
                core::hint::black_box(work(w as u64));
                if counts[w].fetch_add(1, Ordering::Relaxed) % 64 == 0 {
                    spawned.fetch_add(1, Ordering::Relaxed);
                    let finished = finished.clone();
                    sched::go(move || {
                        finished.fetch_add(1, Ordering::Relaxed);
                    });
                    sched::gosched();
                }
            }
            wg.done();
        });
    }
    let ncpu = sched::num_cpu();
    let mut ok = true;
    for n in [1, 4, 2, 3, 1, 4] {
        let n = n.min(ncpu);
        let stopped = sched::stop_the_world();
        let pause_us = stopped.pause_ns / 1000;
        sched::start_the_world(stopped, Some(n));
        // Runs of every P ever made, so the removed ones are watched too.
        let runs = || -> Vec<u64> {
            (0..ncpu).map(|id| sched::p::allp(id).map_or(0, |p| p.stats.runs.load(Ordering::Relaxed))).collect()
        };
        let before = runs();
        sched::sleep(100_000_000);
        let after = runs();
        let live = sched::gomaxprocs_now();
        let ran: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        let removed_ran: u64 = ran[live..].iter().sum();
        println!(
            "gomaxprocs: now {live} (asked {n}), stop-the-world took {pause_us} us; goroutines run per P {:?}, by removed Ps {removed_ran}",
            &ran[..live]
        );
        ok &= live == n && ran[..live].iter().all(|&r| r > 0) && removed_ran == 0;
    }
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    while sched::num_goroutine() > baseline {
        sched::gosched();
    }
    let (s, f) = (spawned.load(Ordering::Relaxed), finished.load(Ordering::Relaxed));
    let all_ran = counts.iter().all(|c| c.load(Ordering::Relaxed) > 0);
    println!(
        "gomaxprocs: {s} goroutines spawned, {f} finished, every worker ran: {all_ran}, back to {} goroutines",
        sched::num_goroutine()
    );
    ok && s == f && all_ran
}

/// `test=blocking`: with GOMAXPROCS=1, a goroutine blocked in `blocking(..)`
/// loses its P to a spare core, where the others keep running
pub fn blocking_call() -> bool {
    let in_call = Arc::new(AtomicBool::new(false));
    let call_over = Arc::new(AtomicBool::new(false));
    let blocked_cpu = Arc::new(AtomicU64::new(u64::MAX));
    let done = Arc::new(WaitGroup::new());
    done.add(1);
    let (in_call2, over2, cpu2, done2) = (in_call.clone(), call_over.clone(), blocked_cpu.clone(), done.clone());
    sched::go(move || {
        sched::blocking(|| {
            cpu2.store(crate::arch::cpu_id() as u64, Ordering::Relaxed);
            in_call2.store(true, Ordering::Release);
            // A device wait: the CPU is busy, the goroutine holds no P.
            let until = arch::nanotime() + 300_000_000;
            while arch::nanotime() < until {
                core::hint::spin_loop();
            }
            over2.store(true, Ordering::Release);
        });
        done2.done();
    });
    while !in_call.load(Ordering::Acquire) {
        sched::gosched();
    }
    let mut ticks = 0u64;
    let mut other_cpu = true;
    while !call_over.load(Ordering::Acquire) {
        sched::sleep(1_000_000);
        ticks += 1;
        // Read the CPU first: if the call is still on after that, it was
        // running on its CPU when we looked, so we cannot have been there.
        let here = crate::arch::cpu_id() as u64;
        if !call_over.load(Ordering::Acquire) {
            other_cpu &= here != blocked_cpu.load(Ordering::Relaxed);
        }
    }
    done.wait();
    let retakes: u64 = (0..sched::gomaxprocs_now())
        .map(|id| sched::p::allp(id).expect("P exists").stats.retakes.load(Ordering::Relaxed))
        .sum();
    println!(
        "blocking: while a goroutine was blocked 300 ms on cpu{}, main ran {ticks} times, never on that CPU: {other_cpu}; P retaken {retakes} time(s)",
        blocked_cpu.load(Ordering::Relaxed)
    );
    ticks >= 10 && other_cpu && retakes >= 1
}

static FORCED_AT: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
static FORCED: AtomicUsize = AtomicUsize::new(0);

/// `test=forcegc`: with a 50 ms period, sysmon's check readies the
/// forced-GC helper once per period (never sooner) while busy and sleeping
/// goroutines run, until it has run 6 times; the helper parks as `force gc
/// (idle)` and is not counted.
pub fn forcegc() -> bool {
    const PERIOD_NS: u64 = 50_000_000;
    const CALLS: usize = 6;
    // Not a timed test: run until the hook ran CALLS times (a loaded host
    // stretches the gaps, never shortens them), with a generous limit.
    const LIMIT_NS: u64 = 20_000_000_000;
    let live = sched::num_goroutine();
    // Before the hook starts the clock: the first gap is measured from
    // here, so it can only come out longer than the period, never shorter
    // (this goroutine may be preempted between the two).
    let t0 = arch::nanotime();
    sched::set_forcegc_period(PERIOD_NS);
    sched::set_forcegc_hook(|| {
        let n = FORCED.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = FORCED_AT.get(n) {
            slot.store(arch::nanotime(), Ordering::Relaxed);
        }
    });
    let wg = Arc::new(WaitGroup::new());
    let n = 2 * sched::num_cpu();
    wg.add(n as i64);
    for i in 0..n {
        let wg = wg.clone();
        sched::go(move || {
            while FORCED.load(Ordering::Relaxed) < CALLS && arch::nanotime() - t0 < LIMIT_NS {
                if i % 2 == 0 {
                    core::hint::black_box(work(i as u64));
                } else {
                    sched::sleep(3_000_000);
                }
            }
            wg.done();
        });
    }
    wg.wait();
    let ran_ms = (arch::nanotime() - t0) / 1_000_000;
    let calls = FORCED.load(Ordering::Relaxed).min(CALLS);
    let at: Vec<u64> = FORCED_AT[..calls].iter().map(|t| t.load(Ordering::Relaxed)).collect();
    let gaps: Vec<u64> =
        core::iter::once(t0).chain(at.iter().copied()).collect::<Vec<_>>().windows(2).map(|w| w[1] - w[0]).collect();
    let (min_gap, max_gap) = (gaps.iter().min().copied().unwrap_or(0), gaps.iter().max().copied().unwrap_or(0));
    // The workers' last `done` readied us before they exited: wait for that.
    let t1 = arch::nanotime();
    while sched::num_goroutine() > live && arch::nanotime() - t1 < 1_000_000_000 {
        sched::sleep(1_000_000);
    }
    let mut parked = 0;
    sched::for_each_g(|g| parked += usize::from(g.status() == sched::GStatus::Waiting(sched::WaitReason::ForceGCIdle)));
    let counted = sched::num_goroutine() != live;
    println!(
        "forcegc: period {} ms, goroutines ran {ran_ms} ms: hook ran {calls} times, {} to {} ms apart; helper parked as \"force gc (idle)\": {}; counted in num_goroutine: {counted}",
        PERIOD_NS / 1_000_000,
        min_gap / 1_000_000,
        max_gap / 1_000_000,
        parked == 1,
    );
    calls == CALLS && min_gap >= PERIOD_NS && parked == 1 && !counted
}
