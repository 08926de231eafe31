//! The page heap: spans made from the page allocator over one region, and
//! the map from any address in the region to its span (Go's `mheap`, its
//! `spans` array and `spanalloc`).
//!
//! ## Layout
//! The heap is one region of `pages` 8 KiB pages at `base` (the machine
//! reserves it, sized from the guest's memory, and backs its pages by
//! frames as the heap grows into them: see Growth). Arrays of one entry per
//! page describe it, made once (by the boot-time allocator in the kernel),
//! 16 bytes a page in all besides the page allocator's bitmap and summaries
//! ([`PageAlloc`]):
//! - `spans`: for a page inside a span of small objects, its span record
//!   (null otherwise): `span_of(addr)` is one load, as Go's `spanOf` reads
//!   `h.spans`;
//! - `first`: for a page inside a span or a large object, its first page
//!   (`NONE` otherwise), for [`lookup`](MHeap::lookup) and `free_span`'s
//!   checks.
//!
//! ## Span records
//! A span's record ([`Span`]) lives in pages of the heap's own set aside
//! for records (`Records`, Go's `fixalloc` of `mspan`s): a page holds
//! 8 KiB / 192 bytes = 42 records, each three cache lines of its own (see
//! `span.rs`: two CPUs allocating from neighbouring spans write
//! neighbouring records). A record
//! page is taken from the page allocator under the heap's lock when no free
//! record is left, and never given back, as Go's `fixalloc` never gives
//! memory back; it is in no span (`lookup` says none) and is counted as
//! span-record memory (`MSpanSys`), not as heap (`HeapInuse`). Records cost
//! what spans exist, not what the region could hold: the region is sized
//! from the guest's memory, most of which may never become spans.
//!
//! A large object (more than 32 KiB, or aligned to more than a page: no
//! size class) gets whole pages of its own, as in Go, marked in `first` with
//! [`LARGE`] beside its first page; its length in pages is kept in `large`
//! (a third array of one entry per page). [`lookup`](MHeap::lookup) says which kind an
//! address is in.
//!
//! ## Invariants
//! - A page is in use in the page allocator iff `first` names a span for it,
//!   or it lies past what the heap has grown into.
//! - `spans[p]` is a live record iff `p` lies in a live span of small
//!   objects, and then it is that span's; a record is on the free list iff
//!   no `spans` entry names it.
//! - A span is given back ([`MHeap::free_span`]) only with no object out:
//!   after its owner collected the remote frees and counted none in use, so
//!   no CPU can still be freeing into it (a CPU freeing an object holds an
//!   object the span counts as in use until the owner collects it).
//!
//! ## Growth
//! The heap grows into its region on demand: when no run of free pages is
//! long enough, [`alloc_span`](MHeap::alloc_span) and
//! [`alloc_large`](MHeap::alloc_large) ask the machine's `backing` function
//! to back the next pages with frames, at least [`GROW_PAGES`] at a time
//! (Go's heap grows by whole 4 MiB page-allocator chunks, `pallocChunkPages`),
//! and fail only when the region or the machine's frames run out.
//!
//! ## Giving memory back
//! [`scavenge`](MHeap::scavenge) gives the memory of free pages back to the
//! machine (`Backing::release`) and marks them released; a run taken later
//! is backed again first (Go's scavenged bits and `sysUsed`). `released`
//! pages are free in the page allocator like any other: first fit does not
//! prefer backed ones (Go does not either).
//!
//! ## Locking
//! The page allocator, the growth mark and the free records are touched
//! under the heap's lock (rank `mheap`, taken under an `mcentral`'s);
//! [`locate`](MHeap::locate) and [`lookup`](MHeap::lookup) are read by any
//! CPU freeing an object, without it: `spans` and `first` entries are
//! atomics, written (Release) after the record they lead to and before the
//! span's objects are handed out.
use alloc::vec::Vec;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::pages::PageAlloc;
use super::sizeclass::{SpanClass, PAGE_SHIFT, PAGE_SIZE};
use super::span::Span;
use crate::sched::{GLock, LockRank};

/// The fewest pages the heap grows by (4 MiB, Go's `pallocChunkPages`).
pub const GROW_PAGES: usize = 512;

/// What the machine does for the heap's region.
#[derive(Clone, Copy)]
pub struct Backing {
    /// Backs `[addr, addr + len)` with memory; false, with nothing backed,
    /// if the machine has none left.
    pub back: fn(addr: usize, len: usize) -> bool,
    /// Gives the memory behind `[addr, addr + len)` back to the machine
    /// (no CPU may still reach it through a stale translation afterwards);
    /// the range is backed again before the heap uses it.
    pub release: fn(addr: usize, len: usize),
}

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

/// Where an address is ([`MHeap::locate`]).
pub enum Located<'a> {
    /// Not in the heap's region.
    Outside,
    /// In a span of small objects.
    Small(&'a Span),
    /// In the region, but not in a span of small objects.
    Elsewhere,
}

/// Span records not in use, linked through their first word (Go's
/// `fixalloc`): see the essay.
struct Records {
    free: *mut MaybeUninit<Span>,
}

// SAFETY: the list links free records in pages of the heap, touched only
// under the heap's lock.
unsafe impl Send for Records {}

impl Records {
    /// Records per page.
    const PER_PAGE: usize = PAGE_SIZE / size_of::<Span>();

    /// A free record, if any.
    fn pop(&mut self) -> Option<NonNull<MaybeUninit<Span>>> {
        let slot = NonNull::new(self.free)?;
        // SAFETY: a free record's first word links the next (`push`).
        self.free = unsafe { slot.cast::<*mut MaybeUninit<Span>>().read() };
        Some(slot)
    }

    /// Puts a record with no live span back.
    ///
    /// # Safety
    /// `slot` is a record of this list's pages that nothing uses.
    unsafe fn push(&mut self, slot: NonNull<MaybeUninit<Span>>) {
        // SAFETY: the record is ours and at least a word.
        unsafe { slot.cast::<*mut MaybeUninit<Span>>().write(self.free) };
        self.free = slot.as_ptr();
    }
}

/// What the heap's lock guards.
struct Pages {
    alloc: PageAlloc,
    /// Pages the heap has grown into (from the start of the region).
    grown: usize,
    /// One bit per page: set while its memory is given back (free pages the
    /// scavenger released; backed again when taken).
    released: Vec<u64>,
    /// Per chunk of [`GROW_PAGES`] pages: when pages of it were last taken
    /// or freed (`machine::nanotime`), for the background scavenger.
    touched: Vec<u64>,
    records: Records,
}

impl Pages {
    /// Records that pages `[first, first + n)` changed hands at `now`.
    fn touch(&mut self, first: usize, n: usize, now: u64) {
        for chunk in first / GROW_PAGES..=(first + n.max(1) - 1) / GROW_PAGES {
            self.touched[chunk] = now;
        }
    }

    /// True if leaf `leaf` (64 pages) has a free page still backed.
    fn has_free_backed(&self, leaf: usize) -> bool {
        !self.alloc.leaf_bits(leaf) & !self.released[leaf] != 0
    }
}

/// Spans over one region of pages.
pub struct MHeap {
    base: usize,
    backing: Backing,
    pages: GLock<Pages>,
    /// `grown`, readable without the lock (statistics).
    grown: AtomicUsize,
    /// Pages in spans and large objects (statistics).
    in_use: AtomicUsize,
    /// Free pages whose memory is given back (statistics).
    released: AtomicUsize,
    /// The earliest time pages were freed since the background scavenger
    /// last looked (`u64::MAX`: none), so an idle CPU can tell in one load
    /// whether there may be pages to give back.
    freed_since: AtomicU64,
    /// Pages holding span records (statistics).
    record_pages: AtomicUsize,
    /// Live span records (statistics).
    records_in_use: AtomicUsize,
    spans: Vec<AtomicPtr<Span>>,
    first: Vec<AtomicU32>,
    /// Pages of the large object starting at each page (0 elsewhere); read
    /// by `lookup` beside `first`, so atomic as it is.
    large: Vec<AtomicU32>,
}

// SAFETY: a span record is written before `spans` publishes it (Release),
// by the CPU that just took its slot and pages under the lock (nobody else
// reads them yet); the free records are touched under the lock only.
unsafe impl Sync for MHeap {}
// SAFETY: as above; the heap holds addresses of its own region only.
unsafe impl Send for MHeap {}

impl MHeap {
    /// A heap over the region of `pages` pages at `base`, grown into none;
    /// `backing` backs its pages as it grows.
    ///
    /// # Safety
    /// `base` must be aligned to [`PAGE_SIZE`]; the region must be the
    /// heap's alone, and every page `backing` returned true for must be
    /// readable and writable memory from then on.
    pub unsafe fn new(base: usize, pages: usize, backing: Backing) -> MHeap {
        assert!(base.is_multiple_of(PAGE_SIZE), "heap region at {base:#x} is not page aligned");
        assert!(pages < LARGE as usize, "heap region of {pages} pages");
        MHeap {
            base,
            backing,
            pages: GLock::new(
                LockRank::MHeap,
                Pages {
                    alloc: PageAlloc::new(pages),
                    grown: 0,
                    released: alloc::vec![0; pages.div_ceil(64)],
                    touched: alloc::vec![0; pages.div_ceil(GROW_PAGES)],
                    records: Records { free: ptr::null_mut() },
                },
            ),
            grown: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
            freed_since: AtomicU64::new(u64::MAX),
            record_pages: AtomicUsize::new(0),
            records_in_use: AtomicUsize::new(0),
            spans: (0..pages).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            first: (0..pages).map(|_| AtomicU32::new(NONE)).collect(),
            large: (0..pages).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Bytes of tables [`new`](Self::new) allocates for a region of `pages`
    /// pages (the machine sizes the boot arena they come from with it).
    pub fn table_bytes(pages: usize) -> usize {
        let leaves = pages.div_ceil(64).next_power_of_two();
        pages * (2 * size_of::<AtomicU32>() + size_of::<AtomicPtr<Span>>())
            + leaves * (8 + 2 * 12)
            + pages.div_ceil(GROW_PAGES) * 8
    }

    /// The region: its first byte and its length in pages.
    pub fn region(&self) -> (usize, usize) {
        (self.base, self.first.len())
    }

    /// True if `addr` lies in the region (grown into or not).
    #[inline]
    pub fn contains(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.base) >> PAGE_SHIFT < self.first.len()
    }

    /// Pages grown into.
    pub fn grown(&self) -> usize {
        self.grown.load(Ordering::Relaxed)
    }

    /// Pages in spans and large objects.
    pub fn pages_in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Pages set aside for span records, and the records in use (Go's
    /// `MSpanSys` and `MSpanInuse`, in pages and records).
    pub fn span_records(&self) -> (usize, usize) {
        (self.record_pages.load(Ordering::Relaxed), self.records_in_use.load(Ordering::Relaxed))
    }

    /// Free pages whose memory is given back to the machine.
    pub fn pages_released(&self) -> usize {
        self.released.load(Ordering::Relaxed)
    }

    /// Gives the memory of every free page back to the machine (Go's
    /// `scavenge` as `debug.FreeOSMemory` calls it); returns the pages
    /// released.
    pub fn scavenge(&self) -> usize {
        self.release_free(|_, _| true, usize::MAX)
    }

    /// The background scavenger's pass (`scavenger.rs`): gives back the
    /// memory of free pages in chunks where no page was taken or freed
    /// since `before`, at most about `max` pages; returns the pages
    /// released and when the next such chunk was last touched (`None`: no
    /// free page left backed anywhere).
    pub fn scavenge_untouched(&self, before: u64, max: usize) -> (usize, Option<u64>) {
        // Looked at from here on: frees after this load set it again.
        self.freed_since.store(u64::MAX, Ordering::Relaxed);
        let released = self.release_free(|pages, leaf| pages.touched[leaf * 64 / GROW_PAGES] <= before, max);
        let pages = self.pages.lock();
        let next = (0..pages.grown.div_ceil(64))
            .filter(|&leaf| pages.has_free_backed(leaf))
            .map(|leaf| pages.touched[leaf * 64 / GROW_PAGES])
            .min();
        (released, next)
    }

    /// The earliest time pages were freed since the last
    /// [`scavenge_untouched`](Self::scavenge_untouched) (`u64::MAX`: none).
    pub fn freed_since(&self) -> u64 {
        self.freed_since.load(Ordering::Relaxed)
    }

    /// Gives back the memory of the free pages of the leaves (64 pages)
    /// `wanted` accepts, at least about `max` pages if there are that
    /// many; returns the pages released. The runs are taken out of the
    /// page allocator while the machine releases them, without the heap's
    /// lock: releasing waits for every CPU (a TLB shootdown), and one of
    /// them may be spinning on the lock with interrupts off.
    fn release_free(&self, wanted: impl Fn(&Pages, usize) -> bool, max: usize) -> usize {
        const MAX_RUNS: usize = 64;
        let mut total = 0;
        while total < max {
            let mut runs = [(0usize, 0usize); MAX_RUNS];
            let mut nruns = 0;
            {
                let mut pages = self.pages.lock();
                let leaves = pages.grown.div_ceil(64);
                let mut leaf = 0;
                while leaf < leaves && nruns < MAX_RUNS {
                    if !wanted(&pages, leaf) {
                        leaf += 1;
                        continue;
                    }
                    // Free and still backed: neither in use nor released.
                    let mut todo = !pages.alloc.leaf_bits(leaf) & !pages.released[leaf];
                    while todo != 0 && nruns < MAX_RUNS {
                        let lo = todo.trailing_zeros() as usize;
                        let len = (todo >> lo).trailing_ones() as usize;
                        let first = leaf * 64 + lo;
                        // Extend the last run if it ends right here.
                        match runs[..nruns].last_mut() {
                            Some((f, n)) if *f + *n == first => *n += len,
                            _ => {
                                runs[nruns] = (first, len);
                                nruns += 1;
                            }
                        }
                        pages.alloc.take(first, len);
                        todo &= !((((1u128 << len) - 1) << lo) as u64);
                    }
                    leaf += 1;
                }
            }
            if nruns == 0 {
                break;
            }
            for &(first, n) in &runs[..nruns] {
                (self.backing.release)(self.base + (first << PAGE_SHIFT), n << PAGE_SHIFT);
            }
            let mut pages = self.pages.lock();
            for &(first, n) in &runs[..nruns] {
                for p in first..first + n {
                    pages.released[p / 64] |= 1 << (p % 64);
                }
                pages.alloc.free(first, n);
                total += n;
            }
            self.released.fetch_add(runs[..nruns].iter().map(|r| r.1).sum(), Ordering::Relaxed);
        }
        total
    }

    /// Backs again the released pages of the run just taken; false (the
    /// run given back) if the machine has no memory.
    fn rebacked(&self, pages: &mut Pages, first: usize, n: usize) -> bool {
        let mut p = first;
        while p < first + n {
            if pages.released[p / 64] & (1 << (p % 64)) == 0 {
                p += 1;
                continue;
            }
            let start = p;
            while p < first + n && pages.released[p / 64] & (1 << (p % 64)) != 0 {
                p += 1;
            }
            if !(self.backing.back)(self.base + (start << PAGE_SHIFT), (p - start) << PAGE_SHIFT) {
                // Keep what was backed again marked backed; give the run back.
                pages.alloc.free(first, n);
                return false;
            }
            for q in start..p {
                pages.released[q / 64] &= !(1 << (q % 64));
            }
            self.released.fetch_sub(p - start, Ordering::Relaxed);
        }
        true
    }

    /// The lowest run of `n` free pages, growing the heap if none is free
    /// yet; `None` if the region or the machine's memory runs out.
    fn take_pages(&self, n: usize) -> Option<usize> {
        let now = crate::sched::machine::nanotime();
        let first = self.take_locked(&mut self.pages.lock(), n, now)?;
        self.in_use.fetch_add(n, Ordering::Relaxed);
        Some(first)
    }

    /// [`take_pages`](Self::take_pages) under the lock, at `now`, not
    /// counted in use.
    fn take_locked(&self, pages: &mut Pages, n: usize, now: u64) -> Option<usize> {
        let first = loop {
            if let Some(first) = pages.alloc.alloc(n) {
                break first;
            }
            // Grow by a step, or by `n` if more; again if the new pages and
            // the free run before them still fall short, until the region
            // ends.
            let step = n.max(GROW_PAGES).min(pages.alloc.pages() - pages.grown);
            if step == 0 || !(self.backing.back)(self.base + (pages.grown << PAGE_SHIFT), step << PAGE_SHIFT) {
                return None;
            }
            let at = pages.grown;
            pages.alloc.free(at, step);
            pages.grown += step;
            self.grown.store(pages.grown, Ordering::Relaxed);
        };
        if !self.rebacked(pages, first, n) {
            return None;
        }
        pages.touch(first, n, now);
        Some(first)
    }

    /// A free span record, carving a new record page if none is left;
    /// `None` if the heap cannot grow by that page.
    fn take_record(&self, pages: &mut Pages, now: u64) -> Option<NonNull<MaybeUninit<Span>>> {
        pages.records.pop().or_else(|| self.new_records(pages, now))
    }

    /// A page of new span records, one of them taken (once per
    /// `Records::PER_PAGE` records: out of line).
    #[cold]
    #[inline(never)]
    fn new_records(&self, pages: &mut Pages, now: u64) -> Option<NonNull<MaybeUninit<Span>>> {
        let page = self.take_locked(pages, 1, now)?;
        let base = self.base + (page << PAGE_SHIFT);
        for i in (0..Records::PER_PAGE).rev() {
            // SAFETY: a page just taken and backed, the heap's alone: cut
            // into records (the page is aligned, records are a multiple of
            // their alignment), none in use.
            unsafe { pages.records.push(NonNull::new_unchecked((base + i * size_of::<Span>()) as *mut _)) };
        }
        self.record_pages.fetch_add(1, Ordering::Relaxed);
        pages.records.pop()
    }

    /// Gives `n` pages from `first` back to the page allocator.
    fn put_pages(&self, first: usize, n: usize, record: Option<NonNull<MaybeUninit<Span>>>) {
        let now = crate::sched::machine::nanotime();
        let mut pages = self.pages.lock();
        if let Some(slot) = record {
            // SAFETY: the caller's record, of the span these pages were.
            unsafe { pages.records.push(slot) };
        }
        pages.alloc.free(first, n);
        pages.touch(first, n, now);
        drop(pages);
        self.freed_since.fetch_min(now, Ordering::Relaxed);
        self.in_use.fetch_sub(n, Ordering::Relaxed);
    }

    /// A new span of `spc`, all its objects free; `None` if the heap cannot
    /// grow enough (out of memory).
    pub fn alloc_span(&self, spc: SpanClass) -> Option<NonNull<Span>> {
        let npages = super::sizeclass::SizeClass::new(spc.size_class())?.npages();
        let now = crate::sched::machine::nanotime();
        let (first, mut slot) = {
            let mut pages = self.pages.lock();
            let slot = self.take_record(&mut pages, now)?;
            match self.take_locked(&mut pages, npages, now) {
                Some(first) => (first, slot),
                None => {
                    // SAFETY: just taken, unused.
                    unsafe { pages.records.push(slot) };
                    return None;
                }
            }
        };
        self.in_use.fetch_add(npages, Ordering::Relaxed);
        self.records_in_use.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the pages were free, so no span's objects live there, and
        // they lie in the part of the region the heap has grown into.
        let span = unsafe { Span::new(self.base + (first << PAGE_SHIFT), spc) };
        // SAFETY: a free record we just took: nobody reads it until `spans`
        // below names it.
        let span = NonNull::from(unsafe { slot.as_mut() }.write(span));
        // The record first, then the maps that lead to it (Release).
        for p in first..first + npages {
            self.first[p].store(first as u32, Ordering::Release);
            self.spans[p].store(span.as_ptr(), Ordering::Release);
        }
        Some(span)
    }

    /// Gives back the pages of the span that starts at `base`.
    ///
    /// # Safety
    /// `base` must be the start of a span of this heap with no object out
    /// (see the module essay), and nobody may use the span afterwards.
    pub unsafe fn free_span(&self, base: usize) {
        let first = base.wrapping_sub(self.base) >> PAGE_SHIFT;
        assert!(
            base.is_multiple_of(PAGE_SIZE)
                && self.first.get(first).map(|e| e.load(Ordering::Relaxed)) == Some(first as u32),
            "free_span({base:#x}): not the start of a span of this heap"
        );
        let record = self.spans[first].load(Ordering::Relaxed);
        // SAFETY: the live record `alloc_span` made for the span that starts
        // here (the map says so); the caller says nobody uses it.
        let n = unsafe { (*record).class().npages() };
        for p in first..first + n {
            self.spans[p].store(ptr::null_mut(), Ordering::Relaxed);
            self.first[p].store(NONE, Ordering::Relaxed);
        }
        // SAFETY: as above: dropped once, its slot free from here on.
        unsafe { ptr::drop_in_place(record) };
        self.records_in_use.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: not null (a live span's), and free now.
        self.put_pages(first, n, Some(unsafe { NonNull::new_unchecked(record.cast()) }));
    }

    /// Pages for a large object of `bytes` bytes: whole pages, the lowest
    /// run that fits; `None` if the heap cannot grow enough.
    pub fn alloc_large(&self, bytes: usize) -> Option<NonNull<u8>> {
        let npages = bytes.max(1).div_ceil(PAGE_SIZE);
        if npages >= LARGE as usize {
            return None;
        }
        let first = self.take_pages(npages)?;
        self.large[first].store(npages as u32, Ordering::Relaxed);
        for entry in &self.first[first..first + npages] {
            entry.store(first as u32 | LARGE, Ordering::Release);
        }
        NonNull::new((self.base + (first << PAGE_SHIFT)) as *mut u8)
    }

    /// Gives back the pages of the large object at `base`; returns how many.
    ///
    /// # Safety
    /// `base` must be a large object of this heap, not used afterwards.
    pub unsafe fn free_large(&self, base: usize) -> usize {
        let Some(Block::Large { base: start, npages }) = self.lookup(base) else {
            panic!("free_large({base:#x}): not a large object of this heap");
        };
        assert_eq!(start, base, "free_large({base:#x}): inside the large object at {start:#x}");
        let first = (base - self.base) >> PAGE_SHIFT;
        self.large[first].store(0, Ordering::Relaxed);
        for entry in &self.first[first..first + npages] {
            entry.store(NONE, Ordering::Relaxed);
        }
        self.put_pages(first, npages, None);
        npages
    }

    /// What `addr` lies in: a span, a large object, or neither.
    #[inline]
    pub fn lookup(&self, addr: usize) -> Option<Block<'_>> {
        match self.locate(addr) {
            Located::Outside => None,
            Located::Small(span) => Some(Block::Small(span)),
            Located::Elsewhere => {
                // A large object's pages, or none (`NONE` has `LARGE` too).
                let first = self.first_entry(addr).filter(|&f| f != NONE && f & LARGE != 0)?;
                let first = (first & !LARGE) as usize;
                let npages = self.large[first].load(Ordering::Relaxed) as usize;
                Some(Block::Large { base: self.base + (first << PAGE_SHIFT), npages })
            }
        }
    }

    /// Where `addr` is, for the free fast path: outside the region, in a
    /// span of small objects (which), or elsewhere (a large object, or no
    /// span: [`lookup`](Self::lookup) tells). One bounds check and one load.
    #[inline]
    pub fn locate(&self, addr: usize) -> Located<'_> {
        let page = addr.wrapping_sub(self.base) >> PAGE_SHIFT;
        let Some(entry) = self.spans.get(page) else { return Located::Outside };
        let span = entry.load(Ordering::Acquire);
        if span.is_null() {
            return Located::Elsewhere;
        }
        // SAFETY: a live span's record, written by `alloc_span` before it
        // stored the pointer (Release/Acquire); the caller frees an object
        // of it, so it stays live meanwhile (the module essay's invariant).
        Located::Small(unsafe { &*span })
    }

    /// The `first` entry of `addr`'s page (Acquire: a span's record is
    /// written before it); `None` outside the region.
    #[inline]
    fn first_entry(&self, addr: usize) -> Option<u32> {
        let page = addr.wrapping_sub(self.base) >> PAGE_SHIFT;
        Some(self.first.get(page)?.load(Ordering::Acquire))
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
