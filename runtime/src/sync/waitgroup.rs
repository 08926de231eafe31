//! `WaitGroup`: Go's sync.WaitGroup, waiting for a collection of goroutines.
//!
//! ## The state word (Go's)
//! One atomic `u64`: the counter in the high 32 bits (signed), the number of
//! parked waiters in the low 32. Waiters park on a [`Sema`].
//!
//! 1. `add(delta)`: add `delta << 32`. A negative counter panics
//!    (`sync: negative WaitGroup counter`). If the counter is still positive
//!    or nobody waits, done. Otherwise this call brought it to zero with
//!    waiters: reset the word to 0 and release the semaphore once per waiter.
//!    Seeing the word change in between means `add` raced with `wait`, which
//!    Go reports as misuse, and so do we.
//! 2. `wait()`: counter zero → return. Else CAS the waiter count up and park
//!    on the semaphore; when woken the word must be 0 again (else the group
//!    was reused before `wait` returned: Go's panic).
//!
//! `done()` is `add(-1)`. The last `done` happens before every `wait` it
//! releases returns (the semaphore's lock and the run queue order them).
//! Go 1.25's `WaitGroup.Go(f)` is [`WaitGroup::go`].
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::sema::Sema;
use crate::sched::g::WaitReason;

pub struct WaitGroup {
    state: AtomicU64,
    sema: Sema,
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitGroup {
    pub const fn new() -> WaitGroup {
        WaitGroup { state: AtomicU64::new(0), sema: Sema::new(0) }
    }

    /// Go's `Add`.
    pub fn add(&self, delta: i64) {
        let state = self.state.fetch_add((delta as u64) << 32, Ordering::AcqRel).wrapping_add((delta as u64) << 32);
        let v = (state >> 32) as i32;
        let w = state as u32;
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if w != 0 && delta > 0 && v as i64 == delta {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        if v > 0 || w == 0 {
            return;
        }
        // We brought the counter to 0 with waiters parked: no Add may run
        // concurrently now, and Wait does not count itself when it sees 0.
        if self.state.load(Ordering::Acquire) != state {
            panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
        }
        self.state.store(0, Ordering::Release);
        for _ in 0..w {
            self.sema.release(false);
        }
    }

    /// Go's `Done`.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Go's `Wait`: blocks until the counter is zero.
    pub fn wait(&self) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if (state >> 32) as i32 == 0 {
                return;
            }
            match self.state.compare_exchange_weak(state, state + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    self.sema.acquire(false, WaitReason::SyncWaitGroupWait);
                    if self.state.load(Ordering::Acquire) != 0 {
                        panic!("sync: WaitGroup is reused before previous Wait has returned");
                    }
                    return;
                }
                Err(now) => state = now,
            }
        }
    }

    /// The counter (tests, dumps).
    pub fn count(&self) -> i64 {
        (self.state.load(Ordering::Relaxed) >> 32) as i32 as i64
    }

    /// Go 1.25's `WaitGroup.Go`: `add(1)`, then run `f` on a new goroutine
    /// that calls `done` when `f` returns.
    pub fn go(self: &Arc<Self>, f: impl FnOnce() + Send + 'static) {
        self.add(1);
        let wg = self.clone();
        crate::sched::go(move || {
            f();
            wg.done();
        });
    }
}
