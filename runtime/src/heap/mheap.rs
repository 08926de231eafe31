//! The page heap: spans made from the page allocator over one region, and
//! the map from any address in the region to its span (Go's `mheap`, its
//! `spans` array and `spanalloc`).
//!
//! ## Layout
//! The heap is one region of `pages` 8 KiB pages at `base` (the machine
//! reserves it, sized from the guest's memory, and backs its pages by
//! frames as the heap grows into them). Three arrays of one entry per page
//! describe it, made once (by the boot-time allocator in the kernel):
//! - the page allocator's bitmap and summaries ([`PageAlloc`]);
//! - `first`: for a page inside a span, the span's first page (`NONE`
//!   otherwise): `span_of(addr)` is two loads, as Go's `spanOf`;
//! - `meta`: the span record of a span whose first page this is. A span is
//!   named by its first page, so records need no allocator of their own
//!   (Go's `fixalloc`): a record costs ~1% of the page it describes.
//!
//! A large object (more than 32 KiB, or aligned to more than a page: no
//! size class) gets whole pages of its own, as in Go, marked in `first` with
//! [`LARGE`] beside its first page; its length in pages is kept in `meta`'s
//! place for it, `large`. [`lookup`](MHeap::lookup) says which kind an
//! address is in.
//!
//! ## Invariants
//! - A page is in use in the page allocator iff `first` names a span for it,
//!   or it lies past what the heap has grown into.
//! - `meta[p]` is initialised iff `p` is the first page of a live span.
//! - A span is given back ([`MHeap::free_span`]) only with no object out:
//!   after its owner collected the remote frees and counted none in use, so
//!   no CPU can still be freeing into it (a CPU freeing an object holds an
//!   object the span counts as in use until the owner collects it).
//!
//! The caller serialises the `&mut self` methods (the heap's lock);
//! [`span_of`](MHeap::span_of) is read by any CPU freeing an object: `first`
//! entries are atomics, written before the span's objects are handed out.
use alloc::vec::Vec;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
#[cfg(not(loom))]
use core::sync::atomic::{AtomicU32, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicU32, Ordering};

use super::pages::PageAlloc;
use super::sizeclass::{SizeClass, PAGE_SHIFT, PAGE_SIZE};
use super::span::Span;

/// `first` entry of a page in no span.
const NONE: u32 = u32::MAX;
/// Set in the `first` entries of a large object's pages.
const LARGE: u32 = 1 << 31;

/// What an address of the heap is part of.
#[derive(Debug)]
pub enum Block<'a> {
    /// An object of a span.
    Small(&'a Span),
    /// A large object: its first byte and its pages.
    Large { base: usize, npages: usize },
}

/// Spans over one region of pages.
pub struct MHeap {
    base: usize,
    pages: PageAlloc,
    /// Pages the heap has grown into (from the start of the region).
    grown: usize,
    first: Vec<AtomicU32>,
    meta: Vec<MaybeUninit<Span>>,
    /// Pages of the large object starting at each page (0 elsewhere); read
    /// by `lookup` beside `first`, so atomic as it is.
    large: Vec<AtomicU32>,
}

impl MHeap {
    /// A heap over the region of `pages` pages at `base`, grown into none.
    ///
    /// # Safety
    /// `base` must be aligned to [`PAGE_SIZE`]; the region must be the
    /// heap's alone, and every page of it the heap has grown into must be
    /// readable and writable memory.
    pub unsafe fn new(base: usize, pages: usize) -> MHeap {
        assert!(base.is_multiple_of(PAGE_SIZE), "heap region at {base:#x} is not page aligned");
        assert!(pages < LARGE as usize, "heap region of {pages} pages");
        MHeap {
            base,
            pages: PageAlloc::new(pages),
            grown: 0,
            first: (0..pages).map(|_| AtomicU32::new(NONE)).collect(),
            meta: (0..pages).map(|_| MaybeUninit::uninit()).collect(),
            large: (0..pages).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Lets the heap use `n` more pages of its region; false if the region
    /// has fewer left. The machine backs them first.
    pub fn grow(&mut self, n: usize) -> bool {
        if self.grown + n > self.pages.pages() {
            return false;
        }
        self.pages.free(self.grown, n);
        self.grown += n;
        true
    }

    /// Pages grown into.
    pub fn grown(&self) -> usize {
        self.grown
    }

    /// Pages in spans.
    pub fn pages_in_use(&self) -> usize {
        self.pages.in_use() - (self.pages.pages() - self.grown)
    }

    /// A new span of `class`, all its objects free; `None` if no run of
    /// free pages is long enough (the caller grows the heap and retries).
    pub fn alloc_span(&mut self, class: SizeClass) -> Option<NonNull<Span>> {
        let first = self.pages.alloc(class.npages())?;
        // SAFETY: the pages were free, so no span's objects live there, and
        // they lie in the part of the region the heap has grown into.
        let span = unsafe { Span::new(self.base + (first << PAGE_SHIFT), class) };
        let span = NonNull::from(self.meta[first].write(span));
        // The record first, then the map that leads to it (Release).
        for entry in &self.first[first..first + class.npages()] {
            entry.store(first as u32, Ordering::Release);
        }
        Some(span)
    }

    /// Gives back the pages of the span that starts at `base`.
    ///
    /// # Safety
    /// `base` must be the start of a span of this heap with no object out
    /// (see the module essay), and nobody may use the span afterwards.
    pub unsafe fn free_span(&mut self, base: usize) {
        let first = base.wrapping_sub(self.base) >> PAGE_SHIFT;
        assert!(
            base.is_multiple_of(PAGE_SIZE)
                && self.first.get(first).map(|e| e.load(Ordering::Relaxed)) == Some(first as u32),
            "free_span({base:#x}): not the start of a span of this heap"
        );
        // SAFETY: initialised by `alloc_span` (the map says a span starts
        // here); the caller says nobody uses it.
        let n = unsafe { self.meta[first].assume_init_ref() }.class().npages();
        // SAFETY: as above.
        unsafe { self.meta[first].assume_init_drop() };
        for entry in &self.first[first..first + n] {
            entry.store(NONE, Ordering::Relaxed);
        }
        self.pages.free(first, n);
    }

    /// Pages for a large object of `bytes` bytes: whole pages, the lowest
    /// run that fits; `None` if none does (the caller grows and retries).
    pub fn alloc_large(&mut self, bytes: usize) -> Option<NonNull<u8>> {
        let npages = bytes.max(1).div_ceil(PAGE_SIZE);
        if npages >= LARGE as usize {
            return None;
        }
        let first = self.pages.alloc(npages)?;
        self.large[first].store(npages as u32, Ordering::Relaxed);
        for entry in &self.first[first..first + npages] {
            entry.store(first as u32 | LARGE, Ordering::Release);
        }
        NonNull::new((self.base + (first << PAGE_SHIFT)) as *mut u8)
    }

    /// Gives back the pages of the large object at `base`.
    ///
    /// # Safety
    /// `base` must be a large object of this heap, not used afterwards.
    pub unsafe fn free_large(&mut self, base: usize) {
        let Some(Block::Large { base: start, npages }) = self.lookup(base) else {
            panic!("free_large({base:#x}): not a large object of this heap");
        };
        assert_eq!(start, base, "free_large({base:#x}): inside the large object at {start:#x}");
        let first = (base - self.base) >> PAGE_SHIFT;
        self.large[first].store(0, Ordering::Relaxed);
        for entry in &self.first[first..first + npages] {
            entry.store(NONE, Ordering::Relaxed);
        }
        self.pages.free(first, npages);
    }

    /// What `addr` lies in: a span, a large object, or neither.
    #[inline]
    pub fn lookup(&self, addr: usize) -> Option<Block<'_>> {
        let page = addr.wrapping_sub(self.base) >> PAGE_SHIFT;
        let first = self.first.get(page)?.load(Ordering::Acquire);
        if first == NONE {
            return None;
        }
        if first & LARGE != 0 {
            let first = (first & !LARGE) as usize;
            let npages = self.large[first].load(Ordering::Relaxed) as usize;
            return Some(Block::Large { base: self.base + (first << PAGE_SHIFT), npages });
        }
        // SAFETY: `first` names a live span's first page, whose record
        // `alloc_span` wrote before storing `first` (Release/Acquire).
        Some(Block::Small(unsafe { self.meta[first as usize].assume_init_ref() }))
    }

    /// The span holding `addr`, if `addr` lies in one of this heap's spans.
    #[inline]
    pub fn span_of(&self, addr: usize) -> Option<&Span> {
        match self.lookup(addr)? {
            Block::Small(span) => Some(span),
            Block::Large { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests;
