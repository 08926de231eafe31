//! Kernel mirrors of Go's own benchmarks: same names, same bodies, same output.
//!
//! `bench=NAME[,NAME...]` (or `bench=all`) runs them instead of a demo, each
//! `count=` times, each run ramped up like `testing.B` to `benchtime=` (Go's
//! syntax: `1s`, `200ms`, `100x`). Every result is printed in `go test -bench`'s
//! line format, so the harness (`./x bench`, the `harness` crate) parses the
//! kernel and Go with one parser and sets them side by side as ratios.
//!
//! A mirror must do what Go's benchmark body does, in this runtime's terms; the
//! doc line of each says which Go function it mirrors and where it differs.
//! The scheduler and channel issues add theirs to [`BENCHMARKS`].
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use runtime::bench::{self, Benchtime};
use runtime::sched::{self, WaitGroup};

use crate::{arch, println};

/// One benchmark: its Go name (without `Benchmark`), the Go package whose
/// test binary holds the original, and a body that runs `n` iterations and
/// returns the nanoseconds they took.
pub struct Benchmark {
    pub name: &'static str,
    pub go_package: &'static str,
    run_n: fn(u64) -> u64,
}

pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark { name: "NowUnixNano", go_package: "time", run_n: now_unix_nano },
    Benchmark { name: "CreateGoroutines", go_package: "runtime", run_n: create_goroutines },
    Benchmark { name: "CreateGoroutinesParallel", go_package: "runtime", run_n: create_goroutines_parallel },
    Benchmark { name: "StackGrowth", go_package: "runtime", run_n: stack_growth },
    Benchmark { name: "StackGrowthDeep", go_package: "runtime", run_n: stack_growth_deep },
    Benchmark { name: "Gosched", go_package: "gort", run_n: gosched_round_trip },
];

/// The benchmarks a `bench=` value selects, or the first unknown name.
pub fn select(list: &str) -> Result<impl Iterator<Item = &'static Benchmark> + '_, &str> {
    if let Some(bad) = list.split(',').find(|w| *w != "all" && !BENCHMARKS.iter().any(|b| b.name == *w)) {
        return Err(bad);
    }
    let all = list.split(',').any(|w| w == "all");
    Ok(BENCHMARKS.iter().filter(move |b| all || list.split(',').any(|w| w == b.name)))
}

/// Runs the benchmarks `list` selects, `count` times each, with `procs` as the
/// name suffix (GOMAXPROCS, as `go test` does).
pub fn run(list: &str, benchtime: Benchtime, count: u64, procs: usize) -> bool {
    let mut brand = [0u8; 48];
    println!("goos: gort");
    println!("goarch: amd64");
    println!("cpu: {}", arch::cpuid::brand(&mut brand));
    let Ok(selected) = select(list) else { return false };
    let mut package = "";
    for b in selected {
        // Go prints `pkg:` per test binary; the harness reads it to know which
        // of Go's binaries holds the original.
        if b.go_package != package {
            package = b.go_package;
            println!("pkg: {package}");
        }
        for _ in 0..count {
            let result = bench::launch(benchtime, b.run_n);
            println!("{}", bench::format_line(b.name, procs, result));
        }
    }
    println!("PASS");
    true
}

/// Go's package-level sink `u` in time_test.go.
static U: AtomicI64 = AtomicI64::new(0);

/// Mirrors `time.BenchmarkNowUnixNano`: `u = Now().UnixNano()`. Go's `Now`
/// reads the wall and the monotonic clock (two vDSO reads on linux/amd64);
/// ours reads the TSC once and derives the wall clock from it.
fn now_unix_nano(n: u64) -> u64 {
    let start = arch::nanotime();
    for _ in 0..n {
        U.store(arch::walltime(), Ordering::Relaxed);
    }
    arch::nanotime() - start
}

/// Mirrors `runtime.BenchmarkCreateGoroutines` (proc_test.go): a chain of
/// `n` goroutines, each starting the next and exiting. Go signals the end
/// on a channel; we use a WaitGroup until channels exist.
fn create_goroutines(n: u64) -> u64 {
    create_chains(n, 1)
}

/// Mirrors `runtime.BenchmarkCreateGoroutinesParallel`: GOMAXPROCS chains
/// of `n / GOMAXPROCS` goroutines.
fn create_goroutines_parallel(n: u64) -> u64 {
    create_chains(n, sched::gomaxprocs_now() as u64)
}

fn create_chains(n: u64, procs: u64) -> u64 {
    fn link(left: u64, done: Arc<WaitGroup>) {
        if left == 0 {
            done.done();
            return;
        }
        sched::go(move || link(left - 1, done));
    }
    let done = Arc::new(WaitGroup::new());
    done.add(procs as i64);
    let start = arch::nanotime();
    for _ in 0..procs {
        let done = done.clone();
        sched::go(move || link(n / procs, done));
    }
    done.wait();
    arch::nanotime() - start
}

/// Go's `padData`.
static PAD_DATA: [u64; 128] = [0; 128];

/// Go's `stackGrowthRecursive` (proc_test.go): copy 1 KiB into the frame,
/// scan it, recurse. The copy is word by word (Go's is 16 bytes at a time
/// with SSE); a plain `memcpy` would be `rep movsq`, which TCG emulates one
/// iteration at a time, about 8x slower.
#[inline(never)]
fn stack_growth_recursive(i: u64) {
    let mut pad = core::mem::MaybeUninit::<[u64; 128]>::uninit();
    let words = pad.as_mut_ptr().cast::<u64>();
    for j in 0..128 {
        // SAFETY: `j` < 128 indexes both arrays; volatile keeps the copy a copy.
        unsafe { words.add(j).write(core::ptr::read_volatile(PAD_DATA.as_ptr().add(j))) };
    }
    // SAFETY: every word was written just above (a reference, not a move:
    // the frame keeps one 1 KiB array, as Go's does).
    let pad: &[u64; 128] = unsafe { pad.assume_init_ref() };
    if core::hint::black_box(pad).iter().any(|&v| v != 0) {
        return;
    }
    if i != 0 {
        stack_growth_recursive(i - 1);
    }
}

/// Mirrors `runtime.BenchmarkStackGrowth`: `benchmarkStackGrowth(b, 10)`.
fn stack_growth(n: u64) -> u64 {
    run_parallel(n, || stack_growth_recursive(10))
}

/// Mirrors `runtime.BenchmarkStackGrowthDeep`: 1024 levels, about 1 MiB of
/// stack. Our stacks grow by page faults in place (Go copies them), once
/// per goroutine.
fn stack_growth_deep(n: u64) -> u64 {
    run_parallel(n, || stack_growth_recursive(1024))
}

/// `b.RunParallel`: GOMAXPROCS goroutines share `n` iterations of `body`.
fn run_parallel(n: u64, body: fn()) -> u64 {
    let procs = sched::gomaxprocs_now();
    let left = Arc::new(AtomicI64::new(n as i64));
    let done = Arc::new(WaitGroup::new());
    done.add(procs as i64);
    let start = arch::nanotime();
    for _ in 0..procs {
        let (left, done) = (left.clone(), done.clone());
        sched::go(move || {
            while left.fetch_sub(1, Ordering::Relaxed) > 0 {
                body();
            }
            done.done();
        });
    }
    done.wait();
    arch::nanotime() - start
}

/// Mirrors `gort.BenchmarkGosched` (harness/gobench: Go has no Gosched
/// benchmark of its own): `n` yields while a partner goroutine yields too.
fn gosched_round_trip(n: u64) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(WaitGroup::new());
    done.add(1);
    let start = arch::nanotime();
    let (stop2, done2) = (stop.clone(), done.clone());
    sched::go(move || {
        while !stop2.load(Ordering::Relaxed) {
            sched::gosched();
        }
        done2.done();
    });
    for _ in 0..n {
        sched::gosched();
    }
    stop.store(true, Ordering::Relaxed);
    done.wait();
    arch::nanotime() - start
}
