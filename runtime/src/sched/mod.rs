//! Goroutines on every core: Go's G/M/P scheduler, portable.
//!
//! ## Two layers
//! The bottom layer is the scheduler's data and the mechanisms on it; it
//! never imports the scheduler loop or anything above it, so each of its
//! files can be read (and changed) knowing only the files below it. The top
//! layer is the scheduler itself, and may use anything. `tests.rs`'s
//! `the_bottom_layer_never_imports_the_scheduler` checks the rule on the
//! sources.
//!
//! | layer | file | Go | what |
//! |-------|------|----|------|
//! | bottom | [`machine`] | (the OS) | the interface to the CPU: switch, stacks, IPIs, halt, timer |
//! | bottom | [`lock`] | `lock_futex.go` | the runtime spinlock (interrupts off, `m.locks`) |
//! | bottom | [`lockrank`] | `lockrank.go` | the lock order, checked per M in debug builds |
//! | bottom | [`g`] | `runtime2.go` | G, its states and transitions, `allg`, G queues |
//! | bottom | [`p`] | `runtime2.go` | P, `allp` |
//! | bottom | [`m`] | `runtime2.go`, `proc.go` | M, `getm`/`getg`, `acquirem` ([`PreemptOff`]), `mcall`, deferred preemption |
//! | bottom | [`schedt`] | `runtime2.go` | the global scheduler state (`schedt`) and its lock |
//! | bottom | [`timer`] | `time.go` | the timer a P's heap holds |
//! | bottom | [`sudog`] | `runtime2.go`, `chan.go` | a goroutine waiting on a channel or semaphore; wait queues |
//! | bottom | [`traceback`] | `traceback.go` | goroutine dumps in Go's format (the machine unwinds and names frames) |
//! | top | [`proc`] | `proc.go` | schedule, find_runnable, steal, park/ready |
//! | top | [`idle`] | `proc.go` | idle Ps and Ms: startm, wakep, stopm, handoffp |
//! | top | [`lockosthread`] | `proc.go` | `lock_os_thread`: a goroutine wired to its M |
//! | top | [`time`] | `time.go` | per-P timer heaps, `sleep` |
//! | top | [`preempt`] | `preempt.go` | asynchronous preemption from the timer interrupt |
//! | top | [`stw`] | `proc.go` | stop/start the world, `gomaxprocs(n)` at run time |
//! | top | [`syscall`] | `proc.go` | blocking calls; a lasting one's P goes to a spare core |
//! | top | [`forcegc`] | `proc.go` | sysmon's forced GC: a helper goroutine readied every 2 minutes |
//! | top | [`scavenge`] | `stack.go`, `debug.FreeOSMemory` | parked goroutines' stack pages given back |
//!
//! The run queue ([`crate::runq`]) and the timer heap ([`crate::timers`])
//! are below both: plain data structures, model-checked and host-tested.
//!
//! The kernel calls [`init`] and [`start_main`] on the boot CPU and [`mstart`]
//! on every other CPU; from then on every CPU is an M looking for a P and a G.
//! Goroutines use [`go`], [`gosched`], [`sleep`], [`gopark`]/[`goready`].
//!
//! ## Stacks
//! Each goroutine's stack is a fixed virtual reservation that grows page by
//! page on demand (the machine layer's page-fault hook). Stacks never move, so
//! pointers into them stay valid for the goroutine's life: Rust references to
//! stack data need no fixing up, and the garbage collector will scan a stack
//! by its bounds alone. Go instead copies a stack to one twice the size when a
//! function prologue finds it too small, and adjusts the pointers into it.
//!
//! ## Hooks for what comes next
//! - netpoll: [`set_netpoll_hook`] installs a non-blocking poll that
//!   `find_runnable` calls before stealing (Go's `netpoll(0)`), and
//!   `SCHED.nexternal_waiters` ([`schedt`]) tells `checkdead` that an interrupt may still
//!   wake someone.
//! - the GC: [`set_forcegc_hook`] is what sysmon's two-minute trigger runs
//!   (see [`forcegc`]), [`gc_done`] restarts that clock; [`g::for_each_g`] enumerates every G with its stack bounds and,
//!   when preempted, its interrupt frame ([`G::trap_frame`]).
pub mod forcegc;
pub mod g;
pub mod idle;
pub mod lock;
pub mod lockosthread;
pub mod lockrank;
pub mod m;
pub mod machine;
pub mod p;
pub mod preempt;
pub mod proc;
pub mod scavenge;
pub mod schedt;
pub mod stw;
pub mod sudog;
pub mod syscall;
pub mod time;
pub mod timer;
pub mod traceback;

#[cfg(test)]
pub(crate) mod mock;
#[cfg(test)]
pub(crate) mod tests;

use crate::hook::Hook;

/// `sync.WaitGroup` lives in [`crate::sync`]; the scheduler's users find it here too.
pub use crate::sync::WaitGroup;
pub use forcegc::{forced_gcs, gc_done, set_forcegc_hook, set_forcegc_period, FORCEGC_PERIOD_NS};
pub use g::{for_each_g, GStatus, WaitReason, G};
pub use idle::wakep;
pub use lock::{GLock, Lock};
pub use lockosthread::{lock_os_thread, locked_os_thread, unlock_os_thread};
pub use lockrank::LockRank;
pub use m::{getg, PreemptOff};
pub use proc::{
    go, goexit, gomaxprocs_now, gopark, goready, goready_irq, gosched, init, mstart, num_goroutine, start_main,
};
pub use scavenge::{free_os_memory, pressure_releases, release_parked_stacks};
pub use stw::{gomaxprocs, start_the_world, stop_the_world};
pub use syscall::blocking;
pub use time::sleep;

static NETPOLL: Hook<fn() -> Option<&'static G>> = Hook::new();

/// Installs the netpoll step of `find_runnable` (a later issue's NIC driver).
pub fn set_netpoll_hook(poll: fn() -> Option<&'static G>) {
    NETPOLL.set(Some(poll));
}

fn netpoll_hook() -> Option<&'static G> {
    NETPOLL.get().and_then(|poll| poll())
}

/// CPUs online (Go's `runtime.NumCPU`).
pub fn num_cpu() -> usize {
    machine::ncpu()
}
