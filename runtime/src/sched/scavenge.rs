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
//!    blocking call (they are running, without a P).
//! 3. Hand the list to the machine ([`machine::stack_release`]), which keeps
//!    only stacks that fit in their top page; start the world.
//!
//! ## Who calls it
//! [`free_os_memory`] (Go's `debug.FreeOSMemory`; the collector will run a
//! cycle first once it exists), and the collector itself at the end of each
//! cycle, for goroutines that stayed parked through it (Go shrinks at the
//! same point). Doing it at every `gopark` would cost a TLB shootdown per
//! park; doing it in batches costs one per call.
//!
//! ## Where we differ from Go
//! - Go's shrink halves a stack that uses less than a quarter of it and never
//!   goes below 2 KiB; ours keeps exactly the used bytes of a parked
//!   goroutine and nothing of a running one.
//! - Go's `FreeOSMemory` returns heap spans to the OS; there is no OS here:
//!   the frames go back to the kernel's frame allocator.
extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::g::{for_each_g, GStatus};
use super::machine::{self, StackRelease};
use super::stw::{start_the_world, stop_the_world};

static RELEASED_STACKS: AtomicU64 = AtomicU64::new(0);

/// Releases the stack pages of every parked goroutine (see the module
/// essay); returns what the machine layer did. Call from a goroutine.
pub fn release_parked_stacks() -> StackRelease {
    let stopped = stop_the_world();
    let mut parked = Vec::new();
    for_each_g(|g| {
        if let (GStatus::Waiting(_), Some(stack)) = (g.status(), g.stack_bounds()) {
            parked.push((stack, g.saved_sp()));
        }
    });
    let released = machine::stack_release(&parked);
    start_the_world(stopped, None);
    RELEASED_STACKS.fetch_add(released.stacks as u64, Ordering::Relaxed);
    released
}

/// Go's `debug.FreeOSMemory`: gives every page the runtime can spare back
/// to the frame allocator. Today that is the parked goroutines' stacks.
pub fn free_os_memory() -> StackRelease {
    release_parked_stacks()
}

/// Stacks released since boot (a stack released twice counts twice).
pub fn released_stacks() -> u64 {
    RELEASED_STACKS.load(Ordering::Relaxed)
}
