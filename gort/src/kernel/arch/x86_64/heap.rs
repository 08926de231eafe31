//! The kernel heap: `linked_list_allocator` behind an `IrqLock`.
//!
//! This is the heap for the runtime's own bookkeeping (per-CPU structures, boot
//! tables, later G and P structs). The garbage-collected heap that goroutine
//! code allocates from is a different allocator (size classes, per-P mcaches;
//! see ../shared/ROADMAP.md) and will take over as the global allocator then.
//!
//! Interrupts are off while the heap lock is held, so an interrupt handler
//! that allocates cannot deadlock against the code it interrupted.
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap;

use super::memory;
use super::sync::IrqLock;
use runtime::sched::LockRank;

struct KernelHeap(IrqLock<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(IrqLock::new(LockRank::Heap, Heap::empty()));

// SAFETY: `Heap` hands out non-overlapping blocks of the requested layout and
// the lock serializes every call.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a pointer this allocator returned with `layout`.
        unsafe { self.0.lock().deallocate(NonNull::new_unchecked(ptr), layout) }
    }
}

/// Maps the heap area and hands it to the allocator. Boot CPU, once.
pub fn init() {
    let base = memory::heap_base();
    let need = memory::HEAP_SIZE / memory::PAGE_SIZE + 64; // + page tables, slack
    if memory::free_frames() < need {
        super::fault::fatal(
            format_args!(
                "out of memory: the kernel heap needs {} MiB and {} MiB are free; boot with more memory (--mem)",
                memory::HEAP_SIZE >> 20,
                (memory::free_frames() * memory::PAGE_SIZE) >> 20
            ),
            super::backtrace::current_rbp(),
        );
    }
    memory::map_fresh(base, memory::HEAP_SIZE, memory::DATA);
    // SAFETY: the area was just mapped, is owned by nobody else, and is never
    // unmapped.
    unsafe { HEAP.0.lock().init(base.as_mut_ptr(), memory::HEAP_SIZE as usize) };
}

/// Bytes in use and free, for diagnostics.
pub fn stats() -> (usize, usize) {
    let heap = HEAP.0.lock();
    (heap.used(), heap.free())
}
