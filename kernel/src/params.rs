//! This program's own boot parameters, after the runtime's
//! (`gort::kernel::params`): which self-test or benchmarks to run.
//! Checked before the machine is brought up, as the runtime's are.
use gort::kernel::params::{refuse, Rejected};
use runtime::cmdline::{Kind, Params, Spec};

/// Scenario tests (`test=`), run by the QEMU integration tests; with
/// neither `test=` nor `bench=`, every CPU says hello.
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
    Spec { key: "test", kind: Kind::Choice(TESTS), help: "run a self-test scenario instead of a demo" },
    Spec { key: "bench", kind: Kind::Text, help: "run benchmarks NAME[,NAME...] or all (Go's line format)" },
    Spec {
        key: "benchtime",
        kind: Kind::Text,
        help: "time or iterations per benchmark run, as Go's -benchtime: 1s, 200ms, 100x",
    },
    Spec { key: "count", kind: Kind::Uint { min: 1, max: 1000 }, help: "runs of each benchmark (default 1)" },
];

/// Values that the table cannot check: benchmark names and the benchtime.
pub fn check(params: &Params<'static>) -> Result<(), Rejected> {
    if let Some(list) = params.word("bench") {
        if let Err(bad) = crate::bench::select(list) {
            crate::println!("fatal error: unknown benchmark {bad:?} in bench={list}");
            crate::print!("valid benchmarks: all");
            for b in crate::bench::BENCHMARKS {
                crate::print!(", {}", b.name);
            }
            crate::println!();
            return Err(Rejected::Plain);
        }
    }
    if let Some(t) = params.word("benchtime") {
        if runtime::bench::parse_benchtime(t).is_none() {
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

/// The validated `benchtime=` (default 1s, as Go's).
pub fn benchtime(params: &Params<'_>) -> runtime::bench::Benchtime {
    params.word("benchtime").and_then(runtime::bench::parse_benchtime).unwrap_or_default()
}
