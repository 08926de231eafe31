//! Giving back the stack memory of parked goroutines: the part of Go's
//! `shrinkstack` (run by the collector on every stack it scans) and of
//! `debug.FreeOSMemory` that a non-moving stack allows.
//!
//! ## Why
//! A goroutine blocked on a channel keeps a few hundred bytes of frames (the
//! parked test measures 328), but its stack is page-granular: one 4 KiB page,
//! plus, with the default 2 MiB reservation, a page table of its own. That is
//! about 8.4 KB per parked goroutine where Go needs about 2.75 KB (its 2 KiB
//! minimum stack and its G). Go shrinks a stack by copying it into a smaller
//! one; ours cannot move (pointers into it must stay valid), so instead the
//! machine layer moves the *bytes* of a parked goroutine's top page into an
//! exactly-sized buffer and returns the page (and the page table, once
//! empty) to the frame allocator. The addresses stay reserved, and the first
//! touch of the page (the goroutine resuming, a sender writing into its
//! sudog) faults it back in transparently: see the kernel's `stack.rs`,
//! "Releasing parked stacks".
//!
//! ## The algorithm ([`release_parked_stacks`])
//! 1. Stop the world (Go shrinks stacks during the GC's stack scan, with the
//!    goroutine suspended; here every P stops, so no goroutine runs and none
//!    changes state under us except by `goready` from an interrupt, which
//!    touches the G, not its stack).
//! 2. Collect every Waiting goroutine that has a stack, with its saved stack
//!    pointer: everything it still needs lies in `[sp, top)`. Runnable
//!    goroutines are about to run and are left alone, as are goroutines in a
//!    blocking call (they are running, without a P). Dead goroutines on the
//!    free lists keep their top page for their next life: they are offered
//!    with `sp = top` (nothing to keep), so their next `go` gets a fresh zero
//!    page on first touch (Go's GC frees the stacks of free-listed Gs too,
//!    `markrootFreeGStacks`).
//! 3. Hand the list to the machine ([`machine::stack_release`]), which keeps
//!    only stacks that fit in their top page; start the world.
//!
//! ## Who calls it
//! - [`free_os_memory`] (Go's `debug.FreeOSMemory`; the collector will run a
//!   cycle first once it exists), and later the collector itself at the end
//!   of each cycle, for goroutines that stayed parked through it (Go shrinks
//!   at the same point).
//! - Memory pressure ([`check_memory_pressure`]): a goroutine's first
//!   moment (its stack was just mapped) and `goexit` compare the free frames
//!   (one load) with a trigger, at first an eighth of the frames free after
//!   boot. Below it, that goroutine releases the stacks before going on (as
//!   Go makes an allocating goroutine assist the collector). If the release
//!   brought free memory back above an eighth, the trigger stays there;
//!   otherwise it drops to half of what is free, so memory that no release
//!   can win back costs a logarithmic number of stopped worlds, not one per
//!   goroutine. Between two checks a CPU takes at most one stack (a page and
//!   a page table), so the eighth is a wide margin. Not at `go`: a new G
//!   takes its stack only when it first runs, and thousands can be queued. A
//!   goroutine that wakes faults its page back in, runs and exits: parking
//!   goroutines by the hundred thousand, or waking them all at once, passes
//!   the checks.
//!
//! Doing it at every `gopark` would cost a TLB shootdown per park; doing it
//! in batches costs one per call.
//!
//! ## Invariants
//! - Only a goroutine that holds a P, no runtime lock and no `PreemptOff`
//!   (`mlocks() == 0`), with interrupts enabled, stops the world here: the
//!   pressure check skips the release otherwise (the next check will try
//!   again). Stopping the world with interrupts off could deadlock
//!   against a CPU waiting for this one's TLB-shootdown answer.
//! - The shortage is checked again with the world stopped, and the trigger
//!   moved before the world starts: goroutines that saw the same shortage on
//!   other CPUs wait for the world (not skip the release: a flag held by a
//!   releaser that was descheduled let thousands of queued goroutines take
//!   stacks past it, each skipping, until the frames ran out), then find
//!   memory back above the trigger and go on. At most one stopped world per
//!   CPU per shortage.
//!
//! ## Where we differ from Go
//! - Go's shrink halves a stack that uses less than a quarter of it and never
//!   goes below 2 KiB; ours keeps exactly the used bytes of a parked
//!   goroutine and nothing of a running one.
//! - Go's `FreeOSMemory` returns heap spans to the OS; there is no OS here:
//!   the frames go back to the kernel's frame allocator.
extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::g::{for_each_g, GStatus};
use super::m::getg;
use super::machine::{self, StackRelease};
use super::stw::{start_the_world, stop_the_world};

/// Free frames below which a starting or exiting goroutine releases stacks
/// (0: not yet computed, use [`low_water`]). The check reads it and the two
/// counts below on every goroutine start and exit: zero-initialized, all
/// three sit in `.bss` with the scheduler's other hot statics.
static TRIGGER: AtomicUsize = AtomicUsize::new(0);
/// Physical frames free now and after boot, pushed by the machine layer as
/// they change ([`set_frames`]); zero total: not reported, no pressure.
static FREE_FRAMES: AtomicUsize = AtomicUsize::new(0);
static TOTAL_FRAMES: AtomicUsize = AtomicUsize::new(0);
static PRESSURE_RELEASES: AtomicU64 = AtomicU64::new(0);

/// Releases the stack pages of every parked goroutine, and the top pages of
/// dead ones (see the module essay); returns what the machine layer did.
/// Call from a goroutine.
pub fn release_parked_stacks() -> StackRelease {
    let stopped = stop_the_world();
    let released = release_stopped();
    start_the_world(stopped, None);
    released
}

/// Steps 2 and 3 of the algorithm; the caller has stopped the world.
fn release_stopped() -> StackRelease {
    let mut stacks = Vec::new();
    for_each_g(|g| match (g.status(), g.stack_bounds()) {
        (GStatus::Waiting(_), Some(stack)) => stacks.push((stack, g.saved_sp())),
        (GStatus::Dead, Some(stack)) => stacks.push((stack, stack.hi)),
        _ => {}
    });
    machine::stack_release(&stacks)
}

/// The pressure trigger's resting level: an eighth of the frames free after
/// boot.
pub fn low_water(total: usize) -> usize {
    total / 8
}

/// The trigger after a pressure release left `free` frames free.
pub fn next_trigger(free: usize, total: usize) -> usize {
    if free >= low_water(total) {
        low_water(total)
    } else {
        (free / 2).max(1)
    }
}

/// The machine layer reports its free frames (at every change) and, once,
/// the total free after boot.
pub fn set_frames(free: usize, total: Option<usize>) {
    FREE_FRAMES.store(free, Ordering::Relaxed);
    if let Some(total) = total {
        TOTAL_FRAMES.store(total, Ordering::Relaxed);
    }
}

/// (free frames now, free after boot), as last reported.
pub fn frames() -> (usize, usize) {
    (FREE_FRAMES.load(Ordering::Relaxed), TOTAL_FRAMES.load(Ordering::Relaxed))
}

/// A goroutine's start and `goexit` call this: below the trigger, release
/// stacks first (see "Who calls it"). One load and a compare when memory is
/// plentiful.
#[inline(always)]
pub(crate) fn check_memory_pressure() {
    if under_pressure() {
        pressure_release();
    }
}

#[inline(always)]
fn under_pressure() -> bool {
    let (free, total) = frames();
    let trigger = match TRIGGER.load(Ordering::Relaxed) {
        0 => low_water(total),
        t => t,
    };
    free < trigger
}

#[cold]
fn pressure_release() {
    let irq_on = machine::irq_disable();
    machine::irq_restore(irq_on);
    let running = getg().is_some_and(|g| g.status() == GStatus::Running);
    if !irq_on || !running || machine::mlocks() != 0 {
        return;
    }
    let stopped = stop_the_world();
    // Goroutines on other CPUs may have seen the same shortage: the first to
    // stop the world releases, the others find memory back above the trigger.
    if under_pressure() {
        release_stopped();
        let (free, total) = frames();
        TRIGGER.store(next_trigger(free, total), Ordering::Relaxed);
        PRESSURE_RELEASES.fetch_add(1, Ordering::Relaxed);
    }
    start_the_world(stopped, None);
}

/// Releases made because memory ran low, since boot.
pub fn pressure_releases() -> u64 {
    PRESSURE_RELEASES.load(Ordering::Relaxed)
}

/// Go's `debug.FreeOSMemory`: gives every page the runtime can spare back
/// to the frame allocator: the parked and dead goroutines' stacks, and the
/// heap's free pages (after every P's cache gave its spans back, with the
/// world stopped for both).
pub fn free_os_memory() -> StackRelease {
    let stopped = stop_the_world();
    let released = release_stopped();
    crate::heap::flush_all_stopped();
    start_the_world(stopped, None);
    // Outside the stopped world: releasing the heap's pages waits for every
    // CPU to flush its TLB.
    crate::heap::scavenge();
    released
}
