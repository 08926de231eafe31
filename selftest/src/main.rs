//! The self-test program: the runtime's scenarios, one per boot, chosen
//! with `test=NAME` and booted by the QEMU integration tests in
//! `tests/tests/` (and `boot/tests/cli.rs`), which assert on what each
//! prints and on the verdict.
//!
//! ## One table
//! [`SCENARIOS`] is the only list of scenarios: a name (the value of
//! `test=`), a [`Phase`], the function that runs it and returns its verdict,
//! and a line on what it proves. Everything else derives from it: the boot
//! parameter's valid values ([`NAMES`], so a misspelt name is refused before
//! the machine comes up, with the list), the dispatch ([`on_machine`] and
//! [`main`] look the name up), and the listing (`test=list` prints the
//! table; `tests/tests/selftest.rs` boots it and checks that the tests boot
//! every scenario and name none the table lacks). With no `test=`,
//! [`DEFAULT`] runs: every CPU greets the console from its own idle loop.
//!
//! ## Phases
//! - [`Phase::Machine`]: on the bare machine, once every CPU is online and
//!   before the scheduler takes the CPUs over. These drive CPUs, interrupts
//!   and stacks directly (`machine.rs`, `stacks.rs`): IPIs between idle
//!   loops, deliberate CPU exceptions, context switches by hand.
//! - [`Phase::Goroutine`]: in the main goroutine, once the scheduler owns
//!   every CPU (`sched.rs`, `lockos.rs`, `scavenge.rs`, `chan.rs`, Go's own
//!   channel tests in `gochan/`).
//!
//! Either way the program prints `selftest NAME: PASS` (or `FAIL`) and exits
//! with that verdict. Scenarios that fault, panic, deadlock or overflow on
//! purpose never return: the fatal report and the failure exit are what
//! their tests assert on.
//!
//! ## Over the library
//! The program reaches past `gort`'s Go-shaped API into `gort::kernel` (the
//! machine layer, the portable runtime's internals), and builds `gort` with
//! its `testing` feature: the per-CPU ping/pong fields and vectors that
//! `ipi` answers with, and the stack release hook `stackrelease` uses. The
//! demos and the bench program build without it, so the product has none
//! of these hooks.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

/// The machine layer, under the name the scenarios use.
mod arch {
    pub use gort::kernel::arch::*;
}
mod chan;
mod gochan;
mod heap;
mod lockos;
mod machine;
mod scavenge;
mod sched;
mod stacks;

use gort::kernel::{self, BootInfo, Main, Program};
pub use gort::{print, println};
use runtime::cmdline::{Kind, Params, Spec};

/// When a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// On the bare machine, before the scheduler starts.
    Machine,
    /// In the main goroutine.
    Goroutine,
}

/// One scenario: `test=name` runs `run`, whose result is the boot's verdict.
pub struct Scenario {
    pub name: &'static str,
    pub phase: Phase,
    pub run: fn() -> bool,
    /// What it proves, one line (`test=list` prints it).
    pub about: &'static str,
}

use Phase::{Goroutine, Machine};

/// Every scenario, in the order `test=`'s error message lists them. (Kept
/// as a table, two lines a scenario, out of rustfmt's reach.)
#[rustfmt::skip]
pub const SCENARIOS: &[Scenario] = &[
    Scenario { name: "boot", phase: Machine, run: machine::boot,
        about: "every CPU online; each CPU's one-shot timer fires, not early" },
    Scenario { name: "ipi", phase: Machine, run: machine::ipi,
        about: "an IPI round trip between every ordered pair of CPUs, and a broadcast every other CPU answers" },
    Scenario { name: "nanotime", phase: Machine, run: machine::nanotime_marks,
        about: "marks 2 s apart by nanotime(), halting tickless between; the host compares them with its clock" },
    Scenario { name: "pagefault", phase: Machine, run: machine::deliberate_page_fault,
        about: "a write to an unmapped address gives the #PF report" },
    Scenario { name: "divide", phase: Machine, run: machine::deliberate_divide_error,
        about: "a div by zero gives the #DE report" },
    Scenario { name: "nx", phase: Machine, run: machine::execute_heap,
        about: "a jump into a heap buffer faults on the instruction fetch: data is no-execute" },
    Scenario { name: "panic", phase: Machine, run: machine::deliberate_panic,
        about: "a panic's backtrace names the function that panicked" },
    Scenario { name: "stackoverflow", phase: Machine, run: machine::stackoverflow,
        about: "an AP's stack overflows into its guard page: reported on the page-fault IST stack" },
    Scenario { name: "switch", phase: Machine, run: stacks::switch,
        about: "200,000 context switches keep callee-saved registers; prints a round trip's cost" },
    Scenario { name: "stackgrow", phase: Machine, run: stacks::stackgrow,
        about: "a goroutine stack grows past 1 MiB by page faults; freeing returns every page after a TLB shootdown" },
    Scenario { name: "gstackoverflow", phase: Machine, run: stacks::gstackoverflow,
        about: "recursion past a goroutine stack's reservation: fatal error: stack overflow" },
    Scenario { name: "freedstack", phase: Machine, run: stacks::freedstack,
        about: "a write into a freed goroutine stack is reported as such" },
    Scenario { name: "hang", phase: Machine, run: machine::hang,
        about: "never finishes (interrupts off, halted): the runner's timeout" },
    Scenario { name: "goroutines", phase: Goroutine, run: sched::goroutines,
        about: "100,000 short goroutines complete; every P ran some; steals happened" },
    Scenario { name: "sleep", phase: Goroutine, run: sched::sleepers,
        about: "10,000 goroutines sleeping 1-201 ms all wake, none early" },
    Scenario { name: "hog", phase: Goroutine, run: sched::hog,
        about: "loop {} hogs on every P cannot keep a yielding goroutine off the CPU for more than about a slice" },
    Scenario { name: "fpu", phase: Goroutine, run: sched::fpu,
        about: "1,000 goroutines doing SSE and f64 work under preemption get the sequential results" },
    Scenario { name: "locks", phase: Goroutine, run: sched::locks,
        about: "the allocator, a runtime lock, go and WaitGroups hammered by 200 goroutines never deadlock" },
    Scenario { name: "deepstack", phase: Goroutine, run: sched::deepstack,
        about: "recursion grows a goroutine stack past 1 MiB; its pages come back when it exits" },
    Scenario { name: "goverflow", phase: Goroutine, run: sched::goverflow,
        about: "recursion past the reservation: fatal error: stack overflow naming the goroutine, with a dump" },
    Scenario { name: "deadlock", phase: Goroutine, run: sched::deadlock,
        about: "every goroutine blocked: Go's deadlock error and a goroutine dump, identical sleepers folded" },
    Scenario { name: "ctrlquit", phase: Goroutine, run: sched::ctrlquit,
        about: "Ctrl+\\ on the console prints the goroutine dump; the program goes on" },
    Scenario { name: "gomaxprocs", phase: Goroutine, run: sched::gomaxprocs_resize,
        about: "GOMAXPROCS changed at run time while goroutines spawn goroutines: only live Ps run, nothing is lost" },
    Scenario { name: "irqalloc", phase: Machine, run: heap::irqalloc,
        about: "an interrupt handler that allocates: fatal error naming the rule (debug builds)" },
    Scenario { name: "heapstress", phase: Goroutine, run: heap::heapstress,
        about: "10 s of blocks of random sizes allocated on every CPU and freed on another: none lost or corrupted" },
    Scenario { name: "heapgrow", phase: Goroutine, run: heap::heapgrow,
        about: "the heap grown past 1 GiB in a 2 GiB guest, dropped, and its frames given back by free_os_memory" },
    Scenario { name: "bgscavenge", phase: Goroutine, run: heap::bgscavenge,
        about: "256 MiB dropped; idle CPUs give the free pages' frames back once they aged (200 ms here), nothing before" },
    Scenario { name: "heapresize", phase: Goroutine, run: heap::heapresize,
        about: "gomaxprocs 4 -> 1: the caches of the Ps taken away hold no span; what they handed out is freed" },
    Scenario { name: "oom", phase: Goroutine, run: heap::oom,
        about: "allocating until the heap cannot grow: fatal error: runtime: out of memory, with the heap's figures" },
    Scenario { name: "million", phase: Goroutine, run: scavenge::million,
        about: "a million goroutines parked on a channel at once (4 GiB guest), then woken: bytes each and times" },
    Scenario { name: "parked", phase: Goroutine, run: scavenge::parked,
        about: "bytes per parked goroutine, before and after free_os_memory; woken, each finds its frames intact" },
    Scenario { name: "stackrelease", phase: Goroutine, run: scavenge::stackrelease,
        about: "no write to a parked goroutine's stack is lost while it is released, in any window of the release" },
    Scenario { name: "pressure", phase: Goroutine, run: scavenge::pressure,
        about: "twice the parked goroutines memory holds unreleased: releases under pressure keep the kernel up" },
    Scenario { name: "blocking", phase: Goroutine, run: sched::blocking_call,
        about: "GOMAXPROCS=1: a goroutine in blocking(..) loses its P to a spare core, where main keeps running" },
    Scenario { name: "memmodel", phase: Goroutine, run: chan::memmodel,
        about: "each happens-before rule of Go's memory model, thousands of times across CPUs" },
    Scenario { name: "chanstress", phase: Goroutine, run: chan::chanstress,
        about: "producers, consumers, channels and selects with timeouts: every value once, in order per producer" },
    Scenario { name: "timerlate", phase: Goroutine, run: chan::timerlate,
        about: "how late timers fire (p50, p99, max) with every CPU busy; none early" },
    Scenario { name: "mutexmisuse", phase: Goroutine, run: chan::mutexmisuse,
        about: "unlock of an unlocked mutex: Go's fatal error" },
    Scenario { name: "rwmisuse", phase: Goroutine, run: chan::rwmisuse,
        about: "RUnlock of an unlocked RWMutex: Go's fatal error" },
    Scenario { name: "wgnegative", phase: Goroutine, run: chan::wgnegative,
        about: "a negative WaitGroup counter: Go's panic" },
    Scenario { name: "lockosthread", phase: Goroutine, run: lockos::lockosthread,
        about: "a goroutine locked with lock_os_thread runs only on its CPU, and alone; unlocked, it moves" },
    Scenario { name: "lockdeadlock", phase: Goroutine, run: lockos::lockdeadlock,
        about: "all blocked, two locked to their CPUs, the forced-GC helper parked: still Go's deadlock error" },
    Scenario { name: "forcegc", phase: Goroutine, run: sched::forcegc,
        about: "sysmon readies the forced-GC helper once per period, never sooner; it is not counted as a goroutine" },
    Scenario { name: "gochan", phase: Goroutine, run: gochan::all,
        about: "Go's own test/chan programs, ported: each prints gochan FILE.go: PASS" },
    Scenario { name: "gochan_sendclosed", phase: Goroutine, run: gochan::send_on_closed,
        about: "select3.go's must-panic check: panic: send on closed channel" },
    Scenario { name: "gochan_selectsendclosed", phase: Goroutine, run: gochan::select_send_on_closed,
        about: "the same through a select" },
    Scenario { name: "gochan_closenil", phase: Goroutine, run: gochan::close_nil,
        about: "closedchan.go's check: panic: close of nil channel" },
    Scenario { name: "gochan_closeclosed", phase: Goroutine, run: gochan::close_closed,
        about: "closedchan.go's check: panic: close of closed channel" },
    Scenario { name: "hello", phase: Machine, run: machine::hello,
        about: "the default: every CPU greets the console from its own idle loop" },
    Scenario { name: "list", phase: Machine, run: list,
        about: "prints this table" },
];

/// The scenario that runs without `test=`.
pub const DEFAULT: &str = "hello";

/// `test=`'s valid values: the table's names, in its order.
pub const NAMES: [&str; SCENARIOS.len()] = {
    let mut names = [""; SCENARIOS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SCENARIOS[i].name;
        i += 1;
    }
    names
};

const SPECS: &[Spec] =
    &[Spec { key: "test", kind: Kind::Choice(&NAMES), help: "run a self-test scenario (test=list: all)" }];

static PROGRAM: Program = Program { specs: SPECS, check: |_| Ok(()), on_machine, main: Main::WithParams(main) };

fn boot(boot_info: &'static mut BootInfo) -> ! {
    kernel::start(boot_info, &PROGRAM)
}

kernel::entry_point!(boot, config = &kernel::BOOTLOADER_CONFIG);

/// The scenario `test=` names (the parameter table admits only the table's
/// names), or the default.
fn chosen(params: &Params<'static>) -> &'static Scenario {
    let name = params.word("test").unwrap_or(DEFAULT);
    SCENARIOS.iter().find(|s| s.name == name).expect("test= admits only the table's names")
}

/// Runs `scenario` and prints its verdict.
fn verdict(scenario: &Scenario) -> bool {
    let ok = (scenario.run)();
    println!("selftest {}: {}", scenario.name, if ok { "PASS" } else { "FAIL" });
    ok
}

/// A machine scenario runs here and ends the run; a goroutine one waits for
/// the scheduler.
fn on_machine(params: &Params<'static>) -> Option<bool> {
    let scenario = chosen(params);
    (scenario.phase == Machine).then(|| verdict(scenario))
}

/// The main goroutine: the chosen goroutine scenario.
fn main(params: &Params<'static>) -> bool {
    let scenario = chosen(params);
    debug_assert_eq!(scenario.phase, Goroutine, "machine scenarios end the run before the scheduler starts");
    verdict(scenario)
}

/// `test=list`: the table, one `scenario NAME PHASE ABOUT` line each.
fn list() -> bool {
    println!("selftest: {} scenarios; with no test=, {DEFAULT} runs", SCENARIOS.len());
    for s in SCENARIOS {
        let phase = match s.phase {
            Machine => "machine",
            Goroutine => "goroutine",
        };
        println!("scenario {:<24} {phase:<9} {}", s.name, s.about);
    }
    true
}
