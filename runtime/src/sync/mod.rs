//! Go's `sync` package for goroutines, on the runtime's semaphores.
//!
//! | type | Go | file |
//! |------|----|------|
//! | [`Sema`], [`Semaphore`] | runtime/sema.go (`semacquire`, `semrelease`) | [`sema`] |
//! | [`Mutex<T>`], [`RawMutex`], [`Once`] | sync.Mutex (internal/sync/mutex.go), sync.Once | [`mutex`] |
//! | [`RwLock<T>`], [`RawRwMutex`] | sync.RWMutex | [`rwmutex`] |
//! | [`WaitGroup`] | sync.WaitGroup | [`waitgroup`] |
//! | [`Cond`] | sync.Cond, runtime's `notifyList` | [`cond`], [`sema`] |
//!
//! Every blocking operation parks the goroutine on a semaphore (`gopark`)
//! and is woken by `goready`; the only busy-waiting is `Mutex`'s bounded
//! spin, where Go spins. Misuse fails as in Go: unlocking an unlocked mutex
//! is `fatal error: sync: unlock of unlocked mutex`, a negative WaitGroup
//! counter panics with `sync: negative WaitGroup counter`.
//!
//! These are for goroutines; the runtime's own short critical sections use
//! the spinlock [`crate::sched::Lock`], which may be held with interrupts
//! off and never parks.
pub mod cond;
pub mod mutex;
pub mod rwmutex;
pub mod sema;
#[cfg(test)]
mod tests;
pub mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard, Once, RawMutex};
pub use rwmutex::{RawRwMutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use sema::{NotifyList, Sema, Semaphore};
pub use waitgroup::WaitGroup;
