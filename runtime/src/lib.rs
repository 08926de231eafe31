//! The portable half of the runtime.
//!
//! Everything in this crate is machine-independent: it never names x86_64, builds
//! `no_std` for the kernel and with `std` for `cargo test` on the host. The kernel
//! supplies the machine services (context switch, interrupts, CPU id, nanotime,
//! idle/wake, page mapping) through narrow interfaces; the pieces here are the logic
//! that must be right regardless of the machine.
//!
//! Today it holds:
//! - [`bench`]: `testing.B`'s iteration ramp-up and Go's benchmark line format;
//! - [`chan`]: channels and `select!` (Go's chan.go, select.go);
//! - [`cmdline`]: the `KEY=VALUE` boot-parameter parser and its validation;
//! - [`frames`]: the physical-frame bitmap the machine layer allocates from;
//! - [`heap`]: the heap being built (Go's size classes today);
//! - [`hook`]: `Hook<F>`, a function pointer installed and read atomically;
//! - [`runq`]: the per-P lock-free run queue with work stealing;
//! - [`sched`]: the G/M/P scheduler, timers, preemption decisions
//!   (built with the `sched` feature, which the kernel enables, and under test);
//! - [`sync`]: Mutex, RwLock, WaitGroup, Once, Cond, Semaphore on parking
//!   semaphores (Go's sync package and sema.go);
//! - [`symtab`]: the compact symbol table the kernel uses to symbolize backtraces
//!   (written on the host from the kernel ELF, read by the kernel);
//! - [`time`]: `now()` and `Time` (wall and monotonic clock), channel timers:
//!   Timer, After, AfterFunc, Ticker (Go's time package);
//! - [`timers`]: the per-P 4-ary timer heap ordered by deadline;
//! - [`walltime`]: civil time to Unix time, for the wall clock.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(all(any(test, feature = "sched"), not(loom)), feature(fn_align))]

extern crate alloc;

pub mod bench;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod chan;
pub mod cmdline;
pub mod frames;
pub mod heap;
pub mod hook;
pub mod runq;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod sched;
pub mod symtab;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod sync;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod time;
pub mod timers;
pub mod walltime;
