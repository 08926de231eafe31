//! The scheduler proper: Go's proc.go for CPUs instead of threads.
//!
//! ## The loop (Go's `schedule` → `findRunnable` → `execute`)
//! Every CPU runs [`mstart`] on its boot stack (its g0) and never leaves
//! [`schedule`]:
//! 0. if a goroutine is locked to this M (`lock_os_thread`), the M looks for
//!    nothing else: it hands its P away and waits for that goroutine
//!    (`stoplockedm`, see [`super::lockosthread`]), then runs it;
//! 1. `find_runnable` returns a runnable G, holding a P, or stops the M
//!    (halts the CPU) until there is one; a G locked to another M goes to
//!    that M along with our P, and we stop (`startlockedm`);
//! 2. if the M was spinning it stops spinning and, if it was the last spinner,
//!    wakes another (`resetspinning`), so a burst of new work fans out;
//! 3. `execute` marks the G Running, arms the CPU's one-shot timer for the end
//!    of the time slice (or the P's earliest timer), and switches to it;
//! 4. the G comes back to g0 only through [`mcall`], leaving an [`Action`]
//!    (park, gosched, preempt, exit, blocking call) that g0 carries out for
//!    it before looping: this is Go's `mcall(park_m)` etc.
//!
//! ## `find_runnable`, in Go's order
//! 1. run this P's due timers (and idle Ps' due timers, which no idle M may
//!    be left to run: see `time`);
//! 2. every 61st schedtick, one G from the global queue first (fairness: two
//!    goroutines that keep readying each other through `runnext` cannot
//!    starve the global queue);
//! 3. `runnext`, then the local ring;
//! 4. the global queue (a batch moves to the local ring);
//! 5. the netpoll hook (a later issue: the NIC interrupt readies pollers);
//! 6. stealing, if this M is already spinning or spinners are fewer than half
//!    the busy Ps: four rounds over all Ps from a random start, taking half a
//!    victim's ring; the last round may take `runnext` and runs the victims'
//!    due timers;
//! 7. nothing: give the P back (idle list), stop spinning, re-check every run
//!    queue once (a G readied after our last look but before we dropped the
//!    spinning count would otherwise wait for someone else), and stop the M.
//!
//! ## Idle Ps and Ms
//! Stopping an M, handing a P to one and waking it (`stopm`, `startm`,
//! `wakep`, `handoffp`) live in [`super::idle`].
//!
//! ## Interrupts, preemption and the locks
//! Interrupts are off in `execute` across the switch and in every `mcall`, so
//! the timer interrupt always sees a consistent `m.curg` (null while g0 runs)
//! and never preempts the scheduler itself. Code that touches per-P state from
//! a goroutine (`go`, `goready`) runs under [`PreemptOff`] (`m.locks > 0`,
//! Go's `acquirem`), with interrupts on: the timer interrupt still arrives
//! but defers its preemption, which pins the code to its M and P, so an
//! owner-only run-queue operation can never be split by a migration; and no
//! interrupt handler touches a local run queue, so the handler cannot split
//! it either.
//! The scheduler's own code on g0 needs no such section: g0 is never
//! preempted and never migrates (it *is* the CPU's context), and interrupt
//! handlers never touch a local run queue (they use the global one, under its
//! lock). Every interrupt-enable toggle ends a TCG translation block, so the
//! hot path keeps them few.
//! Lock order (checked in debug builds: [`super::lockrank`]): channel and
//! semaphore locks → `SCHED` → a P's `gfree` → a P's `timers` → `ALLG` →
//! the machine's locks (stacks, page tables, frames, heap, console). `gfput`
//! and `gfget` never hold a P's `gfree` and `SCHED` together; a timer
//! function runs with its heap's lock released.
//!
//! ## Where we differ from Go
//! - Ms are CPUs, fixed at boot; `startm` never creates one. With GOMAXPROCS
//!   at the CPU count there is always an M for each P.
//! - Stacks never move (each has its own reservation), so there is no stack
//!   check in prologues; preemption is always asynchronous (see `preempt`).
//! - `goexit` from Rust does not unwind the goroutine's frames (the kernel is
//!   built with `panic = abort`); returning from the function is the normal exit.
use alloc::boxed::Box;
use core::ptr;
use core::sync::atomic::Ordering;

use super::g::{GQueue, GStatus, WaitReason, G};
use super::idle::{acquirep, pidleget, pidleput, releasep, resetspinning, stopm, wakep};
use super::lock::LockGuard;
use super::lockosthread::{lockedm, startlockedm, stoplockedm, unwire_on_exit};
use super::m::{getm, mcall, Action, PreemptOff, M, MS};
use super::machine::{self, IrqOff};
use super::p::{allp_alloc, allp_get, PStatus, MAX_P, P, RUNQ_SIZE};
use super::schedt::{Sched, SCHED};
use super::time;

/// Sets up GOMAXPROCS Ps and the time slice; P0 goes to the calling CPU's M.
/// Once, on the boot CPU, before any `mstart`.
pub fn init(procs: usize, slice_ns: u64) {
    let procs = procs.clamp(1, MAX_P);
    SCHED.slice_ns.store(slice_ns.max(1000), Ordering::Relaxed);
    let _irq = IrqOff::new();
    for id in 0..procs {
        allp_alloc(id);
    }
    SCHED.gomaxprocs.store(procs, Ordering::Release);
    let m = getm();
    let mut sched = SCHED.lock();
    for id in 1..procs {
        pidleput(&mut sched, allp_get(id));
    }
    drop(sched);
    acquirep(m, allp_get(0));
}

/// Moves a dying P's dead Gs to the global free list. World stopped.
pub(crate) fn gfree_to_global(sched: &mut Sched, pp: &'static P) {
    let mut local = pp.gfree.lock();
    while let Some(g) = local.pop_front() {
        sched.gfree.push_front(g);
    }
}

/// Runs `main` as the main goroutine and enters the scheduler on this CPU
/// (Go's `runtime.main` + `mstart` on M0). Call after [`init`].
pub fn start_main(main: impl FnOnce() + Send + 'static) -> ! {
    go(main);
    SCHED.main_started.store(true, Ordering::Release);
    mstart()
}

/// Enters the scheduler on this CPU for good (Go's `mstart`).
pub fn mstart() -> ! {
    machine::irq_disable();
    let m = getm();
    m.started.store(true, Ordering::Release);
    SCHED.mcount.fetch_add(1, Ordering::AcqRel);
    machine::irq_restore(true);
    if m.p.load(Ordering::Relaxed).is_null() {
        stopm(m);
    }
    schedule(m)
}

/// Go's `schedule`: find a G, run it, repeat.
/// A goroutine wired to an M runs only there ([`super::lockosthread`]).
fn schedule(m: &'static M) -> ! {
    loop {
        if let Some(gp) = m.lockedg() {
            stoplockedm(m);
            execute(m, gp, false);
            continue;
        }
        let (gp, inherit) = find_runnable(m);
        if m.spinning.load(Ordering::Relaxed) {
            resetspinning(m);
        }
        if lockedm(gp).is_some() {
            startlockedm(m, gp); // hands our P to its M
            continue;
        }
        execute(m, gp, inherit);
    }
}

/// Go's `execute`: run `gp` on this M until it comes back through `mcall`,
/// then carry out what it asked for.
///
/// Aligned to a page, so that it never straddles one (under 4 KiB, and
/// every goroutine switch runs through it): once it had grown past a page
/// boundary, `Gosched` went 659 → 892 ns/op (README, "What made it fast
/// under TCG"; `tests/tests/inlining.rs` checks it fits).
#[rustc_align(4096)]
pub(crate) fn execute(m: &'static M, gp: &'static G, inherit: bool) {
    let pp = m.p();
    gp.cas_status(GStatus::Runnable, GStatus::Running);
    let now = machine::nanotime();
    if !inherit {
        // Only the P's owner writes these counters: no atomic add needed
        // (others read them for schedtrace).
        pp.schedtick.store(pp.schedtick.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        pp.schedwhen.store(now, Ordering::Relaxed);
    }
    pp.stats.runs.store(pp.stats.runs.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    // SAFETY: the G is Running and ours alone; nobody else touches its stack or context.
    unsafe {
        if (*gp.stack.get()).is_none() {
            *gp.stack.get() = Some(machine::stack_alloc());
        }
        if (*gp.entry.get()).is_some() && gp.saved_sp() == 0 {
            let stack = (*gp.stack.get()).expect("stack just set");
            *gp.ctx.get() = machine::context_new(&stack, gstart, gp as *const G as usize);
        }
    }
    let irq = machine::irq_disable();
    super::preempt::arm_for_slice(m, pp, now);
    m.curg.store(gp as *const G as *mut G, Ordering::Relaxed);
    // SAFETY: interrupts are off; gp's context was saved by its last switch (or
    // just made) and only this M resumes it; g0's context outlives the switch.
    unsafe { machine::switch(m.g0.get(), gp.ctx.get()) };
    // Back on g0, same CPU, interrupts still off: nothing may see `curg` stale.
    m.curg.store(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: only this CPU touches its M's action, with interrupts off.
    let action = unsafe { core::mem::replace(&mut *m.action.get(), Action::None) };
    machine::irq_restore(irq);
    finish(m, gp, action);
}

/// g0's half of an `mcall` (Go's `park_m`, `gosched_m`, `gopreempt_m`, `goexit0`).
fn finish(m: &'static M, gp: &'static G, action: Action) {
    match action {
        Action::Park(reason, unlock) => {
            gp.cas_status(GStatus::Running, GStatus::Waiting(reason));
            // SAFETY: the closure lives in gopark's frame on gp's stack, which
            // cannot run (or return) before something readies it, and nothing
            // can ready it before the closure has published it.
            let keep = unsafe { (*unlock)(gp) };
            if m.locks() != 0 {
                machine::throw(format_args!("gopark: goroutine {} parked holding runtime locks", gp.goid()));
            }
            if !keep {
                gp.cas_status(GStatus::Waiting(reason), GStatus::Runnable);
                execute(m, gp, true);
            }
        }
        Action::Gosched | Action::Preempt => {
            gp.cas_status(GStatus::Running, GStatus::Runnable);
            globrunqput(&mut SCHED.lock(), gp);
            // Go's `goschedImpl`: the global queue has work an idle P could
            // take, so start a spinning M if none is looking.
            wakep();
        }
        Action::Yield => {
            gp.cas_status(GStatus::Running, GStatus::Runnable);
            runqput(m.p(), gp, false);
        }
        Action::Exit => gdestroy(m, gp),
        Action::ExitSyscall => super::syscall::exitsyscall0(m, gp),
        Action::None => machine::throw(format_args!("schedule: goroutine {} switched back with no action", gp.goid())),
    }
}

/// Every goroutine's first frame (Go's `goexit` frame under the entry).
extern "C" fn gstart(arg: usize) -> ! {
    // SAFETY: `execute` passes the G's own address.
    let gp: &'static G = unsafe { &*(arg as *const G) };
    // Switched to with interrupts off; a goroutine runs with them on.
    machine::irq_restore(true);
    // SAFETY: written by `go` before the G became runnable; only we take it.
    let f = unsafe { (*gp.entry.get()).take() }.expect("goroutine started with no function");
    // Its stack was just taken: the place to notice that memory runs low.
    super::scavenge::check_memory_pressure();
    f();
    goexit()
}

/// Go's `goexit`: ends the calling goroutine. Its stack's frames are not
/// unwound; returning from the goroutine's function is the usual way out.
pub fn goexit() -> ! {
    super::scavenge::check_memory_pressure();
    machine::irq_disable();
    let m = getm();
    let Some(gp) = m.curg() else { machine::throw(format_args!("goexit on the scheduler stack")) };
    let _ = gp;
    // SAFETY: interrupts are off; only this CPU touches its action.
    unsafe { *m.action.get() = Action::Exit };
    // SAFETY: g0 is suspended in `execute` on this CPU; the goroutine's
    // context is never resumed again (its G is reset by the next `go`).
    unsafe { machine::switch_final(m.g0.get()) }
}

/// Go's `goexit0`: the G is dead; keep it (and its trimmed stack) for reuse.
fn gdestroy(m: &'static M, gp: &'static G) {
    gp.cas_status(GStatus::Running, GStatus::Dead);
    unwire_on_exit(m, gp);
    SCHED.ngoroutine.fetch_sub(1, Ordering::AcqRel);
    // SAFETY: the G is Dead; nothing runs on its stack.
    unsafe { (*gp.ctx.get()).sp = 0 };
    if let Some(stack) = gp.stack_bounds() {
        machine::stack_trim(&stack);
    }
    let _irq = IrqOff::new();
    gfput(m.p(), gp);
}

/// Go's `gopark`: blocks the calling goroutine. On the scheduler stack, with
/// the G already Waiting(reason), `unlock(g)` runs; it must publish `g`
/// where its waker will find it (and release whatever lock guards that) and
/// return true, or return false to keep running.
///
/// Never inlined: a parked goroutine's traceback starts at `gopark`, as
/// in Go, whatever the optimiser does with its callers.
#[inline(never)]
pub fn gopark(reason: WaitReason, unlock: impl FnOnce(&'static G) -> bool) {
    let mut unlock = Some(unlock);
    let mut call = |g: &'static G| (unlock.take().expect("gopark unlock called twice"))(g);
    let f: &mut dyn FnMut(&'static G) -> bool = &mut call;
    // SAFETY: only the lifetime is erased: `finish` calls it while this frame
    // is suspended inside `mcall`, before the G can run again.
    let f: *mut (dyn FnMut(&'static G) -> bool + 'static) = unsafe { core::mem::transmute(f) };
    let irq = mcall(Action::Park(reason, f));
    // The unlock function released whatever the caller held; if that was a
    // lock that had turned interrupts off, its release happened on the
    // scheduler stack: a goroutine runs with them on.
    if !irq {
        machine::irq_restore(true);
    }
}

/// Go's `goready`: makes a Waiting goroutine runnable, next on this P.
pub fn goready(gp: &'static G) {
    // Pinned to this P (interrupt handlers never touch a local run queue).
    let _p = PreemptOff::new();
    let m = getm();
    match gp.status() {
        GStatus::Waiting(reason) => gp.cas_status(GStatus::Waiting(reason), GStatus::Runnable),
        other => machine::throw(format_args!("goready: goroutine {} is {other:?}, not waiting", gp.goid())),
    }
    if m.p.load(Ordering::Relaxed).is_null() {
        let mut sched = SCHED.lock();
        globrunqput(&mut sched, gp);
    } else {
        runqput(m.p(), gp, true);
    }
    wakep();
}

/// `goready` for interrupt context (and any code that holds no P): the G
/// goes to the global queue under `SCHED`'s lock, then `wakep`. An interrupt
/// handler must never touch a P's local run queue: its owner works on it
/// from g0 with interrupts on, so the handler could split an owner-only
/// operation. The forced-GC check uses this from the timer interrupt; the
/// netpoller's NIC interrupt will too. Go has no such variant: its signal
/// handlers never ready goroutines, and sysmon holds no P (`injectglist`).
pub fn goready_irq(gp: &'static G) {
    match gp.status() {
        GStatus::Waiting(reason) => gp.cas_status(GStatus::Waiting(reason), GStatus::Runnable),
        other => machine::throw(format_args!("goready_irq: goroutine {} is {other:?}, not waiting", gp.goid())),
    }
    globrunqput_locked(gp);
    wakep();
}

/// Go's `Gosched`: yields the CPU; the goroutine goes to the global queue,
/// and an idle P, if any, is woken to look there.
pub fn gosched() {
    mcall(Action::Gosched);
}

/// Go's `goyield`: like `gosched`, but the goroutine goes to the tail of
/// this P's own queue, behind whatever it just readied (a semaphore's direct
/// hand-off lets the woken waiter run at once).
pub fn goyield() {
    mcall(Action::Yield);
}

/// Go's `cheaprand`: a fast per-M pseudo-random number (select's poll order).
/// Interrupts stay on: a goroutine moved to another CPU halfway through
/// steps that M's generator instead, which only makes it a little more random.
pub fn cheaprand() -> u32 {
    MS[machine::cpu()].fastrand()
}

/// Whether the caller is a goroutine that may give up its P now (no runtime
/// locks held): a semaphore's direct hand-off yields only then.
pub(crate) fn may_yield() -> bool {
    let _p = PreemptOff::new();
    let m = getm();
    m.locks() == 1 && m.curg().is_some()
}

/// Go's `sync_runtime_canSpin`: a contended `sync.Mutex` may spin a little
/// (iteration `iter` of at most 4) only on a multicore machine with
/// GOMAXPROCS > 1, another P running, and nothing else queued on this P.
pub fn sync_can_spin(iter: u32) -> bool {
    if iter >= 4 || machine::ncpu() <= 1 {
        return false;
    }
    let procs = SCHED.gomaxprocs.load(Ordering::Relaxed) as u32;
    if procs <= SCHED.npidle.load(Ordering::Relaxed) + SCHED.nmspinning.load(Ordering::Relaxed) + 1 {
        return false;
    }
    let _p = PreemptOff::new();
    let m = getm();
    let pp = m.p.load(Ordering::Relaxed);
    // SAFETY: Ps are never freed.
    !pp.is_null() && unsafe { (*pp).runq.is_empty() }
}

/// Go's `sync_runtime_doSpin`: `procyield(30)`.
pub fn sync_do_spin() {
    for _ in 0..30 {
        core::hint::spin_loop();
    }
}

/// The running goroutine; a fatal error on the scheduler stack (channel and
/// semaphore operations block, so only a goroutine may call them).
pub(crate) fn curg() -> &'static G {
    let _p = PreemptOff::new();
    match getm().curg() {
        Some(g) => g,
        None => machine::throw(format_args!("blocking operation on the scheduler stack")),
    }
}

/// Go's `go` statement (`newproc`): starts `f` on a new goroutine, which runs
/// next on this P. Returns its id.
pub fn go(f: impl FnOnce() + Send + 'static) -> u64 {
    let entry: Box<dyn FnOnce() + Send> = Box::new(f);
    // Pinned to this P (interrupt handlers never touch a local run queue).
    let _p = PreemptOff::new();
    let m = getm();
    let pp = m.p();
    let gp = gfget(pp).unwrap_or_else(G::alloc);
    let goid = G::new_goid();
    gp.goid.store(goid, Ordering::Relaxed);
    gp.parent.store(m.curg().map_or(0, |g| g.goid()), Ordering::Relaxed);
    // SAFETY: the G is Idle or Dead: no one else references its fields.
    unsafe {
        *gp.entry.get() = Some(entry);
        (*gp.ctx.get()).sp = 0;
    }
    gp.cas_status(gp.status(), GStatus::Runnable);
    SCHED.ngoroutine.fetch_add(1, Ordering::AcqRel);
    runqput(pp, gp, true);
    if SCHED.main_started.load(Ordering::Acquire) {
        wakep();
    }
    goid
}

/// Starts `f` on a new goroutine from outside any P (an interrupt handler,
/// a host test's thread): it goes to the global queue and an idle M is woken.
pub fn go_global(f: impl FnOnce() + Send + 'static) -> u64 {
    let entry: Box<dyn FnOnce() + Send> = Box::new(f);
    let gp = G::alloc();
    let goid = G::new_goid();
    gp.goid.store(goid, Ordering::Relaxed);
    // SAFETY: the G is new: no one else references it.
    unsafe { *gp.entry.get() = Some(entry) };
    gp.cas_status(GStatus::Idle, GStatus::Runnable);
    SCHED.ngoroutine.fetch_add(1, Ordering::AcqRel);
    let mut sched = SCHED.lock();
    globrunqput(&mut sched, gp);
    drop(sched);
    wakep();
    goid
}

/// Live goroutines (Go's `runtime.NumGoroutine`).
pub fn num_goroutine() -> usize {
    SCHED.ngoroutine.load(Ordering::Acquire).max(0) as usize
}

/// Current GOMAXPROCS.
pub fn gomaxprocs_now() -> usize {
    SCHED.gomaxprocs.load(Ordering::Acquire)
}

/// Go's `runqput`. Interrupts off, `pp` held by this M.
pub(crate) fn runqput(pp: &'static P, gp: &'static G, next: bool) {
    // SAFETY: the caller holds `pp` with interrupts off: it is the owner.
    let q = unsafe { pp.runq.owner() };
    q.put(gp as *const G as usize, next, |batch| {
        let mut sched = SCHED.lock();
        for &g in batch {
            // SAFETY: run queues hold 'static G pointers.
            globrunqput(&mut sched, unsafe { &*(g as *const G) });
        }
    });
}

/// Go's `globrunqput`.
pub(crate) fn globrunqput(sched: &mut Sched, gp: &'static G) {
    sched.runq.push_back(gp);
    SCHED.runqsize.store(sched.runq.len(), Ordering::Release);
}

/// Go's `globrunqget`: takes a share of the global queue (at most `max` if
/// non-zero), returns the first and puts the rest on `pp`'s ring.
fn globrunqget(sched: &mut Sched, pp: &'static P, max: usize) -> Option<&'static G> {
    let size = sched.runq.len();
    if size == 0 {
        return None;
    }
    let procs = SCHED.gomaxprocs.load(Ordering::Relaxed).max(1);
    let mut n = (size / procs + 1).min(size).min(RUNQ_SIZE / 2);
    if max > 0 {
        n = n.min(max);
    }
    let first = sched.runq.pop_front();
    for _ in 1..n {
        let Some(g) = sched.runq.pop_front() else { break };
        runqput(pp, g, false);
    }
    SCHED.runqsize.store(sched.runq.len(), Ordering::Release);
    first
}

/// Go's `findRunnable`. Returns holding a P, with a G and whether it
/// inherits the current time slice.
fn find_runnable(m: &'static M) -> (&'static G, bool) {
    'top: loop {
        if super::stw::gcwaiting() {
            super::stw::gcstopm(m);
            continue 'top;
        }
        let pp = m.p();
        let now = machine::nanotime();
        time::check_timers(pp, now);
        if SCHED.npidle.load(Ordering::Relaxed) > 0 {
            time::check_idle_timers(now);
        }
        if pp.schedtick.load(Ordering::Relaxed).is_multiple_of(61) && SCHED.runqsize.load(Ordering::Acquire) > 0 {
            let mut sched = SCHED.lock();
            if let Some(g) = globrunqget(&mut sched, pp, 1) {
                return (g, false);
            }
        }
        {
            // SAFETY: this M holds `pp`, and g0 is neither preempted nor moved.
            if let Some((g, inherit)) = unsafe { pp.runq.owner() }.get() {
                // SAFETY: run queues hold 'static G pointers.
                return (unsafe { &*(g as *const G) }, inherit);
            }
        }
        if SCHED.runqsize.load(Ordering::Acquire) > 0 {
            let mut sched = SCHED.lock();
            if let Some(g) = globrunqget(&mut sched, pp, 0) {
                return (g, false);
            }
        }
        if let Some(g) = super::netpoll_hook() {
            return (g, false);
        }
        let procs = SCHED.gomaxprocs.load(Ordering::Acquire) as u32;
        let spinning = m.spinning.load(Ordering::Relaxed);
        if spinning
            || 2 * SCHED.nmspinning.load(Ordering::Acquire) < procs.saturating_sub(SCHED.npidle.load(Ordering::Acquire))
        {
            if !spinning {
                m.spinning.store(true, Ordering::Relaxed);
                SCHED.nmspinning.fetch_add(1, Ordering::AcqRel);
            }
            match steal_work(m, pp, now) {
                Steal::Got(g, inherit) => return (g, inherit),
                Steal::NewWork => continue 'top,
                Steal::Nothing => {}
            }
        }
        // Nothing: give up the P.
        {
            let mut sched = SCHED.lock();
            if super::stw::gcwaiting() {
                continue 'top; // the P must stop as GcStop, not go idle
            }
            if let Some(g) = globrunqget(&mut sched, pp, 0) {
                return (g, false);
            }
            releasep(m);
            pidleput(&mut sched, pp);
        }
        if m.spinning.swap(false, Ordering::Relaxed) {
            SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
            // Go's delicate re-check: work readied after our last look but
            // before our spinning count dropped saw a spinner and woke nobody.
            if any_runq_nonempty() {
                let mut sched = SCHED.lock();
                if let Some(pp) = pidleget(&mut sched) {
                    drop(sched);
                    acquirep(m, pp);
                    m.spinning.store(true, Ordering::Relaxed);
                    SCHED.nmspinning.fetch_add(1, Ordering::AcqRel);
                    continue 'top;
                }
            }
        }
        stopm(m);
    }
}

fn any_runq_nonempty() -> bool {
    if SCHED.runqsize.load(Ordering::Acquire) > 0 {
        return true;
    }
    (0..SCHED.gomaxprocs.load(Ordering::Acquire)).any(|id| !allp_get(id).runq.is_empty())
}

enum Steal {
    Got(&'static G, bool),
    NewWork,
    Nothing,
}

/// Go's `stealWork`: four rounds over the Ps from a random start.
fn steal_work(m: &'static M, pp: &'static P, now: u64) -> Steal {
    let procs = SCHED.gomaxprocs.load(Ordering::Acquire);
    for round in 0..4 {
        let last = round == 3;
        let start = m.fastrand() as usize % procs;
        for k in 0..procs {
            let victim = allp_get((start + k) % procs);
            if ptr::eq(victim, pp) {
                continue;
            }
            if last && time::check_timers(victim, now) {
                // Timers readied goroutines onto our own queue.
                // SAFETY: this M holds `pp`, and g0 is neither preempted nor moved.
                if let Some((g, inherit)) = unsafe { pp.runq.owner() }.get() {
                    // SAFETY: run queues hold 'static G pointers.
                    return Steal::Got(unsafe { &*(g as *const G) }, inherit);
                }
                return Steal::NewWork;
            }
            if victim.status() == PStatus::Idle {
                continue;
            }
            // SAFETY: this M holds `pp`, and g0 is neither preempted nor moved.
            let mine = unsafe { pp.runq.owner() };
            let backoff = || {
                let until = machine::nanotime() + 3_000;
                while machine::nanotime() < until {
                    core::hint::spin_loop();
                }
            };
            if let Some(g) = victim.runq.steal_into(&mine, last, backoff) {
                pp.stats.steals.fetch_add(1 + pp.runq.len() as u64, Ordering::Relaxed);
                // SAFETY: run queues hold 'static G pointers.
                return Steal::Got(unsafe { &*(g as *const G) }, false);
            }
        }
    }
    Steal::Nothing
}

/// How many dead Gs move between a P's list and the global one at a time.
const GFREE_BATCH: usize = 32;

/// Go's `gfput`: keeps a dead G; beyond 64 per P, half go to the global list.
fn gfput(pp: &'static P, gp: &'static G) {
    let mut local = pp.gfree.lock();
    local.push_front(gp);
    if local.len() >= 2 * GFREE_BATCH {
        gfput_spill(local);
    }
}

/// `gfput`'s rare half, out of line: LLVM unrolls the batch loops, and
/// inlined they made `execute` four times its size, spread over more pages
/// (README, "What made it fast under TCG").
#[cold]
#[inline(never)]
fn gfput_spill(mut local: LockGuard<'_, GQueue>) {
    let mut spill = [None; GFREE_BATCH];
    for slot in &mut spill {
        *slot = local.pop_front();
    }
    // `SCHED` → a P's `gfree` is the order: never the other way round.
    drop(local);
    let mut sched = SCHED.lock();
    for g in spill.into_iter().flatten() {
        sched.gfree.push_front(g);
    }
}

/// Go's `gfget`: a dead G to reuse, refilling from the global list.
fn gfget(pp: &'static P) -> Option<&'static G> {
    if let Some(g) = pp.gfree.lock().pop_front() {
        return Some(g);
    }
    gfget_refill(pp)
}

/// `gfget`'s rare half, out of line (see [`gfput_spill`]): a batch from
/// the global list.
#[cold]
#[inline(never)]
fn gfget_refill(pp: &'static P) -> Option<&'static G> {
    let mut refill = [None; GFREE_BATCH];
    {
        let mut sched = SCHED.lock();
        for slot in &mut refill {
            *slot = sched.gfree.pop_front();
        }
    }
    let mut refill = refill.into_iter().flatten();
    let first = refill.next();
    if first.is_some() {
        let mut local = pp.gfree.lock();
        for g in refill {
            local.push_front(g);
        }
    }
    first
}

/// Go's `checkdead`: with every M stopped, no goroutine runnable, none in a
/// blocking call, no timer pending and nothing an interrupt could wake, the
/// program can never make progress. `SCHED` held.
pub(crate) fn checkdead(sched: &Sched) {
    let mcount = SCHED.mcount.load(Ordering::Acquire);
    let idle = sched.midle.count_ones() as i32 + sched.nmidlelocked;
    if idle < mcount as i32 || mcount < machine::ncpu() as u32 {
        return;
    }
    if SCHED.ngoroutine.load(Ordering::Acquire) <= 0
        || SCHED.nsyscall.load(Ordering::Acquire) > 0
        || SCHED.nexternal_waiters.load(Ordering::Acquire) > 0
        || !sched.runq.is_empty()
        || time::any_timers()
    {
        return;
    }
    let mut runnable = false;
    super::g::for_each_g(|g| runnable |= matches!(g.status(), GStatus::Runnable | GStatus::Running));
    if runnable {
        return;
    }
    machine::throw(format_args!("all goroutines are asleep - deadlock!"));
}

/// Takes the calling goroutine out of `num_goroutine` (Go's system
/// goroutines: the schedtrace printer is one).
pub fn mark_system_goroutine() {
    SCHED.ngoroutine.fetch_sub(1, Ordering::AcqRel);
}

/// Go's `schedtrace` line (`GODEBUG=schedtrace=MS`), plus a second line of
/// per-P counters: goroutines run, stolen, preempted.
pub fn write_schedtrace(out: &mut dyn core::fmt::Write, now_ms: u64) -> core::fmt::Result {
    let procs = SCHED.gomaxprocs.load(Ordering::Acquire);
    let (midle, runq) = {
        let sched = SCHED.lock();
        (sched.midle.count_ones(), sched.runq.len())
    };
    write!(
        out,
        "SCHED {now_ms}ms: gomaxprocs={procs} idleprocs={} threads={} spinningthreads={} idlethreads={midle} runqueue={runq} [",
        SCHED.npidle.load(Ordering::Acquire),
        SCHED.mcount.load(Ordering::Acquire),
        SCHED.nmspinning.load(Ordering::Acquire),
    )?;
    for id in 0..procs {
        write!(out, "{}{}", if id > 0 { " " } else { "" }, allp_get(id).runq_len())?;
    }
    writeln!(out, "]")?;
    let list = |out: &mut dyn core::fmt::Write, name: &str, f: &dyn Fn(&P) -> u64| -> core::fmt::Result {
        write!(out, " {name}=[")?;
        for id in 0..procs {
            write!(out, "{}{}", if id > 0 { " " } else { "" }, f(allp_get(id)))?;
        }
        write!(out, "]")
    };
    write!(out, "SCHED {now_ms}ms: per-P")?;
    list(out, "run", &|p| p.stats.runs.load(Ordering::Relaxed))?;
    list(out, "stolen", &|p| p.stats.steals.load(Ordering::Relaxed))?;
    list(out, "preempted", &|p| p.stats.preemptions.load(Ordering::Relaxed))?;
    writeln!(out)
}

/// `globrunqput` taking the lock itself.
pub(crate) fn globrunqput_locked(gp: &'static G) {
    let mut sched = SCHED.lock();
    globrunqput(&mut sched, gp);
}
