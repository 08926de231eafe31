//! The kernel's integration surface: not a user API.
//!
//! Programs use the Go-shaped modules (`gort::chan`, `gort::sync`,
//! `gort::time`, `gort::runtime`) and `#[gort::main]`. This module is what
//! those are built from, and what the repo's own test and bench programs
//! reach into: the machine layer ([`arch`]), the boot parameters
//! ([`params`]), the scheduler trace, the portable runtime crate, and the
//! boot sequence ([`start`]) that `#[gort::main]` calls.
//!
//! ## Boot
//! The bootloader enters the program's `_start` (made by the entry macro)
//! on the boot CPU, which runs [`start`]:
//! 1. sets up its per-CPU area and the console, and prints the entry mark
//!    the runner times ("gort: kernel entry");
//! 2. reads and validates the boot parameters, the runtime's and the
//!    program's own (a bad one ends the run here);
//! 3. brings up the machine on every CPU (`arch::init`) and prints
//!    "smp: all CPUs online";
//! 4. gives the program a chance to run on the bare machine, before the
//!    scheduler takes the CPUs over (the machine-layer self-tests do);
//! 5. starts the scheduler (Ps, every CPU an M) and runs the program's main
//!    in the main goroutine, exiting QEMU with its verdict when it returns,
//!    as a Go program exits when `main` returns.
pub mod arch {
    //! The machine layer (x86_64 is the only one).
    mod x86_64;
    pub use self::x86_64::*;
}
pub mod log;
pub mod params;
pub mod sched_trace;

pub use bootloader_api::{entry_point, BootInfo};
pub use runtime;
use runtime::cmdline::{Params, Spec};

use bootloader_api::{config::Mapping, BootloaderConfig};

/// The bootloader's configuration for every program (`entry_point!`).
pub const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 256 * 1024;
    config
};

/// What a program gives the boot sequence.
pub struct Program {
    /// Boot parameters of its own, after the runtime's.
    pub specs: &'static [Spec],
    /// Checks what the table cannot (see [`params::Rejected`]).
    pub check: fn(&Params<'static>) -> Result<(), params::Rejected>,
    /// Runs on the bare machine before the scheduler starts; `Some(verdict)`
    /// ends the run there.
    pub on_machine: fn(&Params<'static>) -> Option<bool>,
    /// The main goroutine.
    pub main: Main,
}

/// A program's main function.
#[derive(Clone, Copy)]
pub enum Main {
    /// Go's `func main()`: returning is success; a panic or fatal error is failure.
    Plain(fn()),
    /// Reads the boot parameters and returns the verdict (test programs).
    WithParams(fn(&Params<'static>) -> bool),
}

/// The boot sequence (see the module essay); never returns.
pub fn start(boot_info: &'static mut BootInfo, program: &Program) -> ! {
    arch::init_early();
    crate::println!("gort: kernel entry");
    let params = params::load(program.specs, program.check);
    log::init(log::parse_level(params.word("loglevel").unwrap_or("info")));
    let reservation = params.uint("stackreserve").unwrap_or(arch::stack::DEFAULT_RESERVATION);
    let machine = arch::init(boot_info, reservation.next_multiple_of(4096));
    if machine.cpus_online == machine.cpus_found {
        crate::println!("smp: all CPUs online ({})", machine.cpus_online);
    } else {
        crate::println!("fatal error: only {} of {} CPUs came online", machine.cpus_online, machine.cpus_found);
        arch::exit(arch::ExitCode::Failure);
    }
    let gomaxprocs = match params.uint("GOMAXPROCS") {
        Some(n) if n as usize > machine.cpus_online => {
            ::log::warn!("GOMAXPROCS={n} clamped to the {} CPUs online", machine.cpus_online);
            machine.cpus_online
        }
        Some(n) => n as usize,
        None => machine.cpus_online,
    };
    ::log::info!("GOMAXPROCS={gomaxprocs}, {} symbols for backtraces", machine.symbols);
    if let Some(ok) = (program.on_machine)(&params) {
        exit(ok);
    }

    let slice_ns = params.uint("timeslice").unwrap_or(10_000) * 1000;
    if let Some(hz) = params.uint("profilehz") {
        arch::profile::start(hz);
    }
    runtime::sched::init(gomaxprocs, slice_ns);
    for cpu in 1..machine.cpus_online {
        arch::smp::post_call(cpu, |_| runtime::sched::mstart(), 0);
    }
    if let Some(ms) = params::schedtrace_ms(&params) {
        sched_trace::start(ms);
    }
    let main = program.main;
    // The main goroutine: when it returns, the program exits, as in Go.
    runtime::sched::start_main(move || {
        let ok = match main {
            Main::Plain(main) => {
                main();
                true
            }
            Main::WithParams(main) => main(&params),
        };
        arch::profile::report(&mut arch::serial::Console, 40);
        exit(ok)
    })
}

/// Ends the run: QEMU exits with success or failure.
pub fn exit(ok: bool) -> ! {
    arch::exit(if ok { arch::ExitCode::Success } else { arch::ExitCode::Failure })
}

/// A program of one `main` and no boot parameters of its own (what
/// `#[gort::main]` boots).
pub const fn program_of(main: fn()) -> Program {
    Program { specs: &[], check: |_| Ok(()), on_machine: |_| None, main: Main::Plain(main) }
}
