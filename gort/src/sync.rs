//! Go's `sync` package: locks that park the goroutine, not the CPU.
//!
//! - [`Mutex<T>`] and [`RwLock<T>`] guard a value (`sync.Mutex`,
//!   `sync.RWMutex`, with Rust's guard shape: the value is reachable only
//!   while locked);
//! - [`WaitGroup`] waits for a collection of goroutines to finish;
//! - [`Once`] runs a function exactly once;
//! - [`Cond`] is a condition variable over a mutex;
//! - [`Semaphore`] is a counting semaphore (Go's `x/sync/semaphore` with a
//!   weight of one).
//!
//! ```ignore
//! use alloc::sync::Arc;
//! use gort::sync::{Mutex, WaitGroup};
//!
//! let counter = Arc::new(Mutex::new(0));
//! let wg = Arc::new(WaitGroup::new());
//! for _ in 0..100 {
//!     wg.add(1);
//!     let (counter, wg) = (counter.clone(), wg.clone());
//!     gort::go(move || {
//!         *counter.lock() += 1;
//!         wg.done();
//!     });
//! }
//! wg.wait();
//! assert_eq!(*counter.lock(), 100);
//! ```
pub use crate::kernel::runtime::sync::{
    Cond, Mutex, MutexGuard, Once, RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore, WaitGroup,
};
