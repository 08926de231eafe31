//! gort: a Go runtime that boots.
//!
//! The kernel's entry point. The boot CPU:
//! 1. sets up its per-CPU area and the console, and prints the entry mark
//!    the runner times ("gort: kernel entry");
//! 2. reads and validates the boot parameters (a bad one ends the run here);
//! 3. brings up the machine on every CPU (`arch::init`) and prints
//!    "smp: all CPUs online";
//! 4. runs a machine-layer self-test or the `hello` demo directly, if one is
//!    selected; otherwise starts the scheduler (Ps, every CPU an M) and runs
//!    the selected goroutine test, benchmarks or demo in the main goroutine,
//!    exiting QEMU with its verdict when it returns — as a Go program exits
//!    when `main` returns.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(fn_align)]

extern crate alloc;

pub mod arch {
    //! The machine layer (x86_64 is the only one).
    mod x86_64;
    pub use self::x86_64::*;
}
mod bench;
mod demo;
mod log;
mod params;
mod sched_trace;
mod selftest;

use bootloader_api::{config::Mapping, BootInfo, BootloaderConfig};

pub static BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 256 * 1024;
    config
};

bootloader_api::entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    arch::init_early();
    println!("gort: kernel entry");
    let params = params::load();
    log::init(log::parse_level(params.word("loglevel").unwrap_or("info")));
    let reservation = params.uint("stackreserve").unwrap_or(arch::stack::DEFAULT_RESERVATION);
    let machine = arch::init(boot_info, reservation.next_multiple_of(4096));
    if machine.cpus_online == machine.cpus_found {
        println!("smp: all CPUs online ({})", machine.cpus_online);
    } else {
        println!("fatal error: only {} of {} CPUs came online", machine.cpus_online, machine.cpus_found);
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

    let (test, bench_list, demo) = (params.word("test"), params.word("bench"), params.word("demo").unwrap_or("hello"));
    // Scenarios of the machine layer drive the idle CPUs directly: they run
    // before the scheduler takes the CPUs over.
    let machine_verdict = match (test, bench_list) {
        (Some(name), _) => selftest::run_machine(name).inspect(|&ok| {
            println!("selftest {name}: {}", if ok { "PASS" } else { "FAIL" });
        }),
        (None, None) => demo::run_machine(demo),
        _ => None,
    };
    if let Some(ok) = machine_verdict {
        arch::exit(if ok { arch::ExitCode::Success } else { arch::ExitCode::Failure });
    }

    let slice_ns = params.uint("timeslice").unwrap_or(10_000) * 1000;
    if let Some(hz) = params.uint("profilehz") {
        arch::profile::start(hz);
    }
    runtime::sched::init(gomaxprocs, slice_ns);
    for cpu in 1..machine.cpus_online {
        arch::smp::post_call(cpu, |_| runtime::sched::mstart(), 0);
    }
    let benchtime = params::benchtime(&params);
    let count = params.uint("count").unwrap_or(1);
    if let Some(ms) = params::schedtrace_ms(&params) {
        sched_trace::start(ms);
    }
    // The main goroutine: when it returns, the kernel exits, as a Go program does.
    runtime::sched::start_main(move || {
        let ok = match (test, bench_list) {
            (Some(name), _) => {
                let ok = selftest::run(name);
                println!("selftest {name}: {}", if ok { "PASS" } else { "FAIL" });
                ok
            }
            (None, Some(list)) => bench::run(list, benchtime, count, gomaxprocs),
            (None, None) => demo::run(demo),
        };
        arch::profile::report(&mut arch::fault::Console, 40);
        arch::exit(if ok { arch::ExitCode::Success } else { arch::ExitCode::Failure })
    })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    arch::fault::panic(info, arch::backtrace::current_rbp())
}
