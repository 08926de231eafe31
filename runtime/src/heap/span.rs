//! A span: pages cut into objects of one size class, the free list its
//! owner allocates from, and the list other CPUs free to (Go's `mspan`, with
//! mimalloc's free lists for explicit frees).
//!
//! ## State, and who may touch it
//! - `base`, `spc` (the span class: size class, scan or noscan): fixed
//!   while the span exists.
//! - `owner`: the id of the `mcache` holding the span, 0 when none does
//!   (written by that cache only; any CPU compares it with its own cache's
//!   id to tell a local free from a remote one: a CPU reads its own id
//!   there only while its cache holds the span, since only it writes it).
//! - `next`: the span after this one on its `mcentral`'s list, touched
//!   under that list's lock.
//! - The owner's half ([`Owned`]): the local free list (objects freed by the
//!   owner, linked through their first word), `fresh` (objects never handed
//!   out yet: the span is not threaded into a list when it is made, which
//!   would touch every page of it) and its counts. Only the span's owner
//!   touches it: the P whose `mcache` holds the span, or whoever holds the
//!   span's `mcentral` lock while the span is there. Those `unsafe` methods
//!   say so in their contract.
//! - The remote half, a [`RemoteFree`]: any CPU frees an object of a span it
//!   does not own there, without a lock; the owner collects the list into
//!   its own when its free list runs dry ([`Span::alloc`]) or when asked
//!   ([`Span::collect`]). An owner whose span is full parks it there
//!   ([`Span::park`]): the first remote free unparks it (see `remote.rs`).
//!
//! ## Invariants
//! - Every object of the span is in exactly one of: handed out, the local
//!   free list, the remote list, or past `fresh`.
//! - [`in_use`](Span::in_use) (`allocs - frees - collected`) counts the
//!   objects handed out and not yet back in the local list: the remote
//!   list's objects still count until collected, so the owner can tell an
//!   empty span (0 after a collect) from one with objects somewhere else.
//!
//! ## Counts
//! The owner counts what it hands out (`allocs`) and what comes back on
//! its own CPU (`frees`), one increment each in the fields the fast paths
//! touch anyway; the cache adds them to its statistics when the span
//! leaves it ([`take_counts`](Span::take_counts)), and a stopped world
//! reads what is not added yet ([`pending_counts`](Span::pending_counts)).
//! Remote frees are counted by the freeing cache when they happen
//! (`collected` only keeps `in_use` right). Go counts a span's allocations
//! the same way, in bulk when the span leaves the cache (`mcache.refill`'s
//! `smallAllocCount`).
//!
//! Go's spans find free objects in an allocation bitmap swept after each
//! collection (`allocBits`, `freeindex`); a free list suits explicit frees
//! better and keeps the fast path to a load and a store. The collector
//! (issue 14) will add the mark bits its sweep needs.
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU32, Ordering};

use super::remote::{Link, RemoteFree};
use super::sizeclass::{SizeClass, SpanClass};

/// The owner's half of a span. The counts run over the span's life and
/// wrap.
struct Owned {
    free: *mut Link,
    /// The next object never handed out, and the end of the last one.
    fresh: usize,
    fresh_end: usize,
    /// Objects handed out.
    allocs: usize,
    /// Objects freed onto the local list.
    frees: usize,
    /// Remote frees moved onto the local list.
    collected: usize,
    /// `allocs` and `frees` as of the last `take_counts`.
    counted: (usize, usize),
}

/// A cache line of its own.
#[repr(C, align(64))]
struct Line<T>(T);

/// Pages cut into objects of one size class, in three cache lines: what
/// every freeing CPU reads (fixed, or written only as the span changes
/// hands), the owner's half (written by every allocation), the remote list
/// (written by every remote free). A CPU freeing to a span another CPU
/// allocates from then shares no line that either writes per object, and
/// records side by side (`mheap.rs`) share none either.
#[repr(C)]
pub struct Span {
    base: usize,
    /// The class's object size (in the span, not looked up, for the
    /// allocation fast path).
    size: u32,
    spc: SpanClass,
    owner: AtomicU32,
    next: UnsafeCell<*mut Span>,
    owned: Line<UnsafeCell<Owned>>,
    remote: Line<RemoteFree>,
}

impl core::fmt::Debug for Span {
    /// Its place and class (the owner's half is the owner's to read).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Span")
            .field("base", &format_args!("{:#x}", self.base))
            .field("class", &self.spc.size_class())
            .field("noscan", &self.spc.noscan())
            .finish_non_exhaustive()
    }
}

// SAFETY: the owner's half is touched only by the span's owner (the
// contract of the `unsafe` methods); the remote half is atomic; the rest
// is immutable.
unsafe impl Sync for Span {}
// SAFETY: as above; a span holds addresses of its own memory only.
unsafe impl Send for Span {}

impl Span {
    /// A span of span class `spc` (not a large one) over the memory at
    /// `base`, all of it free, owned by nobody.
    ///
    /// # Safety
    /// `base` must be aligned to a pointer and the class's `span_bytes()`
    /// bytes from it must be memory the span alone hands out, for as long as
    /// it exists.
    pub unsafe fn new(base: usize, spc: SpanClass) -> Span {
        debug_assert!(base.is_multiple_of(align_of::<Link>()), "span at {base:#x} is not aligned");
        let class = SizeClass::new(spc.size_class()).expect("a span of small objects needs a size class");
        Span {
            base,
            size: class.size() as u32,
            spc,
            owner: AtomicU32::new(0),
            next: UnsafeCell::new(ptr::null_mut()),
            owned: Line(UnsafeCell::new(Owned {
                free: ptr::null_mut(),
                fresh: base,
                fresh_end: base + class.objects() * class.size(),
                allocs: 0,
                frees: 0,
                collected: 0,
                counted: (0, 0),
            })),
            remote: Line(RemoteFree::new()),
        }
    }

    /// The first byte.
    pub fn base(&self) -> usize {
        self.base
    }

    /// The size class.
    #[inline]
    pub fn class(&self) -> SizeClass {
        // A span's class is never 0 (`new` checks).
        SizeClass::new(self.spc.size_class()).unwrap_or_else(|| unreachable!())
    }

    /// The span class.
    #[inline]
    pub fn span_class(&self) -> SpanClass {
        self.spc
    }

    /// The id of the `mcache` holding the span (0: none).
    #[inline]
    pub fn owner(&self) -> u32 {
        self.owner.load(Ordering::Relaxed)
    }

    /// Records that the `mcache` `id` holds the span (0: none any more).
    ///
    /// # Safety
    /// The caller owns the span: it just took it from its `mcentral` (for
    /// `id != 0`), or its cache holds it and is giving it up.
    #[inline]
    pub unsafe fn set_owner(&self, id: u32) {
        self.owner.store(id, Ordering::Relaxed);
    }

    /// The next span of the list this one is on.
    ///
    /// # Safety
    /// The caller holds the lock of the list the span is on.
    pub unsafe fn next(&self) -> *mut Span {
        // SAFETY: the list's lock serialises its links.
        unsafe { *self.next.get() }
    }

    /// Links `next` after this span.
    ///
    /// # Safety
    /// The caller holds the lock of the list the span goes on.
    pub unsafe fn set_next(&self, next: *mut Span) {
        // SAFETY: as above.
        unsafe { *self.next.get() = next };
    }

    /// True if `addr` is the start of one of the span's objects.
    pub fn holds_object(&self, addr: usize) -> bool {
        let (class, offset) = (self.class(), addr.wrapping_sub(self.base));
        offset < class.objects() * class.size() && offset.is_multiple_of(class.size())
    }

    /// An object, if the span has one free: from the local list, else a
    /// fresh one, else from what other CPUs freed.
    ///
    /// # Safety
    /// The caller owns the span (see the module essay).
    pub unsafe fn alloc(&self) -> Option<NonNull<u8>> {
        // SAFETY: the caller owns the span (forwarded).
        if let Some(obj) = unsafe { self.alloc_fast() } {
            return Some(obj);
        }
        // SAFETY: as above: only the owner collects what other CPUs freed.
        unsafe { self.collect() };
        // SAFETY: as above.
        unsafe { self.alloc_fast() }
    }

    /// An object from the local list, else a fresh one; `None` without
    /// looking at what other CPUs freed ([`alloc`](Self::alloc) does): the
    /// allocation fast path, a few loads and stores and no call.
    ///
    /// # Safety
    /// The caller owns the span (see the module essay).
    #[inline]
    pub unsafe fn alloc_fast(&self) -> Option<NonNull<u8>> {
        // SAFETY: the caller owns the span: nobody else touches `owned`.
        let owned = unsafe { &mut *self.owned.0.get() };
        let obj = owned.free;
        if !obj.is_null() {
            // SAFETY: `obj` is on the local list: a free object of ours whose
            // link the list wrote.
            owned.free = unsafe { Link::next(obj) };
        } else if owned.fresh < owned.fresh_end {
            let obj = owned.fresh;
            owned.fresh += self.size as usize;
            owned.allocs = owned.allocs.wrapping_add(1);
            // SAFETY: an address inside the span, whose base is not null
            // (`new`'s contract: memory at `base`).
            return Some(unsafe { NonNull::new_unchecked(obj as *mut u8) });
        } else {
            return None;
        }
        owned.allocs = owned.allocs.wrapping_add(1);
        // SAFETY: not null: tested above.
        Some(unsafe { NonNull::new_unchecked(obj.cast()) })
    }

    /// Frees an object of this span on its owner's CPU.
    ///
    /// # Safety
    /// The caller owns the span, and `obj` is an object of it that was
    /// handed out and is freed once.
    #[inline]
    pub unsafe fn free_local(&self, obj: NonNull<u8>) {
        debug_assert!(self.holds_object(obj.as_ptr() as usize), "{obj:p} is not an object of this span");
        // SAFETY: the caller owns the span.
        let owned = unsafe { &mut *self.owned.0.get() };
        let link = obj.as_ptr().cast::<Link>();
        // SAFETY: the object is free now and at least a word: its first word
        // becomes the link.
        unsafe { Link::set_next(link, owned.free) };
        owned.free = link;
        owned.frees = owned.frees.wrapping_add(1);
    }

    /// Frees an object of this span from a CPU that does not own it. True
    /// if the span was parked: the caller unparked it and must hand it to
    /// its `mcentral`.
    ///
    /// # Safety
    /// `obj` is an object of this span that was handed out and is freed
    /// once, and not touched by the caller again.
    #[inline]
    #[must_use]
    pub unsafe fn free_remote(&self, obj: NonNull<u8>) -> bool {
        debug_assert!(self.holds_object(obj.as_ptr() as usize), "{obj:p} is not an object of this span");
        // SAFETY: the caller gives the object up; it is at least a word.
        unsafe { self.remote.0.push(obj.as_ptr().cast()) }
    }

    /// Gives a full span up to whoever frees to it first (see `remote.rs`);
    /// false if objects were freed to it meanwhile: the caller keeps it.
    ///
    /// # Safety
    /// The caller owns the span; on true it owns it no more.
    pub unsafe fn park(&self) -> bool {
        self.remote.0.park()
    }

    /// True if the owner has a free object at hand (no collect needed).
    ///
    /// # Safety
    /// The caller owns the span.
    pub unsafe fn has_local_free(&self) -> bool {
        // SAFETY: the caller owns the span.
        let owned = unsafe { &*self.owned.0.get() };
        !owned.free.is_null() || owned.fresh < owned.fresh_end
    }

    /// Moves what other CPUs freed onto the local list; returns how many.
    ///
    /// # Safety
    /// The caller owns the span.
    pub unsafe fn collect(&self) -> usize {
        let mut taken = self.remote.0.take_all();
        // SAFETY: the caller owns the span.
        let owned = unsafe { &mut *self.owned.0.get() };
        let mut n = 0;
        while !taken.is_null() {
            // SAFETY: taken from the remote list: ours, its link written.
            let next = unsafe { Link::next(taken) };
            // SAFETY: as above: relink it onto the local list.
            unsafe { Link::set_next(taken, owned.free) };
            owned.free = taken;
            taken = next;
            n += 1;
        }
        owned.collected = owned.collected.wrapping_add(n);
        n
    }

    /// Objects handed out and not yet collected back.
    ///
    /// # Safety
    /// The caller owns the span.
    pub unsafe fn in_use(&self) -> usize {
        // SAFETY: the caller owns the span.
        let owned = unsafe { &*self.owned.0.get() };
        owned.allocs.wrapping_sub(owned.frees).wrapping_sub(owned.collected)
    }

    /// The objects handed out and freed locally since the last call:
    /// what the owner's cache adds to its statistics as the span leaves it.
    ///
    /// # Safety
    /// The caller owns the span.
    pub unsafe fn take_counts(&self) -> (usize, usize) {
        // SAFETY: the caller owns the span.
        let owned = unsafe { &mut *self.owned.0.get() };
        let pending = (owned.allocs.wrapping_sub(owned.counted.0), owned.frees.wrapping_sub(owned.counted.1));
        owned.counted = (owned.allocs, owned.frees);
        pending
    }

    /// What [`take_counts`](Self::take_counts) would return, leaving it.
    ///
    /// # Safety
    /// The caller owns the span, or the world is stopped (its owner is not
    /// running).
    pub unsafe fn pending_counts(&self) -> (usize, usize) {
        // SAFETY: as above: nobody writes the owner's half meanwhile.
        let owned = unsafe { &*self.owned.0.get() };
        (owned.allocs.wrapping_sub(owned.counted.0), owned.frees.wrapping_sub(owned.counted.1))
    }

    /// True if other CPUs freed objects the owner has not collected (a hint).
    pub fn has_remote_frees(&self) -> bool {
        !self.remote.0.is_empty()
    }
}

#[cfg(test)]
mod tests;
