//! Goroutine stacks: fixed virtual reservations that grow on demand.
//!
//! Go copies a goroutine's stack to a bigger one when it runs out (checked in
//! every function prologue). We cannot move Rust frames, so each goroutine
//! gets a fixed *virtual* reservation instead, and physical pages only as it
//! touches them:
//!
//! ```text
//! slot base                                                       slot base + stride
//! | 2 guard pages (never mapped) | ... mapped on first touch ... | top page (mapped) |
//!                                                          stack grows <- top
//! ```
//! 1. [`alloc`]: take a free slot (or the next unused one) and make sure its
//!    top page is mapped: a goroutine starts with one 4 KiB page.
//! 2. [`grow`] (the page-fault hook): a not-present fault inside a live
//!    slot, above its guard page, maps a fresh zeroed page and resumes the
//!    faulting instruction. The fault is taken on the page-fault IST stack,
//!    so running out of stack is exactly the case it can handle.
//! 3. A fault in a guard page is a stack overflow: the fault handler reports
//!    `fatal error: stack overflow`, naming the slot (the scheduler maps slots
//!    to goroutine ids).
//! 4. [`trim`] (goroutine exit): unmap every page but the top one and return
//!    their frames after a TLB shootdown (the goroutine may have run on other
//!    CPUs); the dead G keeps its slot and top page for its next life. `grow`
//!    records each slot's lowest mapped page, so `trim` visits only the pages
//!    the goroutine actually grew into: a goroutine that never grew costs no
//!    page-table work and no shootdown (goroutine exit is a hot path).
//!    [`free`] also gives the slot back (the machine self-tests use it).
//!
//! ## Slot stride
//! Slots are `reservation + 4 KiB` apart, not `reservation`: the extra page
//! is unmapped (a second guard page). With power-of-two slots every stack's
//! hot top page would have the same address bits below 2 MiB, and QEMU's
//! software TLB, direct-mapped by page number, would make those pages evict
//! each other whenever two goroutines' stacks are both in use (measured at
//! 1 vCPU: sync.Once 22 ns/op with aligned slots, 5.5 ns/op staggered; Go 5.4).
//! The odd stride staggers the tops by one page per slot. Hardware caches
//! and TLBs are associative and gain from the same staggering (Go's stacks,
//! from its allocator, have no such alignment either).
//!
//! Because stacks never move, pointers into them stay valid for the
//! goroutine's whole life: Rust references to stack data are sound across
//! growth, and the future garbage collector scans a stack by its bounds
//! alone, with no pointer adjustment (Go must adjust pointers when copying).
//! The price is virtual address space: one PML4 slot (512 GiB) holds 262,144
//! stacks of 2 MiB.
//!
//! ## Invariants and lock order
//! - The arena lock (`ARENA`, an IrqLock) comes before the page-table and
//!   frame locks (`memory`'s order: page tables, then frames).
//! - Code that holds the page-table or frame lock must run on a fully mapped
//!   stack (a CPU's boot stack, an IST stack, the scheduler's g0 stack): a
//!   stack-growth fault while holding those locks would deadlock in `grow`.
//!   Goroutine code never calls `memory::map` directly. The same holds for
//!   `ARENA` itself (a fault inside `alloc` would deadlock in `grow`): like
//!   Go's `newproc` and `stackfree`, `alloc` and `free` run on the system
//!   stack.
//! - No heap allocation under `ARENA`: a goroutine holding the heap lock may
//!   fault into `grow`, which takes `ARENA`; the vectors are enlarged outside
//!   the lock (`reserve_metadata`).
//! - A slot is live from `alloc` to `free`; `grow` maps pages only in live
//!   slots, so a stray access to a freed slot is still a fatal fault.
extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::structures::paging::Page;
use x86_64::VirtAddr;

use super::memory::{self, PAGE_SIZE};
use super::sync::IrqLock;
use super::tlb;

/// A goroutine stack: `[guard, guard + 4096)` is the guard page, and the
/// stack grows down from `top`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GStack {
    pub slot: usize,
    pub guard: u64,
    pub top: u64,
}

struct Arena {
    base: u64,
    reservation: u64,
    /// Distance between slots: the reservation plus one more unmapped page
    /// (see "Slot stride" in the module essay).
    stride: u64,
    slots: usize,
    next: usize,
    free: Vec<usize>,
    live: Vec<bool>,
    /// Per slot: the lowest page `grow` mapped (the top page if none).
    lowest: Vec<u64>,
}

impl Arena {
    /// Whether a new slot's metadata fits without reallocating.
    fn has_room(&self) -> bool {
        self.live.len() < self.live.capacity() && self.lowest.len() < self.lowest.capacity()
    }
}

static ARENA: IrqLock<Option<Arena>> = IrqLock::new(None);
static PAGES_GROWN: AtomicU64 = AtomicU64::new(0);
static PAGES_RETURNED: AtomicU64 = AtomicU64::new(0);

/// Default reservation per goroutine stack.
pub const DEFAULT_RESERVATION: u64 = 2 << 20;

/// Sets up the arena in its own PML4 slot with `reservation` bytes per stack
/// (a multiple of 4 KiB, at least two pages). Boot CPU, once.
pub fn init(reservation: u64) {
    assert!(reservation.is_multiple_of(PAGE_SIZE) && reservation >= 2 * PAGE_SIZE);
    let (base, len) = memory::goroutine_stack_region();
    let stride = reservation + PAGE_SIZE;
    let slots = (len / stride) as usize;
    *ARENA.lock() = Some(Arena {
        base,
        reservation,
        stride,
        slots,
        next: 0,
        free: Vec::new(),
        live: Vec::new(),
        lowest: Vec::new(),
    });
}

/// The reservation per stack.
pub fn reservation() -> u64 {
    ARENA.lock().as_ref().map_or(0, |a| a.reservation)
}

/// A stack for a new goroutine, with its top page mapped. System stack only.
pub fn alloc() -> GStack {
    let stack = loop {
        reserve_metadata();
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        let slot = match a.free.pop() {
            Some(s) => s,
            None if a.has_room() => {
                assert!(a.next < a.slots, "out of goroutine stack address space");
                a.next += 1;
                a.live.push(false);
                a.lowest.push(a.base + a.next as u64 * a.stride - PAGE_SIZE);
                a.next - 1
            }
            // Another CPU took the slot or the room `reserve_metadata` saw
            // between its lock and ours: make room again, outside the lock.
            None => continue,
        };
        a.live[slot] = true;
        let guard = a.base + slot as u64 * a.stride + PAGE_SIZE;
        break GStack { slot, guard, top: guard + a.reservation };
    };
    let top_page = VirtAddr::new(stack.top - PAGE_SIZE);
    if memory::translate(top_page).is_none() {
        memory::map_fresh(top_page, PAGE_SIZE, memory::DATA);
    }
    stack
}

/// Makes room in the arena's vectors *outside* the arena lock, so `alloc` and
/// `free` never call the heap allocator while holding it. (A goroutine that
/// holds the heap lock can fault to grow its stack, and `grow` takes the arena
/// lock: allocating under the arena lock would be the reverse order.)
fn reserve_metadata() {
    loop {
        let want = {
            let arena = ARENA.lock();
            let a = arena.as_ref().expect("stack arena not initialized");
            if !a.free.is_empty() || a.has_room() {
                return;
            }
            (a.live.capacity() * 2).max(64)
        };
        let (mut live, mut lowest, mut free) =
            (Vec::with_capacity(want), Vec::with_capacity(want), Vec::with_capacity(want));
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        if a.live.capacity() < want {
            live.extend_from_slice(&a.live);
            lowest.extend_from_slice(&a.lowest);
            free.extend_from_slice(&a.free);
            core::mem::swap(&mut a.live, &mut live);
            core::mem::swap(&mut a.lowest, &mut lowest);
            core::mem::swap(&mut a.free, &mut free);
        }
        drop(arena); // the old vectors are freed after the lock is released
    }
}

/// Returns the pages `stack` grew into (all but its top page) to the frame
/// allocator, after a TLB shootdown (the goroutine may have run on other
/// CPUs). The slot stays live: a dead goroutine keeps its stack for reuse.
/// System stack only, interrupts enabled.
pub fn trim(stack: GStack) {
    let top_page = stack.top - PAGE_SIZE;
    let lowest = {
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        assert!(a.live[stack.slot], "trim of a goroutine stack that is not live");
        core::mem::replace(&mut a.lowest[stack.slot], top_page)
    };
    if lowest >= top_page {
        return;
    }
    let mut frames = Vec::new();
    let mut page = lowest;
    while page < top_page {
        if let Some(frame) = memory::unmap(Page::containing_address(VirtAddr::new(page))) {
            frames.push(frame);
        }
        page += PAGE_SIZE;
    }
    if !frames.is_empty() {
        tlb::shootdown(lowest, top_page);
        PAGES_RETURNED.fetch_add(frames.len() as u64, Ordering::Relaxed);
        for f in frames {
            memory::free_frame(f);
        }
    }
}

/// Trims `stack` and returns its slot to the free list (its top page stays
/// mapped for the next user). Interrupts must be enabled (TLB shootdown).
pub fn free(stack: GStack) {
    trim(stack);
    let mut arena = ARENA.lock();
    let a = arena.as_mut().expect("stack arena not initialized");
    a.live[stack.slot] = false;
    a.free.push(stack.slot);
}

/// What an address in the arena is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Not in the arena.
    Outside,
    /// In the guard page of slot `n` (live or not).
    Guard(usize),
    /// Above the guard page of live slot `n`.
    Live(usize),
    /// In a slot that is not allocated.
    Dead(usize),
}

/// Classifies `addr`.
pub fn place(addr: u64) -> Place {
    ARENA.lock().as_ref().map_or(Place::Outside, |a| a.place(addr))
}

impl Arena {
    fn place(&self, addr: u64) -> Place {
        if addr < self.base || addr >= self.base + self.slots as u64 * self.stride {
            return Place::Outside;
        }
        let slot = ((addr - self.base) / self.stride) as usize;
        let offset = (addr - self.base) % self.stride;
        match (offset < 2 * PAGE_SIZE, self.live.get(slot).copied().unwrap_or(false)) {
            (true, _) => Place::Guard(slot),
            (false, true) => Place::Live(slot),
            (false, false) => Place::Dead(slot),
        }
    }
}

/// The page-fault hook: grows a live stack by the faulting page.
pub fn grow(addr: u64, error_code: u64) -> bool {
    if error_code & 1 != 0 {
        return false; // a protection fault, not a missing page
    }
    let page = addr & !(PAGE_SIZE - 1);
    {
        let mut arena = ARENA.lock();
        let Some(a) = arena.as_mut() else { return false };
        let Place::Live(slot) = a.place(addr) else { return false };
        a.lowest[slot] = a.lowest[slot].min(page);
    }
    memory::map_fresh(VirtAddr::new(page), PAGE_SIZE, memory::DATA);
    PAGES_GROWN.fetch_add(1, Ordering::Relaxed);
    true
}

/// Pages mapped by growth, and pages returned by `free`, since boot.
pub fn stats() -> (u64, u64) {
    (PAGES_GROWN.load(Ordering::Relaxed), PAGES_RETURNED.load(Ordering::Relaxed))
}
