//! `Lock<T>`: the runtime's spinlock (Go's `mutex` with `lock`/`unlock`),
//! and `GLock<T>`, the same for data no interrupt handler touches.
//!
//! ## The rule, enforced here once
//! A runtime lock's holder must never be preempted: a preempted holder would
//! leave every other CPU spinning for a whole time slice, or forever if the
//! preempting code wants the same lock. So taking a lock:
//! 1. for a [`Lock`] (the default, `IRQ = true`), disables interrupts, saving
//!    the previous state: an interrupt handler may take the same lock (the
//!    scheduler's, which a timer or, later, a NIC interrupt takes to ready a
//!    goroutine), and must not find it held by the code it interrupted;
//! 2. increments this CPU's `m.locks` ([`machine::acquirem`], one
//!    instruction on the CPU's own counter, so it cannot be split by a
//!    preemption and always counts on the CPU the code runs on); the
//!    preemption path refuses to preempt while it is non-zero, which also
//!    pins the holder to its CPU and M;
//! 3. spins with test-and-test-and-set until the flag is ours.
//!
//! A [`GLock`] (`IRQ = false`) skips step 1. It is for locks that only
//! goroutines and the scheduler stack take — channels, semaphores, timers'
//! own state — never an interrupt handler: the emulator charges for every
//! change of the interrupt flag (reading it is a helper call, enabling it
//! ends a translation block), and a channel operation takes such a lock
//! every time. A timer interrupt that arrives meanwhile finds `m.locks > 0`
//! and defers its preemption.
//!
//! Dropping the guard releases the flag (Release, pairing with the Acquire of
//! the next winner's compare-exchange), decrements `m.locks`, restores the
//! interrupt state and, if a preemption request arrived while the lock was
//! held and this was the last lock, honours it now (Go's `releasem` restoring
//! the stack guard so the next prologue yields).
//!
//! Each lock has a [`LockRank`]; debug builds check, per M, that locks are
//! taken in rank order (see [`lockrank`](super::lockrank)), between steps 2
//! and 3, and forget the rank when the guard drops.
//!
//! A guard may be dropped on the scheduler's stack (`gopark`'s unlock
//! function runs there): the same CPU, the same M, so the count balances.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use super::lockrank::{self, LockRank};
use super::m;
use super::machine;

pub struct Lock<T, const IRQ: bool = true> {
    locked: AtomicBool,
    /// Where the lock stands in the order (checked in debug builds only).
    #[cfg(debug_assertions)]
    rank: LockRank,
    value: UnsafeCell<T>,
}

/// A lock never taken by an interrupt handler (see the module docs).
pub type GLock<T> = Lock<T, false>;

// SAFETY: the value is only reached through a guard, and guards are exclusive.
unsafe impl<T: Send, const IRQ: bool> Sync for Lock<T, IRQ> {}
// SAFETY: moving the lock moves the value; it has no thread affinity.
unsafe impl<T: Send, const IRQ: bool> Send for Lock<T, IRQ> {}

pub struct LockGuard<'a, T, const IRQ: bool = true> {
    lock: &'a Lock<T, IRQ>,
    irq: bool,
}

impl<T, const IRQ: bool> Lock<T, IRQ> {
    /// A lock of `rank` ([`lockrank`](super::lockrank): lower ranks are
    /// taken first).
    #[allow(unused_variables)]
    pub const fn new(rank: LockRank, value: T) -> Self {
        Lock {
            locked: AtomicBool::new(false),
            #[cfg(debug_assertions)]
            rank,
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    fn rank(&self) -> LockRank {
        #[cfg(debug_assertions)]
        return self.rank;
        #[cfg(not(debug_assertions))]
        LockRank::Console
    }

    /// Go's `lock`: (interrupts off,) `m.locks++`, spin.
    #[inline]
    pub fn lock(&self) -> LockGuard<'_, T, IRQ> {
        let irq = if IRQ { machine::irq_disable() } else { false };
        self.acquire_spin();
        LockGuard { lock: self, irq }
    }

    /// `m.locks++` and spin until the flag is ours.
    #[inline]
    fn acquire_spin(&self) {
        machine::acquirem();
        lockrank::acquire(self.rank());
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    /// Like `lock`, but gives up after `spins` failed attempts (fatal-error
    /// paths, which must not wait forever for a lock their own CPU may hold).
    pub fn try_lock_for(&self, spins: u32) -> Option<LockGuard<'_, T, IRQ>> {
        let irq = if IRQ { machine::irq_disable() } else { false };
        machine::acquirem();
        for _ in 0..spins {
            if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                lockrank::acquired_without_check(self.rank());
                return Some(LockGuard { lock: self, irq });
            }
            core::hint::spin_loop();
        }
        machine::releasem();
        machine::irq_restore(irq);
        None
    }

    /// Go's `lock` without a guard, for code that holds a varying number of
    /// locks (`selectgo` locks every channel of a select in address order).
    /// Returns the interrupt state to give back to [`Lock::unlock_raw`].
    pub(crate) fn lock_raw(&self) -> bool {
        let guard = self.lock();
        let irq = guard.irq;
        core::mem::forget(guard);
        irq
    }

    /// Like `lock_raw` for a lock taken while this M already holds another
    /// of its kind: for a [`Lock`], interrupts are off already, so reading
    /// and changing their state is skipped. Release it with `unlock_raw(false)`.
    ///
    /// # Safety
    /// This M holds a lock of the same kind (for a `Lock`: interrupts are off).
    pub(crate) unsafe fn lock_raw_nested(&self) {
        self.acquire_spin();
    }

    /// Releases a lock taken with [`Lock::lock_raw`] (Go's `unlock`).
    ///
    /// # Safety
    /// This M holds the lock through `lock_raw`, `irq` is what that returned
    /// (locks nested inside the first get `false`), and nested raw locks are
    /// released in reverse order.
    pub(crate) unsafe fn unlock_raw(&self, irq: bool) {
        drop(LockGuard { lock: self, irq });
    }

    /// Racy: true if somebody holds the lock (diagnostics).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl<T, const IRQ: bool> Deref for LockGuard<'_, T, IRQ> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, const IRQ: bool> DerefMut for LockGuard<'_, T, IRQ> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, so this is the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T, const IRQ: bool> Drop for LockGuard<'_, T, IRQ> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        lockrank::release(self.lock.rank());
        // Still pinned: look for a refused preemption before turning
        // interrupts back on, so the common case costs no extra toggles. A
        // nested guard of a `Lock` (irq false) leaves that to the outermost.
        // True only if this was the last lock and a preemption was refused.
        let pending = machine::releasem() && (!IRQ || self.irq);
        if IRQ {
            machine::irq_restore(self.irq);
        }
        if pending {
            m::deferred();
        }
    }
}
