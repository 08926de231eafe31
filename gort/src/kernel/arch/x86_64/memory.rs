//! Physical frames, page tables, and the kernel's virtual address regions.
//!
//! ## Physical memory
//! A `runtime::frames::FrameBitmap` (portable, host-tested) with one bit per
//! 4 KiB frame covers memory up to the highest usable address of the
//! bootloader's memory map; it lives in the first usable region above 1 MiB
//! that fits. Every `Usable` region is released into it, then its own frames
//! and frame 0 are reserved again. Allocation is next-fit starting at 1 MiB,
//! so low memory stays free for `alloc_frame_below` (the AP trampoline needs a
//! frame under 1 MiB, the AP page-table copy one under 4 GiB). 512 MiB of
//! guest memory costs a 16 KiB bitmap; 24 GiB costs 768 KiB.
//!
//! ## Virtual memory
//! The bootloader maps all physical memory at a dynamic offset (`phys_to_virt`)
//! and the kernel at its link address (top 2 GiB, non-PIE). We claim one unused
//! top-half PML4 slot (512 GiB) for everything the kernel maps itself:
//!
//! ```text
//! slot base + 0        .. + 1 GiB    boot arena (`heap.rs`: sized and mapped at boot)
//! slot base + 1 GiB    .. + 2 GiB    MMIO (local APIC, IOAPIC), uncached
//! slot base + 2 GiB    .. + 512 GiB  stacks: each one a guard page + mapped pages
//! ```
//! `GSTACK_SLOTS` more slots, consecutive (4 TiB), hold goroutine stacks
//! (`stack.rs`): fixed reservations, mapped lazily by the page-fault
//! handler; two million of 2 MiB fit. Another slot holds the heap's region
//! (`runtime::heap`): as many 8 KiB pages as the guest has memory, backed
//! by frames as the heap grows into them ([`back_heap`]).
//!
//! ## TLB colors
//! QEMU's TCG translates guest addresses through a software TLB that is
//! direct-mapped by page number and, in a kernel that never flushes it
//! whole, stays at its smallest size (128 entries measured here): two hot
//! pages whose numbers agree modulo 128 evict each other on every access
//! (an atomic on the heap measured 10 ns or 60 ns depending on its page).
//! Every region above starts at a 2 MiB boundary, as do the goroutine
//! stacks' slots, so their hot first pages all landed on the same few TLB
//! entries as the kernel's statics. Each region therefore starts a few dozen
//! pages into its area (`*_COLOR`): statics at entries 2–17, boot and g0
//! stacks from 24, the heap from 48, goroutine stacks from 88 (staggered one
//! page per slot, see `stack.rs`). Hardware TLBs are set-associative and do
//! not care; the offsets cost nothing.
//! Each area hands out addresses with a bump pointer: nothing is returned yet,
//! since boot-time stacks and MMIO live forever. Goroutine stacks ([`super::stack`]) get
//! their own reservation allocator with free lists in the scheduler.
//!
//! ## Invariants and lock order
//! - Data mappings are NX (EFER.NXE is set on every CPU); only the kernel image's
//!   text and the AP trampoline page are executable.
//! - Lock order: `PAGE_TABLE` before `FRAMES`. Both are `IrqLock`s, so the page
//!   fault handler may take them (it does, to grow goroutine stacks later).
//! - `unmap` flushes the local TLB only; a caller that unmaps memory other
//!   CPUs may have used must call `tlb::shootdown` before freeing the frames
//!   (`stack::free` does).
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use x86_64::registers::control::Cr3;
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use runtime::frames::FrameBitmap;
use runtime::sched::scavenge;

use super::sync::{IrqGuard, IrqLock};
use core::sync::atomic::{AtomicU64, Ordering};
use runtime::sched::LockRank;
use x86_64::instructions::interrupts;

pub const PAGE_SIZE: u64 = 4096;

const GIB: u64 = 1 << 30;

static PHYS_OFFSET: AtomicU64 = AtomicU64::new(0);
static FRAMES: IrqLock<Option<FrameBitmap<'static>>> = IrqLock::new(LockRank::Frames, None);
static PAGE_TABLE: IrqLock<Option<OffsetPageTable<'static>>> = IrqLock::new(LockRank::PageTable, None);
static SLOT_BASE: AtomicU64 = AtomicU64::new(0);
static MMIO_NEXT: AtomicU64 = AtomicU64::new(0);
static STACK_NEXT: AtomicU64 = AtomicU64::new(0);
static KERNEL_L4: AtomicU64 = AtomicU64::new(0);
static GSTACK_BASE: AtomicU64 = AtomicU64::new(0);
static HEAP_REGION_BASE: AtomicU64 = AtomicU64::new(0);

/// PML4 slots (512 GiB each) for goroutine stacks: room for 2,093,055
/// reservations of 2 MiB and their guard pages (a million goroutines need
/// two TiB).
const GSTACK_SLOTS: usize = 8;
/// Bytes in one PML4 slot.
const SLOT_SIZE: u64 = 512 * GIB;

/// Page offsets ("colors") of the hot regions' starts; see "TLB colors" in
/// the module essay. The kernel's statics sit at pages 0x82.. of its image.
const BOOT_STACK_COLOR: u64 = 24 * PAGE_SIZE;
const HEAP_COLOR: u64 = 48 * PAGE_SIZE;
const GSTACK_COLOR: u64 = 88 * PAGE_SIZE;
/// Even, so the heap region starts on one of its own 8 KiB pages.
const HEAP_REGION_COLOR: u64 = 120 * PAGE_SIZE;
/// Frames the heap leaves to page tables, stacks and the fatal path.
const HEAP_FRAME_RESERVE: u64 = 256;

/// The kernel-virtual address of physical address `pa` (through the bootloader's
/// mapping of all physical memory).
pub fn phys_to_virt(pa: u64) -> VirtAddr {
    VirtAddr::new(pa + PHYS_OFFSET.load(Ordering::Relaxed))
}

/// Sets up the frame bitmap and page-table access. Boot CPU, once, first thing
/// after the console.
pub fn init(regions: &MemoryRegions, phys_offset: u64) {
    PHYS_OFFSET.store(phys_offset, Ordering::Relaxed);
    enable_nx();
    let usable = || regions.iter().filter(|r| r.kind == MemoryRegionKind::Usable);
    let top = usable().map(|r| r.end).max().expect("no usable memory");
    let frames = top.div_ceil(PAGE_SIZE);
    let bitmap_bytes = frames.div_ceil(64) * 8;
    let home = usable()
        .find(|r| r.start >= 0x10_0000 && r.end - r.start >= bitmap_bytes)
        .expect("no room for the frame bitmap");
    let words = {
        let ptr = phys_to_virt(home.start).as_mut_ptr::<u64>();
        // SAFETY: `home` is usable RAM that nothing else owns yet, mapped at the
        // physical-memory offset, and large enough for the bitmap.
        unsafe { core::slice::from_raw_parts_mut(ptr, (bitmap_bytes / 8) as usize) }
    };
    let mut bm = FrameBitmap::new_all_used(words, frames);
    for r in usable() {
        bm.release_range(r.start.div_ceil(PAGE_SIZE), r.end / PAGE_SIZE);
    }
    bm.reserve_range(home.start / PAGE_SIZE, (home.start + bitmap_bytes).div_ceil(PAGE_SIZE));
    bm.reserve_range(0, 1);
    // Keep low memory for callers that need it (the AP trampoline).
    bm.set_hint(0x10_0000 / PAGE_SIZE);
    let free = bm.free_count();
    log::info!("memory: {} MiB usable, {free} frames free", (free * PAGE_SIZE) >> 20);
    scavenge::set_frames(free as usize, Some(free as usize));
    *FRAMES.lock() = Some(bm);

    let (l4_frame, _) = Cr3::read();
    KERNEL_L4.store(l4_frame.start_address().as_u64(), Ordering::Relaxed);
    let l4_ptr = phys_to_virt(l4_frame.start_address().as_u64()).as_mut_ptr::<PageTable>();
    // SAFETY: CR3 points at the active level-4 table, mapped at the physical
    // offset; from here on all page-table access goes through `PAGE_TABLE`.
    let l4 = unsafe { &mut *l4_ptr };
    // Claim free top-half slots (511 holds the kernel image): a run of
    // `GSTACK_SLOTS` for goroutine stacks (`stack.rs`), then one for what
    // the kernel maps itself and one for the heap.
    let free = |i: usize| l4[i].is_unused();
    let gstack_slot = (256..=511 - GSTACK_SLOTS)
        .rev()
        .find(|&first| (first..first + GSTACK_SLOTS).all(free))
        .expect("no run of free PML4 slots for goroutine stacks");
    let mut free_slots =
        (256..511).rev().filter(|&i| free(i) && !(gstack_slot..gstack_slot + GSTACK_SLOTS).contains(&i));
    let slot = free_slots.next().expect("no free PML4 slot");
    let heap_slot = free_slots.next().expect("no free PML4 slot for the heap");
    let slot_base = |i: usize| 0xffff_0000_0000_0000u64 | ((i as u64) << 39);
    let base = slot_base(slot);
    GSTACK_BASE.store(slot_base(gstack_slot), Ordering::Relaxed);
    HEAP_REGION_BASE.store(slot_base(heap_slot) + HEAP_REGION_COLOR, Ordering::Relaxed);
    SLOT_BASE.store(base, Ordering::Relaxed);
    MMIO_NEXT.store(base + GIB, Ordering::Relaxed);
    STACK_NEXT.store(base + 2 * GIB + BOOT_STACK_COLOR, Ordering::Relaxed);
    // SAFETY: `l4` is the active table and the offset maps all physical memory.
    *PAGE_TABLE.lock() = Some(unsafe { OffsetPageTable::new(l4, VirtAddr::new(phys_offset)) });
}

/// Sets EFER.NXE so NO_EXECUTE mappings are honoured (every CPU).
pub fn enable_nx() {
    // SAFETY: NXE only makes the NX bit meaningful; no mapping the kernel relies
    // on for execution carries NX.
    unsafe { Efer::update(|f| f.insert(EferFlags::NO_EXECUTE_ENABLE)) };
}

/// The virtual region reserved for goroutine stacks: base and length.
pub fn goroutine_stack_region() -> (u64, u64) {
    (GSTACK_BASE.load(Ordering::Relaxed) + GSTACK_COLOR, GSTACK_SLOTS as u64 * SLOT_SIZE - GSTACK_COLOR)
}

/// The stack that code holding the stack arena's, the page-table or frame
/// lock, the boot arena's or the console's lock may use on a goroutine
/// stack: what [`prefault_own_stack`] maps before such code starts.
pub const LOCKED_STACK_BUDGET: u64 = 16 * 1024;

/// The goroutine stacks' slot stride (`stack::init` sets it; 0 before).
static GSTACK_STRIDE: AtomicU64 = AtomicU64::new(0);

/// Records the goroutine stacks' slot stride (`stack::init`, once).
pub fn set_goroutine_stack_stride(stride: u64) {
    GSTACK_STRIDE.store(stride, Ordering::Relaxed);
}

/// Touches [`LOCKED_STACK_BUDGET`] bytes of the caller's stack below its
/// stack pointer, so that the code that follows can hold the stack arena's
/// or the page-table lock without faulting to grow its own stack (which
/// takes them again: `stack.rs`, invariants). Free on a boot, system or
/// interrupt stack (fully mapped); on a goroutine's, a read per page.
pub fn prefault_own_stack() {
    let stride = GSTACK_STRIDE.load(Ordering::Relaxed);
    if stride == 0 || !interrupts::are_enabled() {
        // Before the goroutine stacks; or interrupts off: a handler, or
        // nested inside a machine lock whose outermost taker mapped the
        // budget (touching a new budget from deeper could fault under it).
        return;
    }
    let (base, len) = goroutine_stack_region();
    let here = 0u8;
    let sp = core::hint::black_box(&here) as *const u8 as u64;
    if sp < base || sp >= base + len {
        return; // a boot, system or interrupt stack: fully mapped
    }
    // Lock-free (the console's lock may already be held, or the page
    // tables'): the geometry never changes, and our own slot is live; a
    // slot's lowest two pages are its guard (`stack.rs`).
    let floor = base + (sp - base) / stride * stride + 2 * PAGE_SIZE;
    let mut page = (sp & !(PAGE_SIZE - 1)).saturating_sub(PAGE_SIZE);
    while page >= floor && page + LOCKED_STACK_BUDGET > sp {
        // SAFETY: `page` lies inside our own live reservation, above its
        // guard: reading it maps it (through `stack::grow`) if it is not
        // mapped yet.
        unsafe { core::ptr::read_volatile(page as *const u8) };
        page -= PAGE_SIZE;
    }
}

/// The page tables, locked; the outermost taker on a goroutine stack maps
/// its stack first ([`prefault_own_stack`]), so every caller of `map`,
/// `unmap` and `translate` (the heap growing and shrinking, on whatever
/// goroutine allocates) is covered here, not at each call site.
fn page_table_locked() -> IrqGuard<'static, Option<OffsetPageTable<'static>>> {
    prefault_own_stack();
    PAGE_TABLE.lock()
}

/// The frame allocator, locked, as [`page_table_locked`].
fn frames_locked() -> IrqGuard<'static, Option<FrameBitmap<'static>>> {
    prefault_own_stack();
    FRAMES.lock()
}

/// The base of the boot arena's virtual area (`heap.rs`).
pub fn arena_base() -> VirtAddr {
    VirtAddr::new(SLOT_BASE.load(Ordering::Relaxed) + HEAP_COLOR)
}

/// The heap's region: its base and length in bytes, as much as the guest
/// has memory (frames free after boot), never more than the slot.
pub fn heap_region() -> (u64, u64) {
    let bytes = (total_frames() * PAGE_SIZE).next_multiple_of(2 * PAGE_SIZE).min(SLOT_SIZE - HEAP_REGION_COLOR);
    (HEAP_REGION_BASE.load(Ordering::Relaxed), bytes)
}

/// Backs `[addr, addr + len)` of the heap's region with fresh zeroed
/// frames; false, with nothing mapped, if the frames run out (keeping
/// `HEAP_FRAME_RESERVE` frames for page tables, stacks and the fatal path).
/// The heap calls it under its lock, growing.
pub fn back_heap(addr: usize, len: usize) -> bool {
    let (base, bytes) = heap_region();
    let (addr, len) = (addr as u64, len as u64);
    assert!(addr >= base && addr + len <= base + bytes, "back_heap({addr:#x}, {len}) outside the heap's region");
    let pages = len / PAGE_SIZE;
    if free_frames() < pages + pages / 512 + HEAP_FRAME_RESERVE {
        return false;
    }
    for i in 0..pages {
        let page = Page::containing_address(VirtAddr::new(addr + i * PAGE_SIZE));
        let Some(frame) = alloc_frame() else {
            // Another CPU took the frames meanwhile: undo. Nothing used these
            // pages, so no other CPU can have them in its TLB.
            for j in 0..i {
                if let Some(f) = unmap(Page::containing_address(VirtAddr::new(addr + j * PAGE_SIZE))) {
                    free_frame(f);
                }
            }
            return false;
        };
        // SAFETY: the frame is fresh and the page lies in the heap's region,
        // which only the heap uses, in a part it has not grown into yet.
        unsafe { map(page, frame, DATA) };
    }
    true
}

/// Grows QEMU TCG's software TLB on this CPU (see "TLB colors"): the
/// emulator sizes it at each full flush from how many of its entries were
/// filled since the last one, doubling it when over 70%; a kernel that never
/// flushes it whole keeps the smallest size. So: read one byte of each of
/// `PAGES` pages of the physical-memory map, reload CR3, and repeat until it
/// had the chance to double up to 4096 entries. Costs a few milliseconds at
/// boot, once per CPU; real hardware just refills its TLB.
pub fn grow_emulator_tlb() {
    const PAGES: u64 = 4096;
    for _ in 0..8 {
        let mut sum = 0u64;
        for i in 0..PAGES {
            // Low memory (from 1 MiB) is always there: 512 MiB guests and
            // up, and the smallest accepted is 64 MiB > 1 MiB + 16 MiB.
            let p = phys_to_virt(0x10_0000 + i * PAGE_SIZE).as_ptr::<u8>();
            // SAFETY: the bootloader maps all physical memory at the offset;
            // a volatile read of RAM has no side effect.
            sum = sum.wrapping_add(u64::from(unsafe { core::ptr::read_volatile(p) }));
        }
        core::hint::black_box(sum);
        let (frame, flags) = Cr3::read();
        // SAFETY: reloading the active table changes no mapping.
        unsafe { Cr3::write(frame, flags) };
    }
}

/// Allocates a zeroed frame.
pub fn alloc_frame() -> Option<PhysFrame> {
    let f = {
        let mut frames = frames_locked();
        let bm = frames.as_mut()?;
        let f = bm.alloc();
        scavenge::set_frames(bm.free_count() as usize, None);
        f?
    };
    let frame = PhysFrame::containing_address(PhysAddr::new(f * PAGE_SIZE));
    zero_frame(frame);
    Some(frame)
}

/// Allocates a zeroed frame whose physical address is below `limit`.
pub fn alloc_frame_below(limit: u64) -> Option<PhysFrame> {
    let f = {
        let mut frames = frames_locked();
        let bm = frames.as_mut()?;
        let f = bm.alloc_in(1, limit / PAGE_SIZE);
        scavenge::set_frames(bm.free_count() as usize, None);
        f?
    };
    let frame = PhysFrame::containing_address(PhysAddr::new(f * PAGE_SIZE));
    zero_frame(frame);
    Some(frame)
}

/// Returns a frame to the allocator.
pub fn free_frame(frame: PhysFrame) {
    let f = frame.start_address().as_u64() / PAGE_SIZE;
    let mut frames = frames_locked();
    let bm = frames.as_mut().expect("memory not initialized");
    bm.free(f);
    scavenge::set_frames(bm.free_count() as usize, None);
}

/// Free frames right now (a snapshot, racy by nature). The free count is
/// pushed to the scheduler at every change, for its memory-pressure check.
pub fn free_frames() -> u64 {
    scavenge::frames().0 as u64
}

/// Frames that were free when boot had taken its own.
pub fn total_frames() -> u64 {
    scavenge::frames().1 as u64
}

/// Zeroes a fresh frame with a loop of plain 8-byte stores, eight per
/// iteration. Not `write_bytes`: that is `memset`'s `rep stosq`, which
/// QEMU's TCG runs one store per translated-block execution, and a stack
/// page fault (which zeroes the page it maps) then cost over twice as much.
fn zero_frame(frame: PhysFrame) {
    let p = phys_to_virt(frame.start_address().as_u64()).as_mut_ptr::<u64>();
    for i in (0..PAGE_SIZE as usize / 8).step_by(8) {
        for j in 0..8 {
            // SAFETY: the frame was just allocated (nobody else references
            // it), the physical-memory mapping covers it, and `i + j` < 512.
            // Volatile, so LLVM cannot turn the loop back into `memset`.
            unsafe { p.add(i + j).write_volatile(0) };
        }
    }
}

struct Frames;

// SAFETY: hands out frames the bitmap marked used, each exactly once.
unsafe impl FrameAllocator<Size4KiB> for Frames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        alloc_frame()
    }
}

/// Flags for ordinary kernel data: present, writable, not executable.
pub const DATA: Flags = Flags::PRESENT.union(Flags::WRITABLE).union(Flags::NO_EXECUTE);

/// Maps `page` to `frame`.
///
/// # Safety
/// The caller owns `frame` (or it is MMIO) and `page` is in an area it owns.
pub unsafe fn map(page: Page, frame: PhysFrame, flags: Flags) {
    let mut pt = page_table_locked();
    let pt = pt.as_mut().expect("memory not initialized");
    // SAFETY: forwarded from the caller.
    match unsafe { pt.map_to(page, frame, flags, &mut Frames) } {
        Ok(flush) => flush.flush(),
        Err(e) => panic!("map {:?} -> {:?}: {:?}", page.start_address(), frame.start_address(), e),
    }
}

/// Unmaps `page` (local TLB flush only: see the module essay) and returns its frame.
pub fn unmap(page: Page) -> Option<PhysFrame> {
    let mut pt = page_table_locked();
    let (frame, flush) = pt.as_mut()?.unmap(page).ok()?;
    flush.flush();
    Some(frame)
}

/// If the page table (level 1) that maps `va` has no entry left, unlinks it
/// from its directory and returns its frame. The caller frees the frame only
/// after a TLB shootdown of the range it mapped: another CPU's translation
/// caches may still point into it (`stack::release` does). Directories above
/// it stay: one per GiB of address space, not worth the walk.
pub fn unlink_empty_table(va: VirtAddr) -> Option<PhysFrame> {
    let mut pt = page_table_locked();
    let l4 = pt.as_mut()?.level_4_table_mut();
    let l4e = &l4[va.p4_index()];
    if !l4e.flags().contains(Flags::PRESENT) {
        return None;
    }
    // SAFETY: a present non-leaf entry holds a page-table frame, mapped at
    // the physical offset; we hold `PAGE_TABLE`, so nobody else edits it.
    let l3 = unsafe { &mut *phys_to_virt(l4e.addr().as_u64()).as_mut_ptr::<PageTable>() };
    let l3e = &l3[va.p3_index()];
    if !l3e.flags().contains(Flags::PRESENT) || l3e.flags().contains(Flags::HUGE_PAGE) {
        return None;
    }
    // SAFETY: as above, one level down.
    let l2 = unsafe { &mut *phys_to_virt(l3e.addr().as_u64()).as_mut_ptr::<PageTable>() };
    let l2e = &mut l2[va.p2_index()];
    if !l2e.flags().contains(Flags::PRESENT) || l2e.flags().contains(Flags::HUGE_PAGE) {
        return None;
    }
    let frame = PhysFrame::containing_address(l2e.addr());
    // SAFETY: as above: `frame` is the level-1 table.
    let l1 = unsafe { &*phys_to_virt(frame.start_address().as_u64()).as_ptr::<PageTable>() };
    if l1.iter().any(|e| !e.is_unused()) {
        return None;
    }
    l2e.set_unused();
    Some(frame)
}

/// The physical address `va` maps to, if mapped.
pub fn translate(va: VirtAddr) -> Option<PhysAddr> {
    page_table_locked().as_ref()?.translate_addr(va)
}

/// Maps fresh zeroed frames over `[start, start + len)`.
pub fn map_fresh(start: VirtAddr, len: u64, flags: Flags) {
    let first = Page::<Size4KiB>::containing_address(start);
    let last = Page::containing_address(start + (len - 1));
    for page in Page::range_inclusive(first, last) {
        let frame = alloc_frame().expect("out of physical memory");
        // SAFETY: the frame is fresh and the pages belong to the caller's area.
        unsafe { map(page, frame, flags) };
    }
}

/// Maps `len` bytes of device memory at physical `pa`, uncached; returns the address.
pub fn map_mmio(pa: u64, len: u64) -> VirtAddr {
    let offset = pa % PAGE_SIZE;
    let pages = (offset + len).div_ceil(PAGE_SIZE);
    let va = MMIO_NEXT.fetch_add(pages * PAGE_SIZE, Ordering::Relaxed);
    let flags = DATA | Flags::NO_CACHE | Flags::WRITE_THROUGH;
    for i in 0..pages {
        let page = Page::containing_address(VirtAddr::new(va + i * PAGE_SIZE));
        let frame = PhysFrame::containing_address(PhysAddr::new(pa - offset + i * PAGE_SIZE));
        // SAFETY: device registers are not RAM the allocator hands out, and the
        // MMIO area's addresses are used once each (bump allocation).
        unsafe { map(page, frame, flags) };
    }
    VirtAddr::new(va + offset)
}

/// A kernel stack: `guard` is an unmapped page just below `bottom`.
#[derive(Clone, Copy, Debug)]
pub struct Stack {
    pub guard: VirtAddr,
    pub bottom: VirtAddr,
    pub top: VirtAddr,
}

impl Stack {
    /// True if `va` lies in this stack's guard page.
    pub fn guard_contains(&self, va: VirtAddr) -> bool {
        va >= self.guard && va < self.bottom
    }
}

/// Allocates a fully mapped kernel stack of `size` bytes above a guard page.
pub fn alloc_stack(size: u64) -> Stack {
    let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let guard = STACK_NEXT.fetch_add(size + PAGE_SIZE, Ordering::Relaxed);
    let bottom = VirtAddr::new(guard + PAGE_SIZE);
    map_fresh(bottom, size, DATA);
    Stack { guard: VirtAddr::new(guard), bottom, top: bottom + size }
}

/// True if `va` is in the stack area but unmapped: a guard page or past a stack.
pub fn is_stack_guard(va: VirtAddr) -> bool {
    let base = SLOT_BASE.load(Ordering::Relaxed) + 2 * GIB;
    (base..STACK_NEXT.load(Ordering::Relaxed)).contains(&va.as_u64()) && translate(va).is_none()
}

/// The physical address of the kernel's level-4 table (what every CPU runs on).
pub fn kernel_l4() -> u64 {
    KERNEL_L4.load(Ordering::Relaxed)
}

/// The physical address of the active level-4 table.
pub fn active_l4() -> PhysFrame {
    Cr3::read().0
}

/// Copies the active level-4 table into a fresh frame below `limit` (the AP
/// trampoline loads CR3 in 16-bit code, which only reaches 32-bit addresses).
pub fn clone_l4_below(limit: u64) -> PhysFrame {
    let frame = alloc_frame_below(limit).expect("no frame for the AP page table");
    let src = phys_to_virt(active_l4().start_address().as_u64()).as_ptr::<u8>();
    let dst = phys_to_virt(frame.start_address().as_u64()).as_mut_ptr::<u8>();
    // SAFETY: both are whole, distinct, mapped 4 KiB frames; the copy shares the
    // lower-level tables, which is what we want.
    unsafe { core::ptr::copy_nonoverlapping(src, dst, PAGE_SIZE as usize) };
    frame
}

/// True if `va` is mapped, by walking the active tables without taking
/// `PAGE_TABLE` (fault reports must not block on a lock the faulting code may
/// hold). Racy against concurrent unmaps: for diagnostics only.
pub fn probe(va: u64) -> bool {
    let va = match VirtAddr::try_new(va) {
        Ok(v) => v,
        Err(_) => return false,
    };
    let mut table_pa = active_l4().start_address().as_u64();
    let indexes = [va.p4_index(), va.p3_index(), va.p2_index(), va.p1_index()];
    for (level, index) in indexes.iter().enumerate() {
        // SAFETY: `table_pa` is a page-table frame (from CR3 or a present
        // entry), mapped at the physical offset.
        let table = unsafe { &*phys_to_virt(table_pa).as_ptr::<PageTable>() };
        let entry = &table[*index];
        if !entry.flags().contains(Flags::PRESENT) {
            return false;
        }
        if level > 0 && level < 3 && entry.flags().contains(Flags::HUGE_PAGE) {
            return true;
        }
        table_pa = entry.addr().as_u64();
    }
    true
}
