//! Host tests of the page heap over a region of host memory.
use std::vec::Vec;

use super::*;
use crate::heap::sizeclass::MAX_SMALL_SIZE as MAX_SMALL;

/// A heap over a fresh, leaked region of `pages` pages.
fn heap(pages: usize) -> MHeap {
    let words = pages * PAGE_SIZE / 8 + PAGE_SIZE / 8;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: the region is leaked for this heap alone, page aligned above.
    unsafe { MHeap::new(base, pages) }
}

#[test]
fn spans_come_from_grown_pages_only() {
    let mut h = heap(64);
    let class = SizeClass::new(1).unwrap();
    assert!(h.alloc_span(class).is_none(), "nothing grown yet");
    assert!(h.grow(2));
    let a = h.alloc_span(class).expect("a one-page span");
    let b = h.alloc_span(class).expect("a second one");
    assert!(h.alloc_span(class).is_none(), "two pages grown, two spans");
    assert_eq!(h.pages_in_use(), 2);
    // SAFETY: spans of this heap, alive.
    let (a, b) = unsafe { (a.as_ref().base(), b.as_ref().base()) };
    assert_eq!(b - a, PAGE_SIZE, "lowest pages first");
    assert!(!h.grow(63), "the region has 62 pages left");
    assert!(h.grow(62));
}

/// Spans of every class, then every address of every span maps back to
/// its span; an address outside any span maps to none; a freed span's
/// pages serve the next span.
#[test]
fn every_address_maps_to_its_span_and_freed_pages_are_reused() {
    let mut h = heap(512);
    assert!(h.grow(512));
    let mut spans = Vec::new();
    for class in SizeClass::all() {
        let s = h.alloc_span(class).unwrap_or_else(|| panic!("class {}", class.index()));
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
    let again = h.alloc_span(class).unwrap();
    // SAFETY: a span of this heap, alive.
    assert_eq!(unsafe { again.as_ref().base() }, base, "the freed pages, lowest first");
}

#[test]
#[should_panic(expected = "not the start of a span")]
fn freeing_what_is_not_a_span_is_refused() {
    let mut h = heap(8);
    assert!(h.grow(8));
    let s = h.alloc_span(SizeClass::new(35).unwrap()).unwrap();
    // SAFETY: a span of this heap, alive.
    let base = unsafe { s.as_ref().base() };
    // SAFETY: deliberately wrong: the second page of a two-page span.
    unsafe { h.free_span(base + PAGE_SIZE) };
}

/// Large objects take whole pages, lowest first, beside spans; every byte
/// looks up to its object; freed pages serve the next request.
#[test]
fn large_objects_get_pages_of_their_own() {
    let mut h = heap(64);
    assert!(h.grow(64));
    let span = h.alloc_span(SizeClass::new(1).unwrap()).unwrap();
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
    let mut h = heap(8);
    assert!(h.grow(8));
    let a = h.alloc_large(2 * PAGE_SIZE).unwrap().as_ptr() as usize;
    // SAFETY: deliberately wrong: the object's second page.
    unsafe { h.free_large(a + PAGE_SIZE) };
}
