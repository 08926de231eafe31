//! gort: a Go runtime that boots. Goroutines, channels, `select`, Go's sync
//! and time packages, on every CPU of a machine with no OS underneath.
//!
//! A program is a crate of its own with `gort` as a dependency and a `main`
//! marked `#[gort::main]`; `./x new PATH` makes one and `./x run PATH` boots
//! it in QEMU:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! use core::time::Duration;
//! use gort::chan::Chan;
//! use gort::println;
//!
//! #[gort::main]
//! fn main() {
//!     let c = Chan::new(0);
//!     for i in 0..4 {
//!         let c = c.clone();
//!         gort::go(move || c.send(i * i));
//!     }
//!     let sum: i32 = (0..4).map(|_| c.recv().unwrap()).sum();
//!     gort::time::sleep(Duration::from_millis(1));
//!     println!("sum of squares: {sum}");
//! }
//! ```
//!
//! Returning from `main` ends the program with success; a goroutine's panic
//! (`send on closed channel`, a Rust panic) or a fatal error (`all
//! goroutines are asleep - deadlock!`) ends it with failure, its message, the
//! goroutine's backtrace and a dump of every goroutine, as in Go.
//!
//! The modules follow the Go packages a Go programmer reaches for:
//!
//! | gort | Go |
//! |---|---|
//! | [`go`] | the `go` statement |
//! | [`chan`] | `chan T`, `select` |
//! | [`sync`] | `sync` (and `golang.org/x/sync/semaphore`) |
//! | [`time`] | `time` |
//! | [`runtime`], [`runtime::debug`] | `runtime`, `runtime/debug` |
//! | [`print!`], [`println!`] | `fmt.Print`, `fmt.Println` to the console |
//!
//! `gort::kernel` is the integration surface the runtime is built from and the
//! repo's test and bench programs reach into; it is not a user API.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

pub mod chan;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod kernel;
pub mod runtime;
pub mod sync;
pub mod time;

/// Marks a program's `main`: `#[gort::main] fn main() { ... }`. The macro
/// makes the boot entry point, which brings the machine up, starts the
/// scheduler on every CPU and runs `main` as the main goroutine.
pub use gort_macros::main;

/// Go's `go f()`: runs `f` in a new goroutine, on any CPU.
///
/// ```ignore
/// let done = gort::chan::Chan::new(0);
/// let d = done.clone();
/// gort::go(move || d.send("hello from a goroutine"));
/// gort::println!("{}", done.recv().unwrap());
/// ```
pub fn go(f: impl FnOnce() + Send + 'static) {
    kernel::runtime::sched::go(f);
}

/// The panic handler: a Rust panic in a goroutine is a goroutine panic,
/// printed with its backtrace and a goroutine dump; the program fails.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    kernel::arch::fault::panic(info, kernel::arch::backtrace::current_rbp())
}
