//! `WaitGroup`: waits for a collection of goroutines to finish (Go's
//! sync.WaitGroup), parking the waiters instead of spinning.
//!
//! ## Algorithm
//! State is a counter and a FIFO of parked waiters under one runtime lock.
//! 1. `add(delta)`: counter += delta; below zero is Go's panic
//!    ("sync: negative WaitGroup counter"); reaching zero takes every waiter
//!    off the queue, releases the lock, and readies them.
//! 2. `wait()`: counter zero → return; else `gopark`, and the unlock function
//!    (on the scheduler stack, the G already Waiting) queues the G and only
//!    then releases the lock, so a `done` on another CPU cannot ready the G
//!    before its context is saved or miss it in the queue.
//!
//! Go packs counter and waiter count into one atomic and parks on a
//! semaphore; the channels issue brings that `sema` and rebuilds `sync` on
//! it. The behaviour is Go's: waits that begin when the counter is zero
//! return at once; `add` with a positive delta while waiters exist is
//! allowed only before `wait` (as Go documents, not enforced).
use super::g::{GQueue, WaitReason};
use super::lock::Lock;
use super::machine;
use super::proc::{gopark, goready};

struct State {
    counter: i64,
    waiters: GQueue,
}

pub struct WaitGroup {
    state: Lock<State>,
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitGroup {
    pub const fn new() -> WaitGroup {
        WaitGroup { state: Lock::new(State { counter: 0, waiters: GQueue::new() }) }
    }

    /// Go's `Add`.
    pub fn add(&self, delta: i64) {
        let mut state = self.state.lock();
        state.counter += delta;
        if state.counter < 0 {
            drop(state);
            machine::throw(format_args!("sync: negative WaitGroup counter"));
        }
        if state.counter > 0 || state.waiters.is_empty() {
            return;
        }
        let mut woken = core::mem::take(&mut state.waiters);
        drop(state);
        while let Some(g) = woken.pop_front() {
            goready(g);
        }
    }

    /// Go's `Done`.
    pub fn done(&self) {
        self.add(-1);
    }

    /// Go's `Wait`: blocks until the counter is zero.
    pub fn wait(&self) {
        let state = self.state.lock();
        if state.counter == 0 {
            return;
        }
        gopark(WaitReason::SyncWaitGroupWait, move |gp| {
            let mut state = state;
            state.waiters.push_back(gp);
            true
        });
    }

    /// The counter (tests, dumps).
    pub fn count(&self) -> i64 {
        self.state.lock().counter
    }
}
