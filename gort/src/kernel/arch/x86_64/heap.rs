//! The global allocator: the runtime's heap (`runtime::heap`, Go's
//! size-class allocator with per-P caches), and a boot arena for what is
//! allocated before it exists.
//!
//! ## Two allocators, one `#[global_allocator]`
//! - The **boot arena**: `linked_list_allocator` behind an `IrqLock`, over
//!   an area mapped at boot. It serves every allocation until the heap is
//!   up: the boot tables, and the heap's own tables (a few dozen bytes per
//!   8 KiB page of the heap's region: the arena is sized for them). Blocks
//!   it handed out are freed back to it for as long as the kernel runs.
//! - The **heap**, from [`init`] on: every allocation goes to it; a free
//!   goes to it if the address lies in its region, else to the arena (two
//!   compares).
//!
//! ## Contexts
//! Interrupt handlers never allocate (HACKING.md): a handler that
//! interrupted its CPU halfway through the P's cache would corrupt it. Debug
//! builds check it: an allocation or free on the CPU's interrupt stack
//! (`trap::in_handler`) is a fatal error naming the rule.
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap as Arena;

use super::memory;
use super::sync::IrqLock;
use runtime::heap::mheap::{Backing, MHeap};
use runtime::heap::sizeclass::PAGE_SIZE as HEAP_PAGE;
use runtime::heap::sizeclass::{same_class, MAX_SMALL_SIZE};
use runtime::sched::LockRank;
use x86_64::structures::paging::{Page, PhysFrame};
use x86_64::VirtAddr;

struct KernelHeap(IrqLock<Arena>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(IrqLock::new(LockRank::Heap, Arena::empty()));

/// The arena's size besides the heap's tables: boot-time structures.
const ARENA_BASE_BYTES: u64 = 8 << 20;

impl KernelHeap {
    #[cold]
    fn arena_alloc(&self, layout: Layout) -> *mut u8 {
        // Before the heap: the boot CPU's stack, fully mapped.
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }

    /// Frees a block of the arena (out of line: the heap's free is the
    /// fast path).
    ///
    /// # Safety
    /// `ptr` came from [`arena_alloc`](Self::arena_alloc) with `layout`.
    #[cold]
    #[inline(never)]
    unsafe fn arena_dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        // A boot-time block freed later, perhaps on a goroutine stack: map
        // what the arena's lock will use first.
        memory::prefault_own_stack();
        // SAFETY: forwarded from the caller.
        unsafe { self.0.lock().deallocate(ptr, layout) }
    }
}

/// Debug builds: an allocation inside an interrupt handler is fatal.
#[inline]
fn check_context() {
    #[cfg(debug_assertions)]
    if super::trap::in_handler() && !super::percpu::this().in_fatal.load(core::sync::atomic::Ordering::Relaxed) {
        super::fault::fatal(
            format_args!("allocation in an interrupt handler (handlers never allocate: HACKING.md)"),
            super::backtrace::current_rbp(),
        );
    }
}

// SAFETY: the heap and the arena each hand out non-overlapping blocks of
// at least the requested size and alignment; a block is freed to the one it
// came from (the heap's region and the arena's area are disjoint).
unsafe impl GlobalAlloc for KernelHeap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match runtime::heap::get() {
            Some(heap) => {
                check_context();
                runtime::heap::malloc(heap, layout.size(), layout.align())
            }
            None => self.arena_alloc(layout),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block `alloc` returned; null never is.
        let ptr = unsafe { NonNull::new_unchecked(ptr) };
        if let Some(heap) = runtime::heap::get() {
            check_context();
            // SAFETY: a block `alloc` returned: the heap's if it lies in its
            // region (`free` says false for any other).
            if unsafe { runtime::heap::free(heap, ptr) } {
                return;
            }
        }
        // SAFETY: a block `alloc` returned, not the heap's: the arena's.
        unsafe { self.arena_dealloc(ptr, layout) }
    }

    /// In place while the new size stays in the block's size class (Go's
    /// classes: a `Vec` growing from 20 to 24 bytes keeps its block).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(heap) = runtime::heap::get() {
            if heap.contains(ptr as usize)
                && layout.size() <= MAX_SMALL_SIZE
                && same_class(layout.size(), new_size, layout.align())
            {
                return ptr;
            }
        }
        // SAFETY: `new_size` and the alignment make a valid layout (the
        // caller's contract), as `GlobalAlloc::realloc`'s default assumes.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarded from the caller.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and distinct.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: forwarded from the caller.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// Gives the frames behind `[addr, addr + len)` of the heap's region back
/// (the heap's scavenger, with no lock held and interrupts on): unmaps a
/// chunk of pages, shoots the chunk down on every CPU, then frees its
/// frames, so no CPU can reach a frame through a stale translation once it
/// is free.
fn release_heap(addr: usize, len: usize) {
    const CHUNK: usize = 512;
    let (addr, pages) = (addr as u64, len as u64 / memory::PAGE_SIZE);
    let mut done = 0;
    while done < pages {
        let n = (pages - done).min(CHUNK as u64);
        let start = addr + done * memory::PAGE_SIZE;
        let mut frames: [Option<PhysFrame>; CHUNK] = [None; CHUNK];
        for (i, slot) in frames.iter_mut().enumerate().take(n as usize) {
            *slot = memory::unmap(Page::containing_address(VirtAddr::new(start + i as u64 * memory::PAGE_SIZE)));
        }
        super::tlb::shootdown(start, start + n * memory::PAGE_SIZE);
        for frame in frames.into_iter().flatten() {
            memory::free_frame(frame);
        }
        done += n;
    }
}

/// Maps the boot arena (sized for the heap's tables), then makes the heap
/// over its region. Boot CPU, once, after `memory::init`.
pub fn init() {
    let (region, region_bytes) = memory::heap_region();
    let pages = (region_bytes as usize) / HEAP_PAGE;
    let tables = MHeap::table_bytes(pages) as u64;
    let arena_bytes = (ARENA_BASE_BYTES + tables + tables / 8).next_multiple_of(memory::PAGE_SIZE);
    let base = memory::arena_base();
    let need = arena_bytes / memory::PAGE_SIZE + 64; // + page tables, slack
    if memory::free_frames() < need {
        super::fault::fatal(
            format_args!(
                "out of memory: the boot arena needs {} MiB and {} MiB are free; boot with more memory (--mem)",
                arena_bytes >> 20,
                (memory::free_frames() * memory::PAGE_SIZE) >> 20
            ),
            super::backtrace::current_rbp(),
        );
    }
    memory::map_fresh(base, arena_bytes, memory::DATA);
    // SAFETY: the area was just mapped, is owned by nobody else, and is never
    // unmapped.
    unsafe { HEAP.0.lock().init(base.as_mut_ptr(), arena_bytes as usize) };
    // SAFETY: the region is the heap's alone (its own PML4 slot), page
    // aligned (`HEAP_REGION_COLOR`), and `back_heap` maps every page it
    // says yes to.
    let backing = Backing { back: memory::back_heap, release: release_heap };
    // SAFETY: as above.
    unsafe { runtime::heap::init(region as usize, pages, backing) };
    log::info!("heap: a region of {} MiB; boot arena {} MiB", region_bytes >> 20, arena_bytes >> 20);
}

/// Bytes in use (live blocks of the heap and the arena) and bytes the heap
/// could still hand out (its region not in use), for diagnostics and the
/// self-tests: exact, with the world stopped (`runtime::heap::read_mem_stats`),
/// so a goroutine's call.
pub fn stats() -> (usize, usize) {
    let heap = runtime::heap::read_mem_stats();
    let region = runtime::heap::get().map_or(0, |h| h.mheap().region().1 * HEAP_PAGE);
    let free = region.saturating_sub(heap.heap_inuse as usize);
    (heap.heap_alloc as usize + arena_stats().0, free)
}

/// The boot arena's bytes in use and free, for diagnostics.
pub fn arena_stats() -> (usize, usize) {
    let arena = HEAP.0.lock();
    (arena.used(), arena.free())
}
