//! An `mcache` per P: one span per span class to allocate from without a
//! lock (Go's mcache.go).
//!
//! ## The fast paths
//! - **Allocate** ([`MCache::alloc_cached`]): the cached span of the class
//!   pops its local free list (or cuts a fresh object). No lock, no atomic
//!   read-modify-write, no interrupt toggled, no call; the caller pins
//!   itself to its P with `PreemptOff` (one per-CPU increment). When both
//!   are empty, the slow path ([`MCache::alloc`], out of line) collects
//!   what other CPUs freed to the span, and only if that is nothing too
//!   does [`refill`](MCache::refill) give the span back to its `mcentral`
//!   and take another (Go's `nextFree` → `refill`).
//! - **Free** ([`MCache::free`]): if the object's span is held by this cache
//!   (its `owner` is our id), onto its local list; otherwise onto the span's
//!   remote list with one CAS, wherever the span is (another P's cache, an
//!   mcentral's list, parked). Only a free that unparks a full span takes a
//!   lock (its mcentral's), once per span.
//!
//! ## Ownership
//! The cache's spans are its own (see `span.rs`): only the P holding the
//! cache, pinned to its CPU, touches them, and a stopped world may
//! [`flush`](MCache::flush) it (Go's `mcache.releaseAll` when a P is
//! destroyed by `procresize`, and at every GC's `stopTheWorld`).
//!
//! ## Statistics
//! A span counts the objects its owner hands out and frees locally (two
//! fields the fast paths write anyway, `span.rs`); the cache adds them to
//! its per-class counters when the span leaves it, and
//! [`counts`](MCache::counts) adds what its spans have not handed over yet. A remote
//! free is counted by the cache of the CPU that frees, so one class's
//! frees and mallocs may sit in different caches. Go keeps per-P counters
//! the same way (`mcache.scanAlloc`, the `heapStatsDelta`s, allocation
//! counts added at `refill`) and sums them in `ReadMemStats`; the sums are
//! exact with the world stopped. The counters are atomics written with a
//! plain load and store (the owner is the only writer).
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

use super::mcentral::MCentral;
use super::mheap::{Block, MHeap};
use super::sizeclass::{SpanClass, NUM_SIZE_CLASSES, NUM_SPAN_CLASSES};
use super::span::Span;

/// A counter with one writer.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the counter's owner calls this.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    /// The count (racy unless the writer is stopped).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Allocations and frees through one cache, per size class.
pub struct CacheStats {
    pub mallocs: [Counter; NUM_SIZE_CLASSES],
    pub frees: [Counter; NUM_SIZE_CLASSES],
}

/// A P's spans, one per span class.
pub struct MCache {
    /// Nonzero; what the spans' `owner` says while this cache holds them.
    id: u32,
    alloc: [*const Span; NUM_SPAN_CLASSES],
    stats: CacheStats,
}

// SAFETY: the spans named here are owned by the cache (see the essay);
// moving the cache to another CPU moves that ownership with it.
unsafe impl Send for MCache {}

impl MCache {
    /// An empty cache whose spans will be marked with `id` (nonzero, unique
    /// among caches).
    pub fn new(id: u32) -> MCache {
        assert!(id != 0, "cache id 0 means no cache");
        MCache {
            id,
            alloc: [ptr::null(); NUM_SPAN_CLASSES],
            stats: CacheStats {
                mallocs: core::array::from_fn(|_| Counter::default()),
                frees: core::array::from_fn(|_| Counter::default()),
            },
        }
    }

    /// The id spans held by this cache carry.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// What went through this cache.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// An object of span class `spc`; `None` if the heap is out of memory.
    pub fn alloc(&mut self, heap: &MHeap, central: &[MCentral], spc: SpanClass) -> Option<NonNull<u8>> {
        let span = self.alloc[spc.index()];
        // SAFETY: a span this cache holds: a live record we own.
        let obj = if span.is_null() { None } else { unsafe { (*span).alloc() } };
        obj.or_else(|| self.refill(heap, central, spc))
    }

    /// An object of span class `spc` from the span the cache holds, if its
    /// local list or its fresh part has one: the fast path, no call
    /// (collecting remote frees and refilling are [`alloc`](Self::alloc)'s).
    #[inline]
    pub fn alloc_cached(&mut self, spc: SpanClass) -> Option<NonNull<u8>> {
        let span = self.alloc[spc.index()];
        if span.is_null() {
            return None;
        }
        // SAFETY: a span this cache holds: a live record we own.
        unsafe { (*span).alloc_fast() }
    }

    /// The span of `spc` ran out: give it back, take one with a free object.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, heap: &MHeap, central: &[MCentral], spc: SpanClass) -> Option<NonNull<u8>> {
        let old = core::mem::replace(&mut self.alloc[spc.index()], ptr::null());
        if !old.is_null() {
            // SAFETY: the span was ours; the cache no longer names it.
            unsafe { self.give_back(heap, central, &*old) };
        }
        let span = central[spc.index()].cache_span(heap, spc)?;
        // SAFETY: `cache_span` hands us the span: we own it from here.
        unsafe { span.set_owner(self.id) };
        self.alloc[spc.index()] = span;
        // SAFETY: ours now; it has a free object (mcentral's invariant).
        let obj = unsafe { span.alloc() };
        debug_assert!(obj.is_some(), "{span:?} came from its mcentral with no free object");
        obj
    }

    /// Frees the small object `obj` of `span`, which was allocated from this
    /// heap (through any cache) and is freed once.
    ///
    /// # Safety
    /// `span` is `obj`'s span (from [`MHeap::lookup`]), `obj` was handed out
    /// and is not used after; the caller is this cache's owner, pinned.
    #[inline]
    pub unsafe fn free(&mut self, central: &[MCentral], span: &Span, obj: NonNull<u8>) {
        if span.owner() == self.id {
            // SAFETY: forwarded from the caller; this cache holds the span.
            unsafe { self.free_cached(span, obj) };
            return;
        }
        self.stats.frees[span.class().index()].add(1);
        // SAFETY: the caller gives the object up.
        if unsafe { span.free_remote(obj) } {
            // SAFETY: we just unparked it.
            unsafe { central[span.span_class().index()].unpark(span) };
        }
    }

    /// Frees `obj` to `span`, which this cache holds (its `owner` is our
    /// id): the fast path, onto the span's local list.
    ///
    /// # Safety
    /// As [`free`](Self::free), and `span.owner() == self.id()`.
    #[inline]
    unsafe fn free_cached(&mut self, span: &Span, obj: NonNull<u8>) {
        debug_assert_eq!(span.owner(), self.id, "{span:?} is not held by cache {}", self.id);
        // SAFETY: this cache holds the span, and the caller is its owner.
        unsafe { span.free_local(obj) };
    }

    /// Gives every span back to its mcentral (Go's `releaseAll`).
    pub fn flush(&mut self, heap: &MHeap, central: &[MCentral]) {
        for i in 0..NUM_SPAN_CLASSES {
            let span = core::mem::replace(&mut self.alloc[i], ptr::null());
            if !span.is_null() {
                // SAFETY: the span was ours; the cache no longer names it.
                unsafe { self.give_back(heap, central, &*span) };
            }
        }
    }

    /// Adds `span`'s counts to the statistics and gives it to its mcentral.
    ///
    /// # Safety
    /// The cache held `span` and no longer names it.
    unsafe fn give_back(&mut self, heap: &MHeap, central: &[MCentral], span: &Span) {
        // SAFETY: still ours until `uncache_span`.
        let (allocs, frees) = unsafe { span.take_counts() };
        let class = span.class().index();
        self.stats.mallocs[class].add(allocs as u64);
        self.stats.frees[class].add(frees as u64);
        // SAFETY: as above; the owner goes before the span does.
        unsafe {
            span.set_owner(0);
            central[span.span_class().index()].uncache_span(heap, span);
        }
    }

    /// How many spans the cache holds (none after a flush).
    pub fn spans_held(&self) -> usize {
        self.alloc.iter().filter(|s| !s.is_null()).count()
    }

    /// The cache's statistics with what its spans counted and have not
    /// added yet, per size class: (mallocs, frees).
    ///
    /// # Safety
    /// The caller owns the cache, or the world is stopped.
    pub unsafe fn counts(&self) -> [(u64, u64); NUM_SIZE_CLASSES] {
        let mut counts: [(u64, u64); NUM_SIZE_CLASSES] =
            core::array::from_fn(|c| (self.stats.mallocs[c].get(), self.stats.frees[c].get()));
        for &span in self.alloc.iter().filter(|s| !s.is_null()) {
            // SAFETY: a span this cache holds; its owner is not running
            // (the caller's contract).
            let (span, (allocs, frees)) = unsafe { (&*span, (*span).pending_counts()) };
            let c = &mut counts[span.class().index()];
            *c = (c.0 + allocs as u64, c.1 + frees as u64);
        }
        counts
    }
}

/// Frees `ptr`, a block of `heap`, through `cache`: a small object to its
/// span, a large one to the page heap. Returns the large object's pages
/// (0 for a small one).
///
/// # Safety
/// `ptr` was returned by an allocation from `heap` and is freed once; the
/// caller owns `cache` (see [`MCache::free`]).
#[inline]
pub unsafe fn free_block(heap: &MHeap, central: &[MCentral], cache: &mut MCache, ptr: NonNull<u8>) -> usize {
    match heap.lookup(ptr.as_ptr() as usize) {
        // SAFETY: forwarded from the caller.
        Some(Block::Small(span)) => unsafe {
            cache.free(central, span, ptr);
            0
        },
        // SAFETY: a large object (aligned ones may be freed by an inner
        // address: `lookup` found its start).
        Some(Block::Large { base, .. }) => unsafe { heap.free_large(base) },
        None => crate::sched::machine::throw(format_args!("free of {ptr:p}: not an object of the heap")),
    }
}
