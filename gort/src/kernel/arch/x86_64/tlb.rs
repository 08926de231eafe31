//! TLB shootdown: making every CPU forget an unmapped range.
//!
//! When a page is unmapped, other CPUs may still cache its translation and
//! keep using the old frame, which the allocator may already have handed to
//! someone else. Before freed frames are reused, every online CPU must flush.
//!
//! ## Protocol ([`shootdown`])
//! 1. Flush locally (`invlpg` per page, or a full CR3 reload past 32 pages).
//! 2. Take `SHOOTDOWN` (one request at a time), publish the range, set
//!    `PENDING` to the number of other online CPUs, send [`FLUSH_VECTOR`] to
//!    all others.
//! 3. Each CPU's handler ([`on_flush_interrupt`], which `mod.rs` registers
//!    for [`FLUSH_VECTOR`]) flushes the range and decrements `PENDING`.
//! 4. The sender waits for `PENDING == 0`, then releases the lock.
//!
//! ## Invariants
//! - The caller has interrupts **enabled** and holds no `IrqLock`: a sender
//!   waiting with interrupts off could deadlock against another CPU that is
//!   itself waiting for this one (asserted).
//! - The lock is a runtime [`GLock`]: it leaves interrupts on while waiting,
//!   so a CPU queued behind another sender still answers that sender's IPI,
//!   and, as every runtime lock, it pins its holder (`m.locks > 0`): a sender
//!   is never preempted with the lock held, and its rank (`Shootdown`) is
//!   checked against what the caller holds.
//! - Release on `PENDING`'s decrement pairs with the sender's Acquire load:
//!   when the sender sees 0, every flush has happened.
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use runtime::sched::{GLock, LockRank};
use x86_64::instructions::tlb;
use x86_64::VirtAddr;

use super::{apic, percpu};

/// The shootdown IPI.
pub const FLUSH_VECTOR: u8 = 0xf4;

const FULL_FLUSH_PAGES: u64 = 32;

static SHOOTDOWN: GLock<()> = GLock::new(LockRank::Shootdown, ());
static START: AtomicU64 = AtomicU64::new(0);
static END: AtomicU64 = AtomicU64::new(0);
static PENDING: AtomicUsize = AtomicUsize::new(0);
static SHOOTDOWNS: AtomicU64 = AtomicU64::new(0);

fn flush_local(start: u64, end: u64) {
    if (end - start) / 4096 > FULL_FLUSH_PAGES {
        tlb::flush_all();
    } else {
        let mut va = start & !0xfff;
        while va < end {
            tlb::flush(VirtAddr::new(va));
            va += 4096;
        }
    }
}

/// The [`FLUSH_VECTOR`] IPI: flushes the published range, then tells the
/// sender.
pub fn on_flush_interrupt() {
    flush_local(START.load(Ordering::Acquire), END.load(Ordering::Acquire));
    PENDING.fetch_sub(1, Ordering::Release);
}

/// Flushes `[start, end)` from every online CPU's TLB; returns when all have.
pub fn shootdown(start: u64, end: u64) {
    assert!(x86_64::instructions::interrupts::are_enabled(), "TLB shootdown with interrupts off");
    flush_local(start, end);
    let others = percpu::online_count().saturating_sub(1);
    if others == 0 {
        return;
    }
    let _one_at_a_time = SHOOTDOWN.lock();
    START.store(start, Ordering::Release);
    END.store(end, Ordering::Release);
    PENDING.store(others, Ordering::Release);
    apic::send_ipi_all_others(FLUSH_VECTOR);
    while PENDING.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
    SHOOTDOWNS.fetch_add(1, Ordering::Relaxed);
}

/// Shootdowns completed (diagnostics, tests).
pub fn count() -> u64 {
    SHOOTDOWNS.load(Ordering::Relaxed)
}
