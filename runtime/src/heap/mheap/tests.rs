//! Host tests of the page heap over a region of host memory.
use std::vec::Vec;

use super::*;
use crate::heap::sizeclass::SizeClass;
use crate::heap::sizeclass::MAX_SMALL_SIZE as MAX_SMALL;

/// Host memory needs no backing.
const HOST: Backing = Backing { back: |_, _| true, release: |_, _| {} };

/// A heap over a fresh, leaked region of `pages` pages.
fn heap(pages: usize) -> MHeap {
    let words = pages * PAGE_SIZE / 8 + PAGE_SIZE / 8;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: the region is leaked for this heap alone, page aligned above,
    // and host memory needs no backing.
    unsafe { MHeap::new(base, pages, HOST) }
}

/// A heap of `pages` pages grown into all of them.
fn grown(pages: usize) -> MHeap {
    let h = heap(pages);
    let all = h.alloc_large(pages * PAGE_SIZE).expect("the whole region");
    // SAFETY: just made, not used.
    unsafe { h.free_large(all.as_ptr() as usize) };
    assert_eq!((h.grown(), h.pages_in_use()), (pages, 0));
    h
}

/// The heap grows as spans need pages, a step at a time, never past its
/// region, and not at all when the machine has no memory to back it.
#[test]
fn the_heap_grows_in_steps_as_spans_need_pages() {
    let h = heap(2 * GROW_PAGES + 3);
    let class = SizeClass::new(1).unwrap().noscan();
    assert_eq!(h.grown(), 0);
    let a = h.alloc_span(class).expect("a one-page span");
    assert_eq!(h.grown(), GROW_PAGES, "one step");
    let b = h.alloc_span(class).expect("a second one");
    // SAFETY: spans of this heap, alive.
    let (a, b) = unsafe { (a.as_ref().base(), b.as_ref().base()) };
    assert_eq!(b - a, PAGE_SIZE, "lowest pages first");
    let big = h.alloc_large((GROW_PAGES + 1) * PAGE_SIZE).expect("a step and a page: grown by as much");
    assert_eq!(h.grown(), 2 * GROW_PAGES + 1);
    assert_eq!(h.pages_in_use(), 2 + GROW_PAGES + 1);
    // 2 * GROW_PAGES + 3 - (GROW_PAGES + 3) - 1 (the page of span records)
    // = GROW_PAGES - 1 pages are left.
    assert_eq!(h.span_records(), (1, 2));
    assert!(h.alloc_large(GROW_PAGES * PAGE_SIZE).is_none(), "past the region");
    let rest = h.alloc_large((GROW_PAGES - 1) * PAGE_SIZE).expect("the rest of the region");
    assert_eq!(h.grown(), 2 * GROW_PAGES + 3);
    // SAFETY: a large object of this heap, not used after.
    unsafe { h.free_large(rest.as_ptr() as usize) };
    // SAFETY: a large object of this heap, not used after.
    unsafe { h.free_large(big.as_ptr() as usize) };
    assert_eq!(h.pages_in_use(), 2);

    let words = GROW_PAGES * PAGE_SIZE / 8 * 2;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: as in `heap`; this machine never backs a page.
    let broke = unsafe { MHeap::new(base, GROW_PAGES, Backing { back: |_, _| false, ..HOST }) };
    assert!(broke.alloc_span(class).is_none() && broke.alloc_large(1).is_none(), "no memory, no span");
    assert_eq!(broke.grown(), 0);
}

/// Spans of every class, then every address of every span maps back to
/// its span; an address outside any span maps to none; a freed span's
/// pages serve the next span.
#[test]
fn every_address_maps_to_its_span_and_freed_pages_are_reused() {
    let h = grown(512);
    let mut spans = Vec::new();
    for class in SizeClass::all() {
        let s = h.alloc_span(class.noscan()).unwrap_or_else(|| panic!("class {}", class.index()));
        // SAFETY: a span of this heap, alive.
        let (base, bytes) = unsafe { (s.as_ref().base(), s.as_ref().class().span_bytes()) };
        spans.push((s, base, bytes, class));
    }
    let used: usize = SizeClass::all().map(|c| c.npages()).sum();
    assert_eq!(h.pages_in_use(), used);
    for &(s, base, bytes, class) in &spans {
        for addr in (base..base + bytes).step_by(8) {
            let got = h.span_of(addr).map(|x| x as *const Span);
            assert_eq!(got, Some(s.as_ptr().cast_const()), "class {}: {addr:#x}", class.index());
        }
    }
    let end = spans.iter().map(|&(_, b, n, _)| b + n).max().unwrap();
    assert!(h.span_of(end).is_none(), "the first page past every span");
    assert!(h.span_of(0).is_none() && h.span_of(usize::MAX).is_none(), "outside the region");
    // Free the 10-page span (class 65): the next 10-page span takes its pages.
    let &(_, base, bytes, class) = spans.iter().find(|(_, _, _, c)| c.npages() == 10).unwrap();
    // SAFETY: no object of it was handed out; nothing uses it after.
    unsafe { h.free_span(base) };
    assert!(h.span_of(base).is_none() && h.span_of(base + bytes - 1).is_none());
    assert_eq!(h.pages_in_use(), used - 10);
    let again = h.alloc_span(class.noscan()).unwrap();
    // SAFETY: a span of this heap, alive.
    assert_eq!(unsafe { again.as_ref().base() }, base, "the freed pages, lowest first");
}

/// Span records come 42 to a page taken from the heap, three cache lines
/// each; a freed span's record serves the next span, and a page of
/// records is taken only when none is free.
#[test]
fn span_records_are_taken_a_page_at_a_time_and_reused() {
    let h = grown(256);
    let class = SizeClass::new(1).unwrap().noscan();
    assert_eq!(size_of::<Span>(), 192, "three cache lines");
    let spans: Vec<_> = (0..43).map(|_| h.alloc_span(class).expect("a span")).collect();
    assert_eq!(h.span_records(), (2, 43), "a second page for the 43rd record");
    assert_eq!(h.pages_in_use(), 43, "record pages are not heap pages in use");
    for s in &spans {
        assert!((s.as_ptr() as usize).is_multiple_of(64), "{:p} is not on a line of its own", s.as_ptr());
        // SAFETY: spans of this heap, alive.
        let base = unsafe { s.as_ref().base() };
        assert!(h.lookup(s.as_ptr() as usize).is_none(), "a record's page is in no span");
        assert_eq!(h.span_of(base).map(|x| x as *const Span), Some(s.as_ptr().cast_const()));
    }
    // SAFETY: spans of this heap with no object out, not used after.
    unsafe { h.free_span(spans[3].as_ref().base()) };
    assert_eq!(h.span_records(), (2, 42));
    let again = h.alloc_span(class).expect("a span");
    assert_eq!(again, spans[3], "the freed record");
    assert_eq!(h.span_records(), (2, 43));
}

#[test]
#[should_panic(expected = "not the start of a span")]
fn freeing_what_is_not_a_span_is_refused() {
    let h = grown(8);
    let s = h.alloc_span(SizeClass::new(35).unwrap().noscan()).unwrap();
    // SAFETY: a span of this heap, alive.
    let base = unsafe { s.as_ref().base() };
    // SAFETY: deliberately wrong: the second page of a two-page span.
    unsafe { h.free_span(base + PAGE_SIZE) };
}

/// Large objects take whole pages, lowest first, beside spans; every byte
/// looks up to its object; freed pages serve the next request.
#[test]
fn large_objects_get_pages_of_their_own() {
    let h = grown(64);
    let span = h.alloc_span(SizeClass::new(1).unwrap().noscan()).unwrap();
    let a = h.alloc_large(MAX_SMALL + 1).expect("5 pages").as_ptr() as usize;
    let b = h.alloc_large(3 * PAGE_SIZE).expect("3 pages").as_ptr() as usize;
    // SAFETY: a span of this heap, alive.
    let span_base = unsafe { span.as_ref().base() };
    assert_eq!(a, span_base + PAGE_SIZE, "after the span's page");
    assert_eq!(b, a + 5 * PAGE_SIZE);
    for addr in (a..a + 5 * PAGE_SIZE).step_by(512) {
        assert!(matches!(h.lookup(addr), Some(Block::Large { base, npages: 5 }) if base == a), "{addr:#x}");
        assert!(h.span_of(addr).is_none(), "a large object is not a span");
    }
    assert!(matches!(h.lookup(b + 3 * PAGE_SIZE - 1), Some(Block::Large { base, npages: 3 }) if base == b));
    assert!(h.lookup(b + 3 * PAGE_SIZE).is_none());
    assert_eq!(h.pages_in_use(), 1 + 5 + 3);
    // SAFETY: a large object of this heap, not used after.
    unsafe { h.free_large(a) };
    assert!(h.lookup(a).is_none());
    assert_eq!(h.alloc_large(4 * PAGE_SIZE).map(|p| p.as_ptr() as usize), Some(a), "the freed pages again");
    assert_eq!(h.alloc_large(64 * PAGE_SIZE), None, "no run that long");
}

#[test]
#[should_panic(expected = "inside the large object")]
fn freeing_inside_a_large_object_is_refused() {
    let h = grown(8);
    let a = h.alloc_large(2 * PAGE_SIZE).unwrap().as_ptr() as usize;
    // SAFETY: deliberately wrong: the object's second page.
    unsafe { h.free_large(a + PAGE_SIZE) };
}

std::thread_local! {
    /// What the logging machine was asked: (back?, first byte, bytes).
    static CALLS: core::cell::RefCell<Vec<(bool, usize, usize)>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// A machine that logs its calls and poisons what it is given back.
const LOGGING: Backing = Backing {
    back: |addr, len| {
        CALLS.with(|c| c.borrow_mut().push((true, addr, len)));
        true
    },
    release: |addr, len| {
        CALLS.with(|c| c.borrow_mut().push((false, addr, len)));
        // SAFETY: the heap gives back pages of its region it holds out of
        // the page allocator; nobody uses them meanwhile.
        unsafe { core::ptr::write_bytes(addr as *mut u8, 0xee, len) };
    },
};

/// The scavenger gives back exactly the free pages, in runs, and nothing in
/// use; a run taken later is backed again first, and only its released
/// part.
#[test]
fn the_scavenger_releases_free_pages_and_they_are_backed_again_when_taken() {
    let words = (GROW_PAGES + 1) * PAGE_SIZE / 8;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: as in `heap`.
    let h = unsafe { MHeap::new(base, GROW_PAGES, LOGGING) };
    let a = h.alloc_large(4 * PAGE_SIZE).unwrap().as_ptr() as usize;
    let b = h.alloc_large(8 * PAGE_SIZE).unwrap().as_ptr() as usize;
    let c = h.alloc_large(2 * PAGE_SIZE).unwrap().as_ptr() as usize;
    // SAFETY: large objects of this heap, not used after.
    unsafe { h.free_large(b) };
    // SAFETY: as above.
    let c_byte = unsafe { (c as *mut u8).read() };
    CALLS.with(|c| c.borrow_mut().clear());
    let free = GROW_PAGES - 6;
    assert_eq!(h.scavenge(), free, "every free page");
    assert_eq!(h.pages_released(), free);
    let calls = CALLS.with(|c| c.take());
    assert_eq!(calls, [(false, b, 8 * PAGE_SIZE), (false, c + 2 * PAGE_SIZE, (GROW_PAGES - 14) * PAGE_SIZE)]);
    // SAFETY: in use, so never released: its bytes are untouched.
    assert_eq!(unsafe { (c as *mut u8).read() }, c_byte);
    assert_eq!(h.scavenge(), 0, "nothing left to release");
    // The lowest run of 10 is after `c` (the hole at `b` has 8): all of it
    // released, so all of it is backed again.
    let d = h.alloc_large(10 * PAGE_SIZE).unwrap().as_ptr() as usize;
    assert_eq!(d, c + 2 * PAGE_SIZE);
    assert_eq!(CALLS.with(|c| c.take()), [(true, d, 10 * PAGE_SIZE)]);
    assert_eq!(h.pages_released(), free - 10);
    let e = h.alloc_large(3 * PAGE_SIZE).unwrap().as_ptr() as usize;
    assert_eq!((e, CALLS.with(|c| c.take())), (b, vec![(true, b, 3 * PAGE_SIZE)]));
    let _ = a;
}

/// The background scavenger's pass gives back the free pages of chunks
/// untouched since its cutoff, and only those; it says when the chunks it
/// left were touched, and nothing once no free page is backed.
#[test]
fn the_background_pass_releases_only_chunks_untouched_since_its_cutoff() {
    let now = crate::sched::machine::nanotime;
    let words = (2 * GROW_PAGES + 1) * PAGE_SIZE / 8;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: as in `heap`.
    let h = unsafe { MHeap::new(base, 2 * GROW_PAGES, LOGGING) };
    // Chunk 0 filled, chunk 1 grown into by a one-page object.
    let a = h.alloc_large(GROW_PAGES * PAGE_SIZE).unwrap().as_ptr() as usize;
    let b = h.alloc_large(PAGE_SIZE).unwrap().as_ptr() as usize;
    assert_eq!(b, base + GROW_PAGES * PAGE_SIZE, "the second chunk");
    // SAFETY: large objects of this heap, not used after.
    unsafe { h.free_large(a) };
    assert!(h.freed_since() <= now(), "the free is noticed");
    let cutoff = now();
    while now() <= cutoff {}
    // SAFETY: as above.
    unsafe { h.free_large(b) };
    let b_freed = now();
    CALLS.with(|c| c.borrow_mut().clear());
    let (released, next) = h.scavenge_untouched(0, usize::MAX);
    assert_eq!(released, 0, "both chunks were touched after time 0");
    assert!(next.is_some_and(|t| t <= cutoff), "chunk 0 is the oldest with free pages: {next:?}");
    assert_eq!(h.freed_since(), u64::MAX, "the pass looked");
    // Chunk 0 was last touched before the cutoff, chunk 1 after it.
    let (released, next) = h.scavenge_untouched(cutoff, usize::MAX);
    assert_eq!(released, GROW_PAGES, "chunk 0's pages");
    assert_eq!(CALLS.with(|c| c.take()), [(false, base, GROW_PAGES * PAGE_SIZE)]);
    assert!(next.is_some_and(|t| t > cutoff && t <= b_freed), "chunk 1, touched when `b` was freed: {next:?}");
    let (released, next) = h.scavenge_untouched(u64::MAX, usize::MAX);
    assert_eq!((released, next), (GROW_PAGES, None), "chunk 1, then nothing backed is free");
    assert_eq!(h.pages_released(), 2 * GROW_PAGES);
}
