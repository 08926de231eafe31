//! The kernel's boot parameters: the table of valid keys, and reading the line
//! from QEMU's fw_cfg.
//!
//! The parser itself is portable (`runtime::cmdline`, host-tested). This file
//! holds what is specific to the kernel: which keys exist, and what happens on
//! a bad line — the error, the list of valid keys, and a failure exit, before
//! the machine is even brought up, so a typo costs a second, not a run.
use runtime::cmdline::{self, Kind, Params, Spec};

use crate::arch;

/// Demos (`demo=`), run when no `test=` is given.
pub const DEMOS: &[&str] = &["hello", "tasks", "hog", "steal", "sieve", "prodcons"];
/// Scenario tests (`test=`), run by the QEMU integration tests.
pub const TESTS: &[&str] = &[
    "boot",
    "ipi",
    "nanotime",
    "pagefault",
    "divide",
    "nx",
    "panic",
    "stackoverflow",
    "switch",
    "stackgrow",
    "gstackoverflow",
    "freedstack",
    "hang",
    "goroutines",
    "sleep",
    "hog",
    "fpu",
    "locks",
    "deepstack",
    "goverflow",
    "deadlock",
    "ctrlquit",
    "gomaxprocs",
    "parked",
    "stackrelease",
    "pressure",
    "blocking",
    "memmodel",
    "chanstress",
    "timerlate",
    "mutexmisuse",
    "rwmisuse",
    "wgnegative",
    "lockosthread",
    "lockdeadlock",
    "forcegc",
    "gochan",
    "gochan_sendclosed",
    "gochan_selectsendclosed",
    "gochan_closenil",
    "gochan_closeclosed",
];

pub const SPECS: &[Spec] = &[
    Spec {
        key: "GOMAXPROCS",
        kind: Kind::Uint { min: 1, max: 256 },
        help: "number of Ps; values above the CPU count are clamped (default: CPU count)",
    },
    Spec { key: "demo", kind: Kind::Choice(DEMOS), help: "serial-console demo to run (default hello)" },
    Spec { key: "test", kind: Kind::Choice(TESTS), help: "run a self-test scenario instead of a demo" },
    Spec {
        key: "stackreserve",
        kind: Kind::Uint { min: 16 * 1024, max: 1 << 30 },
        help: "virtual reservation per goroutine stack, e.g. 2m (default 2m); pages are mapped on demand",
    },
    Spec { key: "bench", kind: Kind::Text, help: "run benchmarks NAME[,NAME...] or all (Go's line format)" },
    Spec {
        key: "benchtime",
        kind: Kind::Text,
        help: "time or iterations per benchmark run, as Go's -benchtime: 1s, 200ms, 100x",
    },
    Spec { key: "count", kind: Kind::Uint { min: 1, max: 1000 }, help: "runs of each benchmark (default 1)" },
    Spec {
        key: "timeslice",
        kind: Kind::Uint { min: 50, max: 1_000_000 },
        help: "goroutine time slice in microseconds before preemption (default 10000 = 10 ms)",
    },
    Spec {
        key: "profilehz",
        kind: Kind::Uint { min: 1, max: 100_000 },
        help: "sample every CPU's instruction pointer N times a second; print the top functions at exit",
    },
    Spec { key: "GODEBUG", kind: Kind::Text, help: "schedtrace=MS prints scheduler state every MS milliseconds" },
    Spec {
        key: "loglevel",
        kind: Kind::Choice(&["error", "warn", "info", "debug", "trace"]),
        help: "kernel log level (default info)",
    },
];

/// The fw_cfg file the runner writes.
const FILE: &str = "opt/gort/cmdline";

static mut LINE: [u8; 4096] = [0; 4096];

/// Reads and validates the boot command line; on any error prints it with the
/// valid keys and exits with failure.
pub fn load() -> Params<'static> {
    // SAFETY: called once, on the boot CPU, before anything else reads LINE;
    // afterwards LINE is only read (through the returned borrow).
    let buf: &'static mut [u8; 4096] = unsafe { &mut *core::ptr::addr_of_mut!(LINE) };
    let len = match arch::qemu::read_file(FILE, buf) {
        Ok(Some(n)) => n,
        Ok(None) | Err(arch::qemu::Error::NoDevice) => 0,
        Err(arch::qemu::Error::TooLarge(n)) => {
            reject(format_args!("boot command line is {n} bytes; at most {} are supported", buf.len()))
        }
    };
    let line = match core::str::from_utf8(&buf[..len]) {
        Ok(s) => s,
        Err(_) => reject(format_args!("boot command line is not UTF-8")),
    };
    crate::println!("gort: boot parameters: {:?}", line);
    let params = match cmdline::parse(line, SPECS) {
        Ok(p) => p,
        Err(e) => reject(format_args!("{e}")),
    };
    check_bench(&params);
    params
}

/// Values that the table cannot check: benchmark names and the benchtime.
fn check_bench(params: &Params<'_>) {
    if let Some(list) = params.word("bench") {
        if let Err(bad) = crate::bench::select(list) {
            crate::println!("fatal error: unknown benchmark {bad:?} in bench={list}");
            crate::print!("valid benchmarks: all");
            for b in crate::bench::BENCHMARKS {
                crate::print!(", {}", b.name);
            }
            crate::println!();
            arch::exit(arch::ExitCode::Failure);
        }
    }
    if let Some(g) = params.word("GODEBUG") {
        for kv in g.split(',') {
            match kv.split_once('=') {
                Some(("schedtrace", v)) if v.parse::<u64>().is_ok_and(|ms| ms > 0) => {}
                _ => reject(format_args!(
                    "bad GODEBUG setting {kv:?}: supported is schedtrace=MS (a positive number of milliseconds)"
                )),
            }
        }
    }
    if let Some(t) = params.word("benchtime") {
        if runtime::bench::parse_benchtime(t).is_none() {
            reject(format_args!(
                "bad value {t:?} for boot parameter benchtime: want a duration (1s, 200ms) or a count (100x)"
            ));
        }
    }
}

/// `GODEBUG=schedtrace=MS`, if given.
pub fn schedtrace_ms(params: &Params<'_>) -> Option<u64> {
    params.word("GODEBUG")?.split(',').find_map(|kv| kv.strip_prefix("schedtrace=")?.parse().ok()).filter(|&ms| ms > 0)
}

/// The validated `benchtime=` (default 1s, as Go's).
pub fn benchtime(params: &Params<'_>) -> runtime::bench::Benchtime {
    params.word("benchtime").and_then(runtime::bench::parse_benchtime).unwrap_or_default()
}

fn reject(what: core::fmt::Arguments<'_>) -> ! {
    let mut usage = Usage;
    crate::println!("fatal error: {what}");
    let _ = cmdline::write_usage(&mut usage, SPECS);
    arch::exit(arch::ExitCode::Failure)
}

struct Usage;

impl core::fmt::Write for Usage {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        crate::print!("{s}");
        Ok(())
    }
}
