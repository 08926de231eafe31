//! An `mcentral` per span class: the spans with free objects that no
//! `mcache` holds (Go's mcentral.go).
//!
//! ## What it keeps, and what it does not
//! Go's mcentral keeps two sets of spans per class, partial and full, each
//! split by sweep generation, and sweeps full spans to find freed objects.
//! Here objects are freed explicitly, so a span's state changes only when
//! someone frees into it, and the central keeps one list:
//! - **partial**: spans with at least one free object (on their local list,
//!   never handed out, or on their remote list), owned by whoever holds this
//!   central's lock;
//! - a **full** span is on no list at all: its last cache parked it
//!   (`remote.rs`), and the first CPU to free into it puts it back here with
//!   [`unpark`](MCentral::unpark). Nothing scans full spans, and a free to
//!   a span nobody owns costs that one CPU one lock round trip per span,
//!   not per object.
//!
//! ## Invariants
//! - A span is in exactly one place: a cache (its `owner` names it), this
//!   list, parked, or given back to the heap; whoever has it owns its
//!   local half (`span.rs`).
//! - Every span on the list has a free object: it went there with one, or
//!   with a remote free that made it so, and nothing takes objects from a
//!   span on the list.
//! - A span goes back to the heap only with no object out (after its owner
//!   collected the remote frees): [`uncache_span`](MCentral::uncache_span)
//!   when a cache gives up a span that turned out empty, and
//!   [`reclaim`](MCentral::reclaim) for spans emptied on the list
//!   (`free_os_memory`, the scavenger).
//!
//! Lock order: an mcentral (rank `mcentral`) before the page heap
//! (`mheap`); no two mcentrals at once.
use core::ptr;

use super::mheap::MHeap;
use super::sizeclass::SpanClass;
use super::span::Span;
use crate::sched::{GLock, LockRank};

/// The head of a list of spans linked through `Span::next`.
struct SpanList(*mut Span);

// SAFETY: the list is only touched under its central's lock, and spans are
// records in the heap's table, valid from any CPU.
unsafe impl Send for SpanList {}

/// The spans of one span class that no cache holds and that have a free object.
pub struct MCentral {
    partial: GLock<SpanList>,
}

impl Default for MCentral {
    fn default() -> Self {
        MCentral::new()
    }
}

impl MCentral {
    /// An empty central.
    pub const fn new() -> MCentral {
        MCentral { partial: GLock::new(LockRank::MCentral, SpanList(ptr::null_mut())) }
    }

    /// A span of `spc` with a free object, for a cache, which owns it from
    /// here on: from the list, else a new one from the heap; `None` if the
    /// heap cannot grow (out of memory). Go's `mcentral.cacheSpan`.
    pub fn cache_span(&self, heap: &MHeap, spc: SpanClass) -> Option<&'static Span> {
        {
            let mut list = self.partial.lock();
            if !list.0.is_null() {
                // SAFETY: spans on the list are live records of the heap,
                // owned by us while we hold the lock.
                let span = unsafe { &*list.0 };
                // SAFETY: we hold the list's lock.
                list.0 = unsafe { span.next() };
                return Some(span);
            }
        }
        // SAFETY: span records live as long as the heap, which is never
        // dropped while spans are in use (the kernel's is static).
        heap.alloc_span(spc).map(|s| unsafe { &*s.as_ptr() })
    }

    /// Takes back a span a cache gives up (Go's `uncacheSpan`): to the heap
    /// if it turned out empty, to the list if it has a free object, parked
    /// if it is full.
    ///
    /// # Safety
    /// The caller owns `span`, a span of this central's class, and its cache
    /// no longer names it (owner 0); it owns it no more after the call.
    pub unsafe fn uncache_span(&self, heap: &MHeap, span: &Span) {
        // SAFETY: the caller owns the span.
        unsafe { span.collect() };
        // SAFETY: as above.
        if unsafe { span.in_use() } == 0 {
            // SAFETY: no object is out, so no CPU can free into it, and
            // nobody else has it.
            unsafe { heap.free_span(span.base()) };
            return;
        }
        // SAFETY: as above; `park` hands it to the next freeing CPU.
        if unsafe { !span.has_local_free() && span.park() } {
            return;
        }
        self.push(span);
    }

    /// Puts a span the caller unparked back on the list (a free into a full
    /// span: see the module essay).
    ///
    /// # Safety
    /// `span` is a span of this central's class whose `free_remote` just
    /// returned true to the caller.
    #[cold]
    #[inline(never)]
    pub unsafe fn unpark(&self, span: &Span) {
        self.push(span);
    }

    fn push(&self, span: &Span) {
        let mut list = self.partial.lock();
        // SAFETY: we hold the list's lock.
        unsafe { span.set_next(list.0) };
        list.0 = ptr::from_ref(span).cast_mut();
    }

    /// Gives every span on the list that has no object out back to the
    /// heap; returns the pages freed. Go frees empty spans as it sweeps.
    pub fn reclaim(&self, heap: &MHeap) -> usize {
        let mut list = self.partial.lock();
        let mut pages = 0;
        let mut s = core::mem::replace(&mut list.0, ptr::null_mut());
        while !s.is_null() {
            // SAFETY: we hold the list's lock, so we own every span that
            // was on it; `s` is a live record.
            unsafe {
                let span = &*s;
                s = span.next();
                span.collect();
                if span.in_use() == 0 {
                    pages += span.class().npages();
                    heap.free_span(span.base());
                } else {
                    span.set_next(list.0);
                    list.0 = ptr::from_ref(span).cast_mut();
                }
            }
        }
        pages
    }

    /// Spans on the list (walks it: diagnostics and tests).
    pub fn partial_len(&self) -> usize {
        let list = self.partial.lock();
        let (mut n, mut s) = (0, list.0);
        while !s.is_null() {
            n += 1;
            // SAFETY: we hold the lock; the list holds live records.
            s = unsafe { (*s).next() };
        }
        n
    }
}
