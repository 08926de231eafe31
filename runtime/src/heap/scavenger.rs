//! The background scavenger: the memory of pages that stayed free goes
//! back to the machine without anyone asking (Go's `bgscavenge`).
//!
//! ## The policy
//! The page heap remembers, per 4 MiB chunk (Go's `pallocChunkPages`),
//! when pages of it last changed hands (`MHeap::scavenge_untouched`). A
//! chunk no page of which was taken or freed for [`scavenge_age`] (5 s by
//! default) is idle: the memory of its free pages goes back, as
//! `free_os_memory` would do for every free page. Empty spans left on the
//! mcentrals' lists go back to the page heap first (they count as freed
//! then, so they are given back one age later). A released page taken
//! again is backed again first, as after `free_os_memory`.
//!
//! ## Who runs it, and when
//! An idle CPU: the scheduler's idle loop (`sched::idle::park_m`, on the
//! M's system stack, no P, no lock, interrupts on) asks [`due_at`] before
//! halting. If the time has come it runs a pass ([`run`], at most 8 MiB of
//! pages, then it looks for work again, so a CPU handed a P waits for at
//! most one step); if not, it arms its timer for that time as well as for
//! its timers, so an otherwise idle machine wakes once to give the memory
//! back and then stays asleep: nothing is armed when nothing is free. The
//! check costs two loads and a compare.
//!
//! ## Where we differ from Go
//! - Go's scavenger is a goroutine paced to about 1% of one CPU's time,
//!   releasing memory above a goal derived from the collector's heap goal
//!   (`gcPercent`, `memoryLimit`), 64 KiB at a time. With no collector
//!   (issue 14 brings one) there is no goal: idle time decides, and only
//!   idle CPUs run it, so a machine kept busy on every CPU gives nothing
//!   back until it pauses (or calls `free_os_memory`).
//! - Go releases to the OS with `madvise`; here the frames go back to the
//!   kernel's frame allocator (`Backing::release`).
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::malloc::get;

/// How long a chunk must go untouched before its free pages go back.
pub const DEFAULT_SCAVENGE_AGE_NS: u64 = 5_000_000_000;

/// The most pages one [`run`] gives back (8 MiB) before the CPU looks for
/// work again.
const MAX_PAGES_PER_RUN: usize = 1024;

static AGE: AtomicU64 = AtomicU64::new(DEFAULT_SCAVENGE_AGE_NS);
/// When the chunks the last pass left with free, backed pages come of age
/// (`u64::MAX`: none).
static NEXT: AtomicU64 = AtomicU64::new(u64::MAX);
/// A CPU is running a pass (the others skip theirs).
static BUSY: AtomicBool = AtomicBool::new(false);
/// Pages given back by passes, over the program's life.
static RELEASED: AtomicU64 = AtomicU64::new(0);

/// How long a chunk must go untouched before the scavenger gives its free
/// pages back.
pub fn scavenge_age() -> u64 {
    AGE.load(Ordering::Relaxed)
}

/// Sets [`scavenge_age`] (tests shorten it); returns the previous age.
pub fn set_scavenge_age(ns: u64) -> u64 {
    AGE.swap(ns, Ordering::Relaxed)
}

/// Pages the background scavenger gave back so far.
pub fn scavenged_pages() -> u64 {
    RELEASED.load(Ordering::Relaxed)
}

/// When the next pass may find something to give back (`u64::MAX`:
/// nothing is free). Any context.
#[inline]
pub fn due_at() -> u64 {
    let Some(heap) = get() else { return u64::MAX };
    let freed = heap.mheap().freed_since().saturating_add(scavenge_age());
    NEXT.load(Ordering::Relaxed).min(freed)
}

/// A pass, if one is due at `now` and no other CPU runs one; true if it
/// ran. Called by an idle M: system stack, no P, no lock held, interrupts
/// enabled (the machine's release shoots down TLBs).
pub(crate) fn run(now: u64) -> bool {
    let Some(heap) = get() else { return false };
    if now < due_at() || BUSY.swap(true, Ordering::Acquire) {
        return false;
    }
    let age = scavenge_age();
    heap.reclaim();
    let (released, next) = heap.mheap().scavenge_untouched(now.saturating_sub(age), MAX_PAGES_PER_RUN);
    RELEASED.fetch_add(released as u64, Ordering::Relaxed);
    let next = match next {
        // The step ran out before the old chunks did: go on at once.
        Some(_) if released >= MAX_PAGES_PER_RUN => now,
        Some(touched) => touched.saturating_add(age),
        None => u64::MAX,
    };
    NEXT.store(next, Ordering::Relaxed);
    BUSY.store(false, Ordering::Release);
    true
}
