//! The runtime's boot parameters: the table of keys every program accepts,
//! and reading the line from QEMU's fw_cfg.
//!
//! The parser itself is portable (`runtime::cmdline`, host-tested). A program
//! may add keys of its own (the test program's `test=`, the bench program's
//! `bench=`): they are looked up after the runtime's, and checked by the
//! program's own function before the machine is brought up. A bad line —
//! an unknown key, a bad value — prints the error, the list of valid keys,
//! and exits with failure, so a typo costs a second, not a run.
use runtime::cmdline::{self, Kind, Params, Spec};

use super::arch;

/// The keys every program accepts.
pub const SPECS: &[Spec] = &[
    Spec {
        key: "GOMAXPROCS",
        kind: Kind::Uint { min: 1, max: 256 },
        help: "number of Ps; values above the CPU count are clamped (default: CPU count)",
    },
    Spec {
        key: "stackreserve",
        kind: Kind::Uint { min: 16 * 1024, max: 1 << 30 },
        help: "virtual reservation per goroutine stack, e.g. 2m (default 2m); pages are mapped on demand",
    },
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

/// Reads the boot command line and validates it against the runtime's keys
/// and `program`'s, then the runtime's own checks and `check`; on any error
/// prints it with the valid keys and exits with failure.
pub fn load(program: &'static [Spec], check: fn(&Params<'static>) -> Result<(), Rejected>) -> Params<'static> {
    // SAFETY: called once, on the boot CPU, before anything else reads LINE;
    // afterwards LINE is only read (through the returned borrow).
    let buf: &'static mut [u8; 4096] = unsafe { &mut *core::ptr::addr_of_mut!(LINE) };
    let tables = [SPECS, program];
    let len = match arch::qemu::read_file(FILE, buf) {
        Ok(Some(n)) => n,
        Ok(None) | Err(arch::qemu::Error::NoDevice) => 0,
        Err(arch::qemu::Error::TooLarge(n)) => {
            reject(&tables, format_args!("boot command line is {n} bytes; at most {} are supported", buf.len()))
        }
    };
    let line = match core::str::from_utf8(&buf[..len]) {
        Ok(s) => s,
        Err(_) => reject(&tables, format_args!("boot command line is not UTF-8")),
    };
    crate::println!("gort: boot parameters: {:?}", line);
    let params = match cmdline::parse(line, &tables) {
        Ok(p) => p,
        Err(e) => reject(&tables, format_args!("{e}")),
    };
    if let Err(why) = check_godebug(&params).and_then(|()| check(&params)) {
        if why == Rejected::Usage {
            let _ = cmdline::write_usage(&mut Usage, &tables);
        }
        arch::exit(arch::ExitCode::Failure)
    }
    params
}

/// A check that refused the line has printed `fatal error: ...` (it runs
/// before the heap exists: it prints instead of returning a message).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rejected {
    /// Then print the table of valid keys.
    Usage,
    /// Nothing more to print.
    Plain,
}

/// Prints `fatal error: <what>` for a check (see [`Rejected`]).
pub fn refuse(what: core::fmt::Arguments<'_>, then: Rejected) -> Result<(), Rejected> {
    crate::println!("fatal error: {what}");
    Err(then)
}

/// `GODEBUG`'s settings: the ones the runtime knows, with valid values.
fn check_godebug(params: &Params<'_>) -> Result<(), Rejected> {
    let Some(g) = params.word("GODEBUG") else { return Ok(()) };
    for kv in g.split(',') {
        match kv.split_once('=') {
            Some(("schedtrace", v)) if v.parse::<u64>().is_ok_and(|ms| ms > 0) => {}
            _ => {
                return refuse(
                    format_args!(
                        "bad GODEBUG setting {kv:?}: supported is schedtrace=MS (a positive number of milliseconds)"
                    ),
                    Rejected::Usage,
                )
            }
        }
    }
    Ok(())
}

/// `GODEBUG=schedtrace=MS`, if given.
pub fn schedtrace_ms(params: &Params<'_>) -> Option<u64> {
    params.word("GODEBUG")?.split(',').find_map(|kv| kv.strip_prefix("schedtrace=")?.parse().ok()).filter(|&ms| ms > 0)
}

fn reject(tables: &[&[Spec]], what: core::fmt::Arguments<'_>) -> ! {
    crate::println!("fatal error: {what}");
    let _ = cmdline::write_usage(&mut Usage, tables);
    arch::exit(arch::ExitCode::Failure)
}

struct Usage;

impl core::fmt::Write for Usage {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        crate::print!("{s}");
        Ok(())
    }
}
