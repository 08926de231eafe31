//! M (Go's `m`): the CPU that runs goroutines, and what code does to its
//! own M: find it ([`getm`], [`getg`]), keep it ([`PreemptOff`], Go's
//! `acquirem`), and switch to its scheduler stack ([`mcall`]).
//!
//! Here an M *is* a CPU: one per core, fixed, never created or destroyed (Go
//! makes OS threads on demand; a CPU cannot be made). `g0` is the context of
//! the scheduler loop on the CPU's own boot stack. Most fields are touched only
//! by the CPU itself with interrupts off (which pins it); those that other CPUs
//! write (`nextp`, `wakeup`) are the hand-off protocol of `startm`/`stopm`.
//!
//! ## Deferred preemption
//! A preemption the timer asked for while the M held a lock or a
//! [`PreemptOff`] (`m.locks > 0`) is remembered in the machine's `m.locks`
//! word and carried out by [`deferred`] when the count drops to zero: the
//! last lock's release, or the last `PreemptOff`'s drop. This file is part
//! of the scheduler's bottom layer (see `mod.rs`): `mcall` hands g0 an
//! [`Action`]; what g0 does with it is `proc.rs`'s.
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::g::G;
use super::lockrank::HeldLocks;
use super::machine::{self, Context, IrqOff};
use super::p::{MAX_M, P};

/// What a goroutine asks its M's g0 to do after switching to it (Go's `mcall` argument).
pub(crate) enum Action {
    None,
    /// `gopark`: become Waiting(reason), then call the unlock function; if it
    /// returns false, run the G again at once.
    Park(super::g::WaitReason, *mut (dyn FnMut(&'static G) -> bool + 'static)),
    /// `gosched`: to the global queue.
    Gosched,
    /// Asynchronous preemption: like `Gosched`, counted.
    Preempt,
    /// `goyield`: to the tail of this P's local queue.
    Yield,
    /// `goexit`: the G is dead.
    Exit,
    /// `exitsyscall` found no P: queue the G, stop the M.
    ExitSyscall,
}

pub struct M {
    pub id: usize,
    /// The scheduler loop's context while a goroutine runs on this CPU.
    pub(crate) g0: UnsafeCell<Context>,
    /// The goroutine running here (null while g0 runs).
    pub(crate) curg: AtomicPtr<G>,
    /// The P held (null: none).
    pub(crate) p: AtomicPtr<P>,
    /// A P handed over by `startm`, taken when the M wakes.
    pub(crate) nextp: AtomicPtr<P>,
    /// The P left behind by a blocking call (Go's `m.oldp`).
    pub(crate) oldp: AtomicPtr<P>,
    /// Looking for work without having found any (Go's `m.spinning`).
    pub(crate) spinning: AtomicBool,
    /// Go's `m.park` note: set by the waker, consumed by `stopm`.
    pub(crate) wakeup: AtomicBool,
    pub(crate) action: UnsafeCell<Action>,
    /// xorshift state for random steal order.
    pub(crate) rand: AtomicU64,
    /// Entered the scheduler (`mstart`).
    pub(crate) started: AtomicBool,
    /// Deadline the one-shot timer is armed for (0: disarmed).
    pub(crate) armed: AtomicU64,
    /// The goroutine wired to this M by `lock_os_thread` (Go's `m.lockedg`;
    /// null: none). Written only by that goroutine on this CPU.
    pub(crate) lockedg: AtomicPtr<G>,
    /// The lock ranks this M holds (debug builds: see `lockrank`).
    pub(crate) held: HeldLocks,
}

// SAFETY: `g0` and `action` are touched only by the M's own CPU with
// interrupts off; everything else is atomic.
unsafe impl Sync for M {}

impl M {
    const fn new(id: usize) -> M {
        M {
            id,
            g0: UnsafeCell::new(Context { sp: 0 }),
            curg: AtomicPtr::new(ptr::null_mut()),
            p: AtomicPtr::new(ptr::null_mut()),
            nextp: AtomicPtr::new(ptr::null_mut()),
            oldp: AtomicPtr::new(ptr::null_mut()),
            spinning: AtomicBool::new(false),
            wakeup: AtomicBool::new(false),
            action: UnsafeCell::new(Action::None),
            rand: AtomicU64::new(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1)),
            started: AtomicBool::new(false),
            armed: AtomicU64::new(0),
            lockedg: AtomicPtr::new(ptr::null_mut()),
            held: HeldLocks::new(),
        }
    }

    /// Go's `m.locks`: runtime locks held plus preemption-disable nesting.
    /// It lives with the CPU in the machine layer ([`machine::mlocks`]), so
    /// it is only this CPU's to read: call on the calling CPU's own M.
    pub(crate) fn locks(&self) -> u32 {
        machine::mlocks()
    }

    /// The P held; a fatal error if none (callers are on the scheduling path).
    pub(crate) fn p(&self) -> &'static P {
        let p = self.p.load(Ordering::Relaxed);
        assert!(!p.is_null(), "M {} has no P", self.id);
        // SAFETY: Ps are leaked, never freed.
        unsafe { &*p }
    }

    pub(crate) fn curg(&self) -> Option<&'static G> {
        let g = self.curg.load(Ordering::Relaxed);
        // SAFETY: Gs are never freed.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    /// The goroutine locked to this M, if any.
    pub(crate) fn lockedg(&self) -> Option<&'static G> {
        let g = self.lockedg.load(Ordering::Acquire);
        // SAFETY: Gs are never freed.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    pub(crate) fn fastrand(&self) -> u32 {
        let mut x = self.rand.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rand.store(x, Ordering::Relaxed);
        (x >> 32) as u32
    }
}

pub(crate) static MS: [M; MAX_M] = {
    let mut ms = [const { M::new(0) }; MAX_M];
    let mut i = 0;
    while i < MAX_M {
        ms[i] = M::new(i);
        i += 1;
    }
    ms
};

/// This CPU's M. Call with interrupts off (or accept that the answer may be stale).
#[inline]
pub(crate) fn getm() -> &'static M {
    &MS[machine::cpu()]
}

/// The running goroutine, or None on a scheduler stack (Go's `getg().m.curg`).
pub fn getg() -> Option<&'static G> {
    let _p = PreemptOff::new();
    getm().curg()
}

/// Switches to g0 with `action` (Go's `mcall`). Returns when the G runs again.
/// Returns the interrupt state from before the call, which it restored.
pub(crate) fn mcall(action: Action) -> bool {
    let irq = machine::irq_disable();
    let m = getm();
    let Some(gp) = m.curg() else { machine::throw(format_args!("mcall on the scheduler stack")) };
    // SAFETY: interrupts are off; only this CPU touches its action.
    unsafe { *m.action.get() = action };
    // SAFETY: interrupts off; g0 is suspended in `execute` on this CPU and
    // gp's context slot is written here and read only by whoever resumes it.
    unsafe { machine::switch(gp.ctx.get(), m.g0.get()) };
    machine::irq_restore(irq);
    irq
}

/// A preemption that was refused because of `m.locks` happens now (called
/// when the last lock is released with a request pending). Not inside an
/// interrupts-off section: the request then stays for the next release or
/// the next timer interrupt.
pub(crate) fn deferred() {
    {
        let irq = IrqOff::new();
        let m = getm();
        if !irq.was_enabled() || m.locks() != 0 || !machine::take_preempt_request() || m.curg().is_none() {
            return;
        }
    }
    mcall(Action::Preempt);
}

/// Disables preemption of the calling goroutine while alive (Go's
/// `acquirem`/`releasem` pair as a guard): it stays on its CPU, M and P.
/// Interrupts stay on.
pub struct PreemptOff(());

impl PreemptOff {
    #[allow(clippy::new_without_default)]
    #[inline]
    pub fn new() -> PreemptOff {
        machine::acquirem();
        PreemptOff(())
    }

    /// Ends the pin and returns `v`: the same as dropping the guard, shaped
    /// for a fast path that returns a value: the rare deferred preemption is
    /// a tail call that passes `v` through, so nothing of the caller's lives
    /// across a call (no callee-saved register to save on the fast path).
    #[inline]
    pub fn release_with<T>(self, v: T) -> T {
        core::mem::forget(self);
        if machine::releasem() {
            return deferred_with(v);
        }
        v
    }
}

/// [`deferred`], then `v` back ([`PreemptOff::release_with`]).
#[cold]
#[inline(never)]
fn deferred_with<T>(v: T) -> T {
    deferred();
    // Opaque, so that LLVM does not learn that `v` comes back and keep its
    // own copy alive across the call (a callee-saved register on the fast
    // path) instead of tail-calling.
    core::hint::black_box(v)
}

impl Drop for PreemptOff {
    #[inline]
    fn drop(&mut self) {
        if machine::releasem() {
            deferred();
        }
    }
}
