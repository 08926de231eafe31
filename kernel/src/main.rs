//! The test and bench program: the runtime's self-test scenarios and the
//! mirrors of Go's benchmarks, in one program over `gort` (chosen with
//! `test=` and `bench=`; with neither, every CPU says hello).
//!
//! It reaches past `gort`'s Go-shaped API into `gort::kernel` (the machine
//! layer, the portable runtime's internals): its scenarios drive CPUs,
//! stacks and the scheduler directly. Machine-layer scenarios and the
//! greeting run on the bare machine, before the scheduler takes the CPUs
//! over; the rest run in the main goroutine, and the program exits with
//! their verdict when they return.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(fn_align)]

extern crate alloc;

/// The machine layer, under the name the scenarios use.
mod arch {
    pub use gort::kernel::arch::*;
}
mod bench;
mod params;
mod selftest;

use gort::kernel::{self, BootInfo, Main, Program};
pub use gort::{print, println};
use runtime::cmdline::Params;

static PROGRAM: Program =
    Program { specs: params::SPECS, check: params::check, on_machine, main: Main::WithParams(main) };

fn boot(boot_info: &'static mut BootInfo) -> ! {
    kernel::start(boot_info, &PROGRAM)
}

kernel::entry_point!(boot, config = &kernel::BOOTLOADER_CONFIG);

/// Scenarios of the machine layer drive the idle CPUs directly: they run
/// before the scheduler takes the CPUs over.
fn on_machine(params: &Params<'static>) -> Option<bool> {
    match (params.word("test"), params.word("bench")) {
        (Some(name), _) => selftest::run_machine(name).inspect(|&ok| {
            println!("selftest {name}: {}", if ok { "PASS" } else { "FAIL" });
        }),
        (None, None) => Some(hello()),
        _ => None,
    }
}

/// The main goroutine.
fn main(params: &Params<'static>) -> bool {
    match (params.word("test"), params.word("bench")) {
        (Some(name), _) => {
            let ok = selftest::run(name);
            println!("selftest {name}: {}", if ok { "PASS" } else { "FAIL" });
            ok
        }
        (None, Some(list)) => {
            let count = params.uint("count").unwrap_or(1);
            bench::run(list, params::benchtime(params), count, runtime::sched::gomaxprocs_now())
        }
        (None, None) => unreachable!("the greeting ran on the bare machine"),
    }
}

/// With neither `test=` nor `bench=`: every CPU greets the console from its
/// own idle loop, before the scheduler starts (each CPU runs code of its
/// own); true if all did.
fn hello() -> bool {
    use core::sync::atomic::Ordering;
    let greeted = selftest::on_every_cpu(|cpu| {
        let me = arch::percpu::get(cpu);
        println!(
            "hello from cpu{cpu} (apic id {}), {} ms after boot",
            me.apic_id.load(Ordering::Relaxed),
            arch::nanotime() / 1_000_000
        );
        true
    });
    println!("hello: {greeted} of {} CPUs said hello", arch::percpu::count());
    greeted == arch::percpu::count()
}
