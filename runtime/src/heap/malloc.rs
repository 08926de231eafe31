//! The heap as a whole and its entry points: `malloc` and `free` as the
//! global allocator calls them (Go's malloc.go: `mallocgc`, `mcache0`,
//! `ReadMemStats`' heap figures).
//!
//! ## Where an allocation goes
//! 1. Its size and alignment pick a size class ([`class_for`]); none (more
//!    than 32 KiB, or aligned past a page) means a large object: whole
//!    pages from the page heap, under its lock, as in Go.
//! 2. A small object comes from the calling P's `mcache`, pinned with
//!    `PreemptOff` (the goroutine can be neither preempted nor moved to
//!    another CPU while it touches its P's cache). All Rust allocations are
//!    `noscan`: the collector (issue 14) scans only its own `Gc` objects.
//! 3. An M without a P (the scheduler's idle loop, boot before the first P)
//!    uses `mcache0` under a lock: Go's `mcache0` serves bootstrapping only,
//!    and Go's Ms without a P never allocate; ours may, at a lock's price.
//!
//! ## Contexts
//! Goroutines and the system stack allocate; interrupt handlers must not
//! (the handler could interrupt its own CPU's allocation halfway through
//! the P's cache). The machine checks that in debug builds (HACKING.md).
//!
//! ## Out of memory
//! When the region or the machine's frames run out, the allocation is a
//! fatal error, `fatal error: runtime: out of memory`, with the heap's
//! figures (Go throws too: its allocations never fail).
use alloc::boxed::Box;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::mcache::{free_block, MCache};
use super::mcentral::MCentral;
use super::mheap::{Backing, Block, Located, MHeap};
use super::sizeclass::{
    class_for, size_to_class, SizeClass, NUM_SIZE_CLASSES, NUM_SPAN_CLASSES, PAGE_SHIFT, PAGE_SIZE,
};
use crate::sched::{GLock, LockRank, PreemptOff};

/// The id of `mcache0`'s spans (P `i`'s cache is `i + 1`).
const MCACHE0_ID: u32 = u32::MAX;

/// Large objects, counted where they are made and freed.
#[derive(Default)]
struct LargeStats {
    allocs: AtomicU64,
    frees: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
}

/// The page heap, the mcentrals, the cache for Ms without a P.
pub struct Heap {
    mheap: MHeap,
    central: [MCentral; NUM_SPAN_CLASSES],
    cache0: GLock<MCache>,
    large: LargeStats,
}

static HEAP: AtomicPtr<Heap> = AtomicPtr::new(ptr::null_mut());

/// Makes the heap over the region of `pages` pages at `base`, backed by
/// `backing` as it grows, and makes it the one [`get`] returns. The
/// machine, once, at boot; the heap's tables come from the allocator
/// serving at that point (the machine's boot arena).
///
/// # Safety
/// As [`MHeap::new`]; called once.
pub unsafe fn init(base: usize, pages: usize, backing: Backing) -> &'static Heap {
    // SAFETY: forwarded from the caller.
    let heap: &'static Heap = Box::leak(Box::new(unsafe { Heap::new(base, pages, backing) }));
    let old = HEAP.swap(ptr::from_ref(heap).cast_mut(), Ordering::AcqRel);
    assert!(old.is_null(), "heap::init called twice");
    heap
}

/// The heap, once [`init`] made it.
#[inline]
pub fn get() -> Option<&'static Heap> {
    // SAFETY: set once to a leaked heap, never freed.
    unsafe { HEAP.load(Ordering::Acquire).as_ref() }
}

impl Heap {
    /// A heap over a region (see [`init`]; tests make their own).
    ///
    /// # Safety
    /// As [`MHeap::new`].
    pub unsafe fn new(base: usize, pages: usize, backing: Backing) -> Heap {
        Heap {
            // SAFETY: forwarded from the caller.
            mheap: unsafe { MHeap::new(base, pages, backing) },
            central: core::array::from_fn(|_| MCentral::new()),
            cache0: GLock::new(LockRank::MCache0, MCache::new(MCACHE0_ID)),
            large: LargeStats::default(),
        }
    }

    /// True if `addr` lies in the heap's region (the global allocator tells
    /// its blocks from the boot arena's this way).
    #[inline]
    pub fn contains(&self, addr: usize) -> bool {
        self.mheap.contains(addr)
    }

    /// The page heap.
    pub fn mheap(&self) -> &MHeap {
        &self.mheap
    }

    /// A block of `size` bytes aligned to `align` through `cache`; null if
    /// the heap is out of memory.
    #[inline]
    pub fn alloc_in(&self, cache: &mut MCache, size: usize, align: usize) -> *mut u8 {
        match class_for(size, align) {
            Some(class) => {
                cache.alloc(&self.mheap, &self.central, class.noscan()).map_or(ptr::null_mut(), NonNull::as_ptr)
            }
            None => self.alloc_large(size, align),
        }
    }

    /// A large object: whole pages; aligned past a page by taking more.
    #[cold]
    fn alloc_large(&self, size: usize, align: usize) -> *mut u8 {
        let extra = align.saturating_sub(PAGE_SIZE);
        let Some(bytes) = size.checked_add(extra) else { return ptr::null_mut() };
        let Some(base) = self.mheap.alloc_large(bytes) else { return ptr::null_mut() };
        let npages = bytes.max(1).div_ceil(PAGE_SIZE) as u64;
        self.large.allocs.fetch_add(1, Ordering::Relaxed);
        self.large.bytes_allocated.fetch_add(npages << PAGE_SHIFT, Ordering::Relaxed);
        // An inner address frees the whole object (`lookup` finds its start).
        (base.as_ptr() as usize).next_multiple_of(align.max(1)) as *mut u8
    }

    /// Frees `ptr` through `cache`.
    ///
    /// # Safety
    /// `ptr` came from this heap's [`alloc_in`](Self::alloc_in) (any
    /// cache's) and is freed once; the caller owns `cache`.
    #[inline]
    pub unsafe fn free_in(&self, cache: &mut MCache, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        let pages = unsafe { free_block(&self.mheap, &self.central, cache, ptr) };
        if pages != 0 {
            self.large.frees.fetch_add(1, Ordering::Relaxed);
            self.large.bytes_freed.fetch_add((pages as u64) << PAGE_SHIFT, Ordering::Relaxed);
        }
    }

    /// The usable size of the block at `ptr` (its class's size, or its
    /// pages): `realloc` stays in place when the new size fits the class.
    pub fn usable_size(&self, ptr: *const u8) -> Option<usize> {
        match self.mheap.lookup(ptr as usize)? {
            Block::Small(span) => Some(span.class().size()),
            Block::Large { base, npages } => Some((npages << PAGE_SHIFT) - (ptr as usize - base)),
        }
    }

    /// Gives every span of `cache` back (Go's `mcache.releaseAll`).
    pub fn flush(&self, cache: &mut MCache) {
        cache.flush(&self.mheap, &self.central);
    }

    /// Gives the spans the mcentrals hold with no object out back to the
    /// page heap; returns the pages freed.
    pub fn reclaim(&self) -> usize {
        self.central.iter().map(|c| c.reclaim(&self.mheap)).sum()
    }

    /// Runs `f` on `mcache0` (Ms without a P).
    pub fn with_cache0<R>(&self, f: impl FnOnce(&mut MCache) -> R) -> R {
        f(&mut self.cache0.lock())
    }

    /// Sums the caches' (with their spans') and the large objects' counters
    /// into `stats`.
    ///
    /// # Safety
    /// Nothing allocates or frees through the caches meanwhile: the world
    /// is stopped, or the caller owns them.
    pub unsafe fn add_stats<'a>(&self, caches: impl Iterator<Item = &'a MCache>, stats: &mut MemStats) {
        let mut add = |c: &MCache| {
            // SAFETY: the caller's contract.
            for (class, (m, f)) in unsafe { c.counts() }.into_iter().enumerate() {
                stats.by_size[class].mallocs += m;
                stats.by_size[class].frees += f;
            }
        };
        caches.for_each(&mut add);
        self.with_cache0(|c| add(c));
        let mut small_alloc = 0;
        let mut small_freed = 0;
        for class in SizeClass::all() {
            let s = &mut stats.by_size[class.index()];
            s.size = class.size() as u64;
            small_alloc += s.mallocs * s.size;
            small_freed += s.frees * s.size;
        }
        let large = &self.large;
        let (la, lf) = (large.allocs.load(Ordering::Relaxed), large.frees.load(Ordering::Relaxed));
        let (lba, lbf) = (large.bytes_allocated.load(Ordering::Relaxed), large.bytes_freed.load(Ordering::Relaxed));
        let small_mallocs: u64 = stats.by_size.iter().map(|s| s.mallocs).sum();
        let small_frees: u64 = stats.by_size.iter().map(|s| s.frees).sum();
        stats.mallocs = small_mallocs + la;
        stats.frees = small_frees + lf;
        stats.total_alloc = small_alloc + lba;
        stats.heap_alloc = (small_alloc + lba).saturating_sub(small_freed + lbf);
        stats.heap_objects = stats.mallocs.saturating_sub(stats.frees);
        let (record_pages, records) = self.mheap.span_records();
        stats.mspan_sys = (record_pages as u64) << PAGE_SHIFT;
        stats.mspan_inuse = (records * size_of::<super::span::Span>()) as u64;
        stats.heap_sys = ((self.mheap.grown() - record_pages) as u64) << PAGE_SHIFT;
        stats.heap_inuse = (self.mheap.pages_in_use() as u64) << PAGE_SHIFT;
        stats.heap_idle = stats.heap_sys - stats.heap_inuse.min(stats.heap_sys);
        stats.heap_released = (self.mheap.pages_released() as u64) << PAGE_SHIFT;
        stats.sys = stats.heap_sys + stats.mspan_sys;
    }
}

/// One size class's counts (Go's `MemStats.BySize` entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BySize {
    /// The class's object size in bytes.
    pub size: u64,
    /// Objects of the class allocated over the program's life.
    pub mallocs: u64,
    /// Objects of the class freed over the program's life.
    pub frees: u64,
}

/// Go's `runtime.MemStats`: the fields that have a meaning in gort (no
/// collector yet: the `GC*` and pause fields are left out). Bytes unless
/// named otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemStats {
    /// Bytes of live heap objects.
    pub heap_alloc: u64,
    /// Bytes allocated over the program's life (never decreases).
    pub total_alloc: u64,
    /// Bytes of address space the heap has grown into (backed by memory,
    /// or released and backed again when used).
    pub heap_sys: u64,
    /// Bytes of the heap in no span (free pages, backed or released).
    pub heap_idle: u64,
    /// Bytes in spans and large objects.
    pub heap_inuse: u64,
    /// Bytes of free pages given back to the machine.
    pub heap_released: u64,
    /// Live heap objects.
    pub heap_objects: u64,
    /// Heap objects allocated over the program's life.
    pub mallocs: u64,
    /// Heap objects freed over the program's life.
    pub frees: u64,
    /// Bytes of span records in use (Go's `MSpanInuse`).
    pub mspan_inuse: u64,
    /// Bytes of the heap's pages set aside for span records (Go's
    /// `MSpanSys`; never given back, as Go's are not).
    pub mspan_sys: u64,
    /// Bytes of address space obtained for the heap, as Go's `Sys` (the
    /// heap's part of it, `HeapSys` and `MSpanSys`: goroutine stacks are not
    /// counted here).
    pub sys: u64,
    /// Per size class (Go's `BySize`; entry 0, large objects, is empty).
    pub by_size: [BySize; NUM_SIZE_CLASSES],
}

impl Default for MemStats {
    fn default() -> Self {
        MemStats {
            heap_alloc: 0,
            total_alloc: 0,
            heap_sys: 0,
            heap_idle: 0,
            heap_inuse: 0,
            heap_released: 0,
            heap_objects: 0,
            mallocs: 0,
            frees: 0,
            mspan_inuse: 0,
            mspan_sys: 0,
            sys: 0,
            by_size: [BySize::default(); NUM_SIZE_CLASSES],
        }
    }
}

/// The calling CPU's P's cache, if its M has a P. The caller is pinned
/// (`PreemptOff`) for as long as it uses the cache, and borrows the pin
/// mutably so that it holds one such reference at a time.
#[inline]
fn p_cache(_pin: &mut PreemptOff) -> Option<&mut MCache> {
    let p = crate::sched::m::getm().p.load(Ordering::Relaxed);
    // SAFETY: the P is this M's, and the caller is pinned to the M: nobody
    // else touches its cache (interrupt handlers never allocate). Ps are
    // never freed.
    unsafe { p.as_ref().map(|p| &mut *p.mcache.get()) }
}

/// Go's `mallocgc` for the global allocator: `size` bytes aligned to
/// `align`; a fatal error if the heap is out of memory.
///
/// The fast path, inlined into the global allocator: a small object with
/// a word's alignment or less (every class's size is a multiple of 8),
/// from the span the P's cache holds for its class. Everything else
/// (another alignment, a large object, an empty span, an M without a P)
/// goes through [`malloc_slow`], out of line.
#[inline]
pub fn malloc(heap: &Heap, size: usize, align: usize) -> *mut u8 {
    if align <= 8 {
        if let Some(class) = size_to_class(size) {
            let mut pin = PreemptOff::new();
            if let Some(obj) = p_cache(&mut pin).and_then(|c| c.alloc_cached(class.noscan())) {
                return pin.release_with(obj.as_ptr());
            }
            // Pinned still: the preemption deferred meanwhile waits for the
            // slow path's end, and nothing here lives across a call.
            return malloc_slow(heap, size, align, pin);
        }
    }
    malloc_slow(heap, size, align, PreemptOff::new())
}

/// [`malloc`]'s every other case, pinned by the caller.
#[cold]
#[inline(never)]
fn malloc_slow(heap: &Heap, size: usize, align: usize, mut pin: PreemptOff) -> *mut u8 {
    let p = match p_cache(&mut pin) {
        Some(cache) => heap.alloc_in(cache, size, align),
        None => heap.with_cache0(|c| heap.alloc_in(c, size, align)),
    };
    drop(pin);
    if p.is_null() {
        out_of_memory(heap, size);
    }
    p
}

/// Frees a block [`malloc`] returned; false, doing nothing, if `ptr` is
/// not in the heap's region (the kernel's boot arena has its own blocks).
///
/// The fast path, inlined: a small object goes onto its span's free list
/// if the P's cache holds the span, else onto its remote list (one CAS);
/// a large object, or an M without a P, through [`free_slow`].
///
/// # Safety
/// `ptr` came from [`malloc`] on this heap and is freed once, or lies
/// outside the heap's region.
#[inline]
pub unsafe fn free(heap: &Heap, ptr: NonNull<u8>) -> bool {
    match heap.mheap.locate(ptr.as_ptr() as usize) {
        Located::Outside => return false,
        Located::Small(span) => {
            let mut pin = PreemptOff::new();
            if let Some(cache) = p_cache(&mut pin) {
                // SAFETY: forwarded from the caller: onto the span's local
                // list if this cache holds it, else its remote list.
                unsafe { cache.free(&heap.central, span, ptr) };
                return true;
            }
            // SAFETY: forwarded from the caller; still pinned, as in
            // `malloc`.
            unsafe { free_slow(heap, ptr, pin) };
            return true;
        }
        Located::Elsewhere => {}
    }
    // SAFETY: forwarded from the caller.
    unsafe { free_slow(heap, ptr, PreemptOff::new()) };
    true
}

/// [`free`]'s every other case, pinned by the caller: a large object, an M
/// without a P.
///
/// # Safety
/// As [`free`], `ptr` in the heap's region.
#[cold]
#[inline(never)]
unsafe fn free_slow(heap: &Heap, ptr: NonNull<u8>, mut pin: PreemptOff) {
    match p_cache(&mut pin) {
        // SAFETY: forwarded; the cache is ours, pinned.
        Some(cache) => unsafe { heap.free_in(cache, ptr) },
        // SAFETY: as above; `mcache0` under its lock.
        None => heap.with_cache0(|c| unsafe { heap.free_in(c, ptr) }),
    }
}

#[cold]
#[inline(never)]
fn out_of_memory(heap: &Heap, size: usize) -> ! {
    let (_, region) = heap.mheap.region();
    crate::sched::machine::throw(format_args!(
        "runtime: out of memory\nruntime: cannot allocate {size}-byte block ({} bytes of heap in use, {} grown, region {} bytes)",
        (heap.mheap.pages_in_use() as u64) << PAGE_SHIFT,
        (heap.mheap.grown() as u64) << PAGE_SHIFT,
        (region as u64) << PAGE_SHIFT
    ))
}

/// Go's `runtime.ReadMemStats` for the heap's figures: exact, with the
/// world stopped while the caches and their spans are summed.
pub fn read_mem_stats() -> MemStats {
    let stopped = crate::sched::stop_the_world();
    let mut stats = MemStats::default();
    if let Some(heap) = get() {
        let ps = (0..crate::sched::p::MAX_P).filter_map(crate::sched::p::allp);
        // SAFETY: the world is stopped: no P runs, so no cache or span of
        // theirs changes while we read (and this M's own P does not
        // allocate during the sum).
        unsafe { heap.add_stats(ps.map(|p| &*p.mcache.get()), &mut stats) };
    }
    crate::sched::start_the_world(stopped, None);
    stats
}

/// The spans each P's cache holds, by P id (Ps never made: 0), read with
/// the world stopped: a P that `gomaxprocs` took away holds none.
pub fn cached_spans() -> alloc::vec::Vec<usize> {
    let stopped = crate::sched::stop_the_world();
    let held = (0..crate::sched::p::MAX_P)
        .map(|id| {
            // SAFETY: the world is stopped: no cache changes while we count.
            crate::sched::p::allp(id).map_or(0, |p| unsafe { &*p.mcache.get() }.spans_held())
        })
        .collect();
    crate::sched::start_the_world(stopped, None);
    held
}

/// Every P's cache gives its spans back (Go flushes them at each GC's
/// stop-the-world); the caller has stopped the world.
pub(crate) fn flush_all_stopped() {
    let _pin = PreemptOff::new();
    for pp in (0..crate::sched::p::MAX_P).filter_map(crate::sched::p::allp) {
        flush_p(pp);
    }
    if let Some(heap) = get() {
        heap.with_cache0(|c| heap.flush(c));
    }
}

/// The heap's part of Go's `debug.FreeOSMemory`, after the caches were
/// flushed: empty spans back to the page heap, then the memory of every
/// free page back to the machine. Returns the pages released.
pub(crate) fn scavenge() -> usize {
    get().map_or(0, |heap| {
        heap.reclaim();
        heap.mheap.scavenge()
    })
}

/// Gives a dying P's cache back (`procresize`), or any P's with the world
/// stopped.
pub(crate) fn flush_p(pp: &crate::sched::p::P) {
    if let Some(heap) = get() {
        // SAFETY: the caller stopped the world (or the P is dying): no M
        // uses the P's cache.
        heap.flush(unsafe { &mut *pp.mcache.get() });
    }
}

#[cfg(test)]
mod tests;
