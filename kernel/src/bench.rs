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
use core::sync::atomic::{AtomicI64, Ordering};

use runtime::bench::{self, Benchtime};

use crate::{arch, println};

/// One benchmark: its Go name (without `Benchmark`), the Go package whose
/// test binary holds the original, and a body that runs `n` iterations and
/// returns the nanoseconds they took.
pub struct Benchmark {
    pub name: &'static str,
    pub go_package: &'static str,
    run_n: fn(u64) -> u64,
}

pub const BENCHMARKS: &[Benchmark] = &[Benchmark { name: "NowUnixNano", go_package: "time", run_n: now_unix_nano }];

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
