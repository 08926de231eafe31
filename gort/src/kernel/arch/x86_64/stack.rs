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
//! 2. [`grow`] (through [`on_page_fault`], the page-fault hook): a
//!    not-present fault inside a live slot, above its guard page, maps a
//!    fresh zeroed page and resumes the faulting instruction. The fault is
//!    taken on the page-fault IST stack, so running out of stack is exactly
//!    the case it can handle.
//! 3. A fault in a guard page is a stack overflow: the hook's verdict is
//!    fatal, `stack overflow (goroutine N: stack slot S exceeded its R KiB
//!    reservation at A)` (the runtime maps the slot to its goroutine); a
//!    fault in a slot no goroutine holds is a `use of freed goroutine
//!    stack`. The fault handler prints the report (`fault.rs`).
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
//! The price is virtual address space: the arena spans eight PML4 slots
//! (4 TiB, `memory::GSTACK_SLOTS`), 2,093,055 stacks of 2 MiB.
//!
//! ## Invariants and lock order
//! - The arena lock (`ARENA`, an IrqLock) comes before the page-table and
//!   frame locks (`memory`'s order: page tables, then frames).
//! - Code that holds the page-table or frame lock must run on a fully mapped
//!   stack (a CPU's boot stack, an IST stack, the scheduler's g0 stack): a
//!   stack-growth fault while holding those locks would deadlock in `grow`.
//!   Goroutine code that must take them maps what it will use of its own
//!   stack first with [`memory::prefault_own_stack`]: `memory` does so
//!   itself whenever its page-table or frame lock is taken outermost (so
//!   the heap growing and giving pages back on an allocating goroutine is
//!   covered), as do the boot arena's free and the console, whose locks
//!   rank after this one ([`memory::LOCKED_STACK_BUDGET`], 16 KiB: the
//!   budget those paths must fit in, as Go's `nosplit` chains fit
//!   in its stack guard). Debug builds catch a fault under them anyway as a
//!   fatal lock ordering problem (stackArena under pageTable). The same holds for
//!   `ARENA` itself (a fault inside `alloc` would deadlock in `grow`): like
//!   Go's `newproc` and `stackfree`, `alloc` and `free` run on the system
//!   stack.
//! - No heap allocation under `ARENA`: a goroutine holding the heap lock may
//!   fault into `grow`, which takes `ARENA`; the vectors are enlarged outside
//!   the lock (`reserve_metadata`).
//! - A slot is live from `alloc` to `free`; `grow` maps pages only in live
//!   slots, so a stray access to a freed slot is still a fatal fault.
//! - A slot's top page is in one of three states (`Swap`): `Resident`
//!   (mapped), `Unmapped(frame)` (unmapped by [`release`], the frame still
//!   holds the bytes) or `Saved` (the bytes live in a heap buffer, the frame
//!   is free). Every change of state happens under `ARENA`, and the page is
//!   mapped exactly when the state is `Resident`.
//!
//! ## Releasing parked stacks ([`release`])
//! A goroutine parked on a channel holds its whole top page (4 KiB) and, with
//! the default 2 MiB reservation, a page table of its own (another 4 KiB),
//! to keep a few hundred bytes of frames (328 in the parked test). Go's
//! parked goroutine costs about 2.75 KB: its 2 KiB minimum stack and its G.
//! [`release`] (the scheduler calls it with the world stopped: Go's
//! `shrinkstack` at GC time, or `debug.FreeOSMemory`) moves those bytes out:
//! 1. Allocate a buffer of exactly `top - sp` bytes per candidate (outside
//!    every lock). A candidate's stack never grew past its top page.
//! 2. Per slot, under `ARENA`: unmap the top page (state `Unmapped(frame)`),
//!    and unlink its page table if that left it empty.
//! 3. One TLB shootdown for the whole range: afterwards no CPU can reach the
//!    old frames or tables through a stale translation.
//! 4. Per slot, under `ARENA`: if still `Unmapped`, copy the bytes out of the
//!    frame (through the physical map) into the buffer; state `Saved`. Then
//!    free the frames and tables.
//!
//! The world is stopped, but nothing depends on it for safety: a goroutine
//! that touches a released page (its owner resuming, a sender handing a value
//! to the sudog on a parked receiver's stack, a blocking call that holds a
//! pointer into it) takes a not-present fault, and [`grow`] puts the page
//! back under `ARENA`: the same frame if the state is still `Unmapped` (the
//! release of that slot is then simply undone), or a fresh frame filled from
//! the buffer if `Saved`. Unmapping *before* copying is what makes this
//! exact: a write through a stale TLB entry lands in the frame before the
//! shootdown, and the copy happens after it, so no write is lost. The fault
//! path never waits for `release` (which would deadlock against the
//! shootdown, which needs every CPU to take its IPI).
//!
//! A goroutine dump reads a released stack from its buffer
//! ([`read_released`]) instead of faulting it back in. The future garbage
//! collector scans a released stack the same way.
extern crate alloc;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::hook::Hook;
use runtime::sched::machine::StackRelease;
use runtime::sched::traceback::goroutine_of_stack;
use x86_64::structures::paging::{Page, PhysFrame};
use x86_64::VirtAddr;

use super::fault::{Diagnosis, PageFaultVerdict};
use super::memory::{self, PAGE_SIZE};
use super::sync::IrqLock;
use super::tlb;
use runtime::sched::LockRank;

/// A goroutine stack: `[guard, guard + 4096)` is the guard page, and the
/// stack grows down from `top`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GStack {
    pub slot: usize,
    pub guard: u64,
    pub top: u64,
}

/// The state of a slot's top page (see the module's invariants).
#[derive(Clone, Copy)]
enum Swap {
    Resident,
    Unmapped(PhysFrame),
    Saved(Saved),
}

/// A released stack's bytes `[top - len, top)`: a leaked `Box<[u8]>`.
#[derive(Clone, Copy)]
struct Saved(*mut [u8]);

// SAFETY: the buffer is owned by the arena entry that holds it, and only
// touched under `ARENA`.
unsafe impl Send for Saved {}

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
    /// Per slot: the state of its top page.
    swap: Vec<Swap>,
}

impl Arena {
    /// Whether a new slot's metadata fits without reallocating.
    fn has_room(&self) -> bool {
        self.live.len() < self.live.capacity()
            && self.lowest.len() < self.lowest.capacity()
            && self.swap.len() < self.swap.capacity()
    }

    /// The first address above slot `slot`'s stack.
    fn top(&self, slot: usize) -> u64 {
        self.base + (slot as u64 + 1) * self.stride
    }
}

static ARENA: IrqLock<Option<Arena>> = IrqLock::new(LockRank::StackArena, None);
static PAGES_GROWN: AtomicU64 = AtomicU64::new(0);
static PAGES_RETURNED: AtomicU64 = AtomicU64::new(0);
/// Top pages put back: the frame itself (release not done), or refilled.
static SWAP_CANCELS: AtomicU64 = AtomicU64::new(0);
static SWAP_RESTORES: AtomicU64 = AtomicU64::new(0);
/// Self-tests: a `fn()` that `release` calls between its shootdown and its
/// copy (0: none), to touch a stack in that window on purpose.
static RELEASE_HOOK: Hook<fn()> = Hook::new();

/// Default reservation per goroutine stack.
pub const DEFAULT_RESERVATION: u64 = 2 << 20;

/// Sets up the arena in its own PML4 slots with `reservation` bytes per stack
/// (a multiple of 4 KiB, at least two pages). Boot CPU, once.
pub fn init(reservation: u64) {
    assert!(reservation.is_multiple_of(PAGE_SIZE) && reservation >= 2 * PAGE_SIZE);
    let (base, len) = memory::goroutine_stack_region();
    let stride = reservation + PAGE_SIZE;
    let slots = (len / stride) as usize;
    memory::set_goroutine_stack_stride(stride);
    *ARENA.lock() = Some(Arena {
        base,
        reservation,
        stride,
        slots,
        next: 0,
        free: Vec::new(),
        live: Vec::new(),
        lowest: Vec::new(),
        swap: Vec::new(),
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
                a.swap.push(Swap::Resident);
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
        let (mut live, mut lowest, mut free, mut swap) =
            (Vec::with_capacity(want), Vec::with_capacity(want), Vec::with_capacity(want), Vec::with_capacity(want));
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        if a.live.capacity() < want {
            live.extend_from_slice(&a.live);
            lowest.extend_from_slice(&a.lowest);
            free.extend_from_slice(&a.free);
            swap.extend_from_slice(&a.swap);
            core::mem::swap(&mut a.live, &mut live);
            core::mem::swap(&mut a.lowest, &mut lowest);
            core::mem::swap(&mut a.free, &mut free);
            core::mem::swap(&mut a.swap, &mut swap);
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
        assert!(matches!(a.swap[stack.slot], Swap::Resident), "trim of a released goroutine stack");
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

/// The page-fault hook: grows a live stack ([`grow`]); a fault in a guard
/// page is a goroutine stack overflow and one in a free slot a use of a
/// freed stack, both fatal; any other address is not the arena's.
pub fn on_page_fault(addr: u64, error_code: u64) -> PageFaultVerdict {
    if grow(addr, error_code) {
        return PageFaultVerdict::Handled;
    }
    let (slot, kib) = match place(addr) {
        Place::Guard(slot) => (slot, reservation() / 1024),
        Place::Dead(slot) => {
            return PageFaultVerdict::Fatal(Diagnosis::new(format_args!(
                "use of freed goroutine stack (slot {slot}) at {addr:#x}"
            )))
        }
        Place::Outside | Place::Live(_) => return PageFaultVerdict::NotMine,
    };
    let what = match goroutine_of_stack(slot) {
        Some(goid) => Diagnosis::new(format_args!(
            "stack overflow (goroutine {goid}: stack slot {slot} exceeded its {kib} KiB reservation at {addr:#x})"
        )),
        None => Diagnosis::new(format_args!(
            "stack overflow (goroutine stack slot {slot} exceeded its {kib} KiB reservation at {addr:#x})"
        )),
    };
    PageFaultVerdict::Fatal(what)
}

/// Grows a live stack by the faulting page, or puts back a top page that
/// [`release`] took; false if the fault is not one of those.
pub fn grow(addr: u64, error_code: u64) -> bool {
    if error_code & 1 != 0 {
        return false; // a protection fault, not a missing page
    }
    let page = addr & !(PAGE_SIZE - 1);
    let restored = {
        let mut arena = ARENA.lock();
        let Some(a) = arena.as_mut() else { return false };
        let Place::Live(slot) = a.place(addr) else { return false };
        if page != a.top(slot) - PAGE_SIZE {
            // Growth (only the top page is ever released): as before there
            // was `release`, the page is mapped outside the lock, since only
            // the owner touches the pages below its stack pointer.
            a.lowest[slot] = a.lowest[slot].min(page);
            drop(arena);
            memory::map_fresh(VirtAddr::new(page), PAGE_SIZE, memory::DATA);
            PAGES_GROWN.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        match core::mem::replace(&mut a.swap[slot], Swap::Resident) {
            // Two CPUs touched a released page; the other one put it back.
            Swap::Resident => return memory::translate(VirtAddr::new(page)).is_some(),
            Swap::Unmapped(frame) => {
                // SAFETY: `release` unmapped this frame from this very page and
                // has not copied or freed it (the state says so, under ARENA).
                unsafe { memory::map(Page::containing_address(VirtAddr::new(page)), frame, memory::DATA) };
                SWAP_CANCELS.fetch_add(1, Ordering::Relaxed);
                None
            }
            Swap::Saved(saved) => {
                let frame = memory::alloc_frame().expect("out of physical memory");
                // SAFETY: `saved` is the live buffer this state owns; `frame` is
                // fresh and mapped at the physical offset; the bytes go to the
                // same offsets below the top they came from.
                unsafe {
                    let bytes = &*saved.0;
                    let dst = memory::phys_to_virt(frame.start_address().as_u64() + PAGE_SIZE - bytes.len() as u64);
                    core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr::<u8>(), bytes.len());
                    memory::map(Page::containing_address(VirtAddr::new(page)), frame, memory::DATA);
                }
                SWAP_RESTORES.fetch_add(1, Ordering::Relaxed);
                Some(saved)
            }
        }
    };
    if let Some(saved) = restored {
        // SAFETY: the state no longer names the buffer: we own it. Freeing it
        // here, with interrupts off in the fault handler, takes the heap lock:
        // code that holds that lock touches only the heap and its own
        // (resident, running) stack, so it never faults into this path.
        drop(unsafe { Box::from_raw(saved.0) });
    }
    true
}

/// Releases the top pages of parked goroutines' stacks, given each stack and
/// its saved stack pointer (see "Releasing parked stacks" in the module
/// essay); a dead goroutine's stack comes with `sp = top` (nothing to keep:
/// its next touch maps a zero page). Stacks that grew past their top page
/// are left alone. Interrupts
/// enabled, no lock held; on any stack (the caller's own is pre-faulted).
pub fn release(parked: &[(GStack, u64)]) -> StackRelease {
    memory::prefault_own_stack();
    // 1. Buffers, outside every lock.
    let mut work: Vec<(GStack, Box<[u8]>)> = parked
        .iter()
        .filter(|(s, sp)| s.top - PAGE_SIZE <= *sp && *sp <= s.top)
        .map(|&(s, sp)| (s, vec![0u8; (s.top - sp) as usize].into_boxed_slice()))
        .collect();
    let mut tables = Vec::with_capacity(work.len());
    let mut unmapped = Vec::with_capacity(work.len());
    let (mut lo, mut hi) = (u64::MAX, 0);
    // 2. Unmap, one slot per lock hold (interrupts stay off only briefly).
    for (i, (s, _)) in work.iter().enumerate() {
        let top_page = s.top - PAGE_SIZE;
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        if !a.live[s.slot] || a.lowest[s.slot] != top_page || !matches!(a.swap[s.slot], Swap::Resident) {
            continue;
        }
        let Some(frame) = memory::unmap(Page::containing_address(VirtAddr::new(top_page))) else { continue };
        a.swap[s.slot] = Swap::Unmapped(frame);
        tables.extend(memory::unlink_empty_table(VirtAddr::new(top_page)));
        unmapped.push(i);
        (lo, hi) = (lo.min(top_page), hi.max(s.top));
    }
    if unmapped.is_empty() {
        return StackRelease::default();
    }
    // 3. No CPU keeps a translation to the old frames or tables.
    tlb::shootdown(lo, hi);
    if let Some(hook) = RELEASE_HOOK.get() {
        hook();
    }
    // 4. Copy out what no fault has taken back meanwhile.
    let mut frames = Vec::with_capacity(unmapped.len() + tables.len());
    let mut done = StackRelease::default();
    for i in unmapped {
        let (s, buf) = &mut work[i];
        let mut arena = ARENA.lock();
        let a = arena.as_mut().expect("stack arena not initialized");
        let Swap::Unmapped(frame) = a.swap[s.slot] else { continue };
        let len = buf.len();
        let src = memory::phys_to_virt(frame.start_address().as_u64() + PAGE_SIZE - len as u64);
        // SAFETY: the frame is unmapped everywhere (shootdown done) and owned
        // by this state; the buffer is ours and `len` bytes long.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr::<u8>(), buf.as_mut_ptr(), len) };
        a.swap[s.slot] = Swap::Saved(Saved(Box::into_raw(core::mem::take(buf))));
        drop(arena);
        frames.push(frame);
        done.stacks += 1;
        done.bytes_kept += len;
    }
    done.frames = frames.len() + tables.len();
    PAGES_RETURNED.fetch_add(frames.len() as u64, Ordering::Relaxed);
    for f in frames.into_iter().chain(tables) {
        memory::free_frame(f);
    }
    done // the buffers of slots a fault took back are dropped here
}

/// The word at `addr` of a released stack, read from its buffer (goroutine
/// dumps walk parked stacks without faulting them back in). None if `addr`
/// is not in a released stack's saved bytes, or the arena stays locked.
pub fn read_released(addr: u64) -> Option<u64> {
    let arena = ARENA.try_lock_for_spins(1 << 20)?;
    let a = arena.as_ref()?;
    let Place::Live(slot) = a.place(addr) else { return None };
    let Swap::Saved(saved) = a.swap[slot] else { return None };
    // SAFETY: the buffer is live while the state names it, and we hold ARENA.
    let bytes = unsafe { &*saved.0 };
    let start = a.top(slot) - bytes.len() as u64;
    let at = addr.checked_sub(start)? as usize;
    let word = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(word.try_into().ok()?))
}

/// Top pages put back by a fault since boot: (the frame itself, because
/// `release` had not copied it yet; refilled from the saved bytes).
pub fn swap_ins() -> (u64, u64) {
    (SWAP_CANCELS.load(Ordering::Relaxed), SWAP_RESTORES.load(Ordering::Relaxed))
}

/// Self-tests: `hook` runs inside every `release`, after its shootdown and
/// before its copy (the window a concurrent touch can fall into).
#[cfg(feature = "testing")]
pub fn set_release_hook(hook: Option<fn()>) {
    RELEASE_HOOK.set(hook);
}

/// Pages mapped by growth, and pages returned by `free`, since boot.
pub fn stats() -> (u64, u64) {
    (PAGES_GROWN.load(Ordering::Relaxed), PAGES_RETURNED.load(Ordering::Relaxed))
}
