//! The bench program: mirrors of Go's own benchmarks over `gort`, same
//! names, same bodies, same output. The harness (`./x bench`, the `harness`
//! crate) boots it; so do the QEMU tests in `tests/tests/bench.rs`.
//!
//! `bench=NAME[,NAME...]` (or `bench=all`) runs them, each `count=` times,
//! each run ramped up like `testing.B` to `benchtime=` (Go's syntax: `1s`,
//! `200ms`, `100x`); without `bench=` it lists them. Every result is printed
//! in `go test -bench`'s line format, so the harness parses the kernel and
//! Go with one parser and sets them side by side as ratios. The names and
//! Go packages live only in [`BENCHMARKS`]: the harness learns from the
//! `pkg:` lines which of Go's binaries holds each one.
//!
//! A mirror must do what Go's benchmark body does, in this runtime's terms:
//! the same goroutines, channels, locks and timers, the same helper loops, the
//! same `b.ResetTimer`/`b.StopTimer` calls, and `b.RunParallel` where Go uses
//! it ([`runtime::bench::B::run_parallel`], Go's batching of iterations). The
//! doc line of each says which Go function it mirrors and where it differs.
//! One file per Go test file: [`proc`] (runtime/proc_test.go and our `gort`
//! package), [`chan`] (runtime/chan_test.go), [`malloc`]
//! (runtime/malloc_test.go), [`sync`] (sync/*_test.go),
//! [`time`] (time/time_test.go, time/sleep_test.go).
//!
//! Two rules keep the bodies comparable:
//! - State that goroutines share is what Go's closures capture: borrowed from
//!   the benchmark's frame inside `run_parallel` (which outlives its
//!   goroutines, as Go's garbage collector would keep the variables), in an
//!   `Arc` for goroutines that may outlive the frame's last use of it.
//! - A loop Go's compiler keeps, we keep ([`model_work`]); a value it folds
//!   to a constant, we write as that constant, with a note.
//! - A value Go's compiler cannot see (a variable a closure captures, a
//!   parameter of a function it does not inline) stays unseen by LLVM too
//!   ([`opaque`]), so a test Go makes on it at run time, we make too: LLVM
//!   would otherwise fold `work = false` or `local_work = 0` into the loop
//!   and drop the test, or unswitch the loop into a copy without it.
//!
//! - A store Go makes to a package-level sink stays a store ([`sink`]), and
//!   a test of a package-level flag nothing sets stays a load and a test
//!   ([`never_set`]).
//!
//! Each mirror was checked against Go's body and the machine code both
//! compilers emit (`go tool objdump` of Go's test binaries, `llvm-objdump`
//! of the release kernel); its doc line names every difference left.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(fn_align)]

extern crate alloc;

use core::sync::atomic::{AtomicBool, AtomicI64};

use gort::kernel::params::{refuse, Rejected};
use gort::kernel::{self, arch, BootInfo, Main, Program};
pub use gort::{print, println};
use runtime::bench::{self, Benchtime, B};
use runtime::cmdline::{Kind, Params, Spec};

mod chan;
mod malloc;
mod proc;
mod sync;
mod time;

/// The program's boot parameters, after the runtime's.
const SPECS: &[Spec] = &[
    Spec { key: "bench", kind: Kind::Text, help: "run benchmarks NAME[,NAME...] or all (Go's line format)" },
    Spec {
        key: "benchtime",
        kind: Kind::Text,
        help: "time or iterations per benchmark run, as Go's -benchtime: 1s, 200ms, 100x",
    },
    Spec { key: "count", kind: Kind::Uint { min: 1, max: 1000 }, help: "runs of each benchmark (default 1)" },
];

static PROGRAM: Program = Program { specs: SPECS, check, on_machine: |_| None, main: Main::WithParams(main) };

fn boot(boot_info: &'static mut BootInfo) -> ! {
    kernel::start(boot_info, &PROGRAM)
}

kernel::entry_point!(boot, config = &kernel::BOOTLOADER_CONFIG);

/// The main goroutine: the benchmarks `bench=` names, or the list of them.
fn main(params: &Params<'static>) -> bool {
    let Some(list) = params.word("bench") else {
        print_names("bench: no bench= given; valid benchmarks: all");
        return true;
    };
    let benchtime = params.word("benchtime").and_then(bench::parse_benchtime).unwrap_or_default();
    run(list, benchtime, params.uint("count").unwrap_or(1), runtime::sched::gomaxprocs_now())
}

/// Values that the table cannot check: benchmark names and the benchtime.
fn check(params: &Params<'static>) -> Result<(), Rejected> {
    if let Some(list) = params.word("bench") {
        if let Err(bad) = select(list) {
            println!("fatal error: unknown benchmark {bad:?} in bench={list}");
            print_names("valid benchmarks: all");
            return Err(Rejected::Plain);
        }
    }
    if let Some(t) = params.word("benchtime") {
        if bench::parse_benchtime(t).is_none() {
            return refuse(
                format_args!(
                    "bad value {t:?} for boot parameter benchtime: want a duration (1s, 200ms) or a count (100x)"
                ),
                Rejected::Usage,
            );
        }
    }
    Ok(())
}

/// `first`, then every benchmark's name, on one line.
fn print_names(first: &str) {
    print!("{first}");
    for b in BENCHMARKS {
        print!(", {}", b.name);
    }
    println!();
}

/// One benchmark: its Go name (without `Benchmark`), the Go package whose
/// test binary holds the original, and a body that runs `b.n` iterations.
pub struct Benchmark {
    pub name: &'static str,
    pub go_package: &'static str,
    run: fn(&mut B),
}

/// Every mirror, grouped by Go package (each group gets one `pkg:` line).
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark { name: "NowUnixNano", go_package: "time", run: time::now_unix_nano },
    Benchmark { name: "AfterFunc1000", go_package: "time", run: time::after_func_1000 },
    Benchmark { name: "Sleep1000", go_package: "time", run: time::sleep_1000 },
    Benchmark { name: "CreateGoroutines", go_package: "runtime", run: proc::create_goroutines },
    Benchmark { name: "CreateGoroutinesParallel", go_package: "runtime", run: proc::create_goroutines_parallel },
    Benchmark { name: "StackGrowth", go_package: "runtime", run: proc::stack_growth },
    Benchmark { name: "StackGrowthDeep", go_package: "runtime", run: proc::stack_growth_deep },
    Benchmark { name: "PingPongHog", go_package: "runtime", run: proc::ping_pong_hog },
    Benchmark { name: "ChanSync", go_package: "runtime", run: chan::chan_sync },
    Benchmark { name: "ChanProdCons0", go_package: "runtime", run: chan::chan_prod_cons_0 },
    Benchmark { name: "ChanProdCons10", go_package: "runtime", run: chan::chan_prod_cons_10 },
    Benchmark { name: "ChanProdCons100", go_package: "runtime", run: chan::chan_prod_cons_100 },
    Benchmark { name: "ChanNonblocking", go_package: "runtime", run: chan::chan_nonblocking },
    Benchmark { name: "SelectUncontended", go_package: "runtime", run: chan::select_uncontended },
    Benchmark { name: "SelectProdCons", go_package: "runtime", run: chan::select_prod_cons },
    Benchmark { name: "Malloc8", go_package: "runtime", run: malloc::malloc_8 },
    Benchmark { name: "Malloc16", go_package: "runtime", run: malloc::malloc_16 },
    Benchmark { name: "Malloc32", go_package: "runtime", run: malloc::malloc_32 },
    Benchmark { name: "MallocTypeInfo8", go_package: "runtime", run: malloc::malloc_type_info_8 },
    Benchmark { name: "MallocTypeInfo16", go_package: "runtime", run: malloc::malloc_type_info_16 },
    Benchmark { name: "MallocTypeInfo32", go_package: "runtime", run: malloc::malloc_type_info_32 },
    Benchmark { name: "MallocLargeStruct", go_package: "runtime", run: malloc::malloc_large_struct },
    Benchmark { name: "MutexUncontended", go_package: "sync", run: sync::mutex_uncontended },
    Benchmark { name: "Mutex", go_package: "sync", run: sync::mutex },
    Benchmark { name: "RWMutexUncontended", go_package: "sync", run: sync::rw_mutex_uncontended },
    Benchmark { name: "WaitGroupUncontended", go_package: "sync", run: sync::wait_group_uncontended },
    Benchmark { name: "Once", go_package: "sync", run: sync::once },
    Benchmark { name: "Cond2", go_package: "sync", run: sync::cond_2 },
    Benchmark { name: "Gosched", go_package: "gort", run: proc::gosched_round_trip },
    Benchmark { name: "AtomicCASAdd", go_package: "gort", run: proc::atomic_cas_add },
    Benchmark { name: "StackGrowthNewG", go_package: "gort", run: proc::stack_growth_new_g },
    Benchmark { name: "StackGrowthDeepNewG", go_package: "gort", run: proc::stack_growth_deep_new_g },
    Benchmark { name: "MallocParallel8", go_package: "gort", run: malloc::malloc_parallel_8 },
    Benchmark { name: "MallocParallel64", go_package: "gort", run: malloc::malloc_parallel_64 },
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
            let result = bench::launch(benchtime, arch::nanotime, b.run);
            println!("{}", bench::format_line(b.name, procs, result));
        }
    }
    println!("PASS");
    true
}

/// `v`, laundered through an empty `asm!` that LLVM must assume reads and
/// rewrites it, every time it runs: a value LLVM cannot fold or hoist, as
/// Go's compiler cannot see through a closure's captured variable. The
/// value stays in a register (no memory, unlike `black_box`), as Go keeps
/// it in a register or a stack slot.
#[inline(always)]
fn opaque(v: u64) -> u64 {
    let mut v = v;
    // SAFETY: an empty instruction string that names a register: no memory,
    // stack or flags are touched. Not `pure`, so LLVM keeps one per call.
    unsafe { core::arch::asm!("/* {0} */", inout(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// `*var = v` as Go compiles a store to a package-level variable (a sink
/// such as time_test.go's `u`): one `mov` that is always made. A plain or
/// atomic store to a static nobody reads is dead to LLVM under LTO, and with
/// it everything that computed the value (NowUnixNano's mirror was left with
/// four `rdtsc`s and no arithmetic per unrolled loop before this).
#[inline(always)]
fn sink(var: &AtomicI64, v: i64) {
    // SAFETY: an aligned 8-byte `mov` into an `AtomicI64`'s cell: on x86 a
    // relaxed atomic store, which is all a sink needs; no other memory is
    // touched and the stack is not used.
    unsafe {
        core::arch::asm!("mov qword ptr [{0}], {1}", in(reg) var.as_ptr(), in(reg) v, options(nostack, preserves_flags))
    };
}

/// Go's test of a package-level `bool` nothing sets (chan_test.go's
/// `alwaysFalse`, export_test.go's `dummy.b`): a byte loaded from memory
/// and tested, every time, as Go compiles it. A static nobody writes is a
/// constant to LLVM under LTO, which would drop the load and the test.
#[inline(always)]
fn never_set(flag: &AtomicBool) -> bool {
    let v: u32;
    // SAFETY: a one-byte load from an `AtomicBool`'s cell: on x86 a relaxed
    // atomic load; nothing is written and the stack is not used.
    unsafe {
        core::arch::asm!("movzx {0:e}, byte ptr [{1}]", out(reg) v, in(reg) flag.as_ptr(), options(nostack, preserves_flags, readonly))
    };
    v != 0
}

/// Go's `for i := 0; i < n; i++ { foo *= 2; foo /= 2 }` on a `foo` that
/// starts at 0 (the "local work" of ChanProdCons, SelectProdCons and
/// Mutex's `work`; chan_test.go's `localWork` is the same with `foo /= foo
/// + 1`). Go's compiler proves `foo` stays 0 and drops the arithmetic, but
/// keeps the counting loop (`go tool objdump`: INCQ, CMPQ, JL for a
/// constant count, DECQ, TESTQ, JG for a variable one); this is that loop,
/// which LLVM would otherwise delete. With a count of 0 only its test runs,
/// as in Go, provided the count is [`opaque`] where Go's is a variable.
#[inline(always)]
fn model_work(n: u64) {
    for i in 0..n {
        // SAFETY: an empty instruction string that only names a register:
        // no memory, stack or flags are touched.
        unsafe { core::arch::asm!("/* {0} */", in(reg) i, options(nomem, nostack, preserves_flags)) };
    }
}
