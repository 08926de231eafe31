//! Host tests of a span: its owner's allocations and frees, frees from
//! other threads, and fill patterns that would show two live objects
//! sharing bytes.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::vec::Vec;

use super::*;

/// A span of `class` over fresh, leaked memory.
fn span(class: usize) -> &'static Span {
    let class = SizeClass::new(class).unwrap();
    let words: &'static mut [u64] = Vec::leak(vec![0u64; class.span_bytes() / 8]);
    // SAFETY: the memory is leaked for the span alone, and 8-byte aligned.
    Box::leak(Box::new(unsafe { Span::new(words.as_mut_ptr() as usize, SpanClass::new(class.index(), true)) }))
}

/// The owner's calls, for tests whose thread owns the span (each test's
/// spans are its own, and only the owning thread calls these).
fn alloc(s: &Span) -> Option<NonNull<u8>> {
    // SAFETY: the calling test thread owns `s`.
    unsafe { s.alloc() }
}

fn free_local(s: &Span, o: NonNull<u8>) {
    // SAFETY: the calling test thread owns `s`; the tests free each object once.
    unsafe { s.free_local(o) }
}

fn free_remote(s: &Span, o: NonNull<u8>) {
    // SAFETY: the tests free each object once and do not touch it after.
    assert!(!unsafe { s.free_remote(o) }, "nobody parked the span");
}

fn in_use(s: &Span) -> usize {
    // SAFETY: the calling test thread owns `s`.
    unsafe { s.in_use() }
}

fn collect(s: &Span) -> usize {
    // SAFETY: the calling test thread owns `s`.
    unsafe { s.collect() }
}

/// Fills an object with a pattern made from `tag`.
fn fill(obj: NonNull<u8>, size: usize, tag: u64) {
    for i in 0..size / 8 {
        // SAFETY: a live object of `size` bytes, ours.
        unsafe { obj.as_ptr().cast::<u64>().add(i).write(tag ^ i as u64) };
    }
}

/// Panics unless the object still holds `tag`'s pattern.
fn check(obj: NonNull<u8>, size: usize, tag: u64) {
    for i in 0..size / 8 {
        // SAFETY: as above.
        let w = unsafe { obj.as_ptr().cast::<u64>().add(i).read() };
        assert_eq!(w, tag ^ i as u64, "object {obj:p} word {i}: overwritten while live");
    }
}

#[test]
fn the_owner_hands_out_every_object_once_and_reuses_what_it_frees() {
    for class in [1, 3, 5, 26, 35, 67] {
        let s = span(class);
        let (size, n) = (s.class().size(), s.class().objects());
        let objs: Vec<NonNull<u8>> = (0..n).map(|_| alloc(s).expect("a fresh object")).collect();
        assert_eq!(alloc(s), None, "class {class}: full after {n} objects");
        for (k, &o) in objs.iter().enumerate() {
            assert!(s.holds_object(o.as_ptr() as usize), "class {class}: {o:p} outside the span");
            fill(o, size, k as u64);
        }
        let mut addrs: Vec<usize> = objs.iter().map(|o| o.as_ptr() as usize).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), n, "class {class}: an object handed out twice");
        for (k, &o) in objs.iter().enumerate() {
            check(o, size, k as u64);
        }
        // Half back locally, a quarter from "another CPU": all come back.
        for &o in &objs[..n / 2] {
            free_local(s, o);
        }
        for &o in &objs[n / 2..n / 2 + n / 4] {
            free_remote(s, o);
        }
        assert_eq!(in_use(s), n - n / 2, "remote frees count until collected");
        assert_eq!(s.has_remote_frees(), n / 4 > 0);
        let again: Vec<NonNull<u8>> = core::iter::from_fn(|| alloc(s)).collect();
        assert_eq!(again.len(), n / 2 + n / 4, "class {class}: every freed object once more");
        let mut back: Vec<usize> = again.iter().map(|o| o.as_ptr() as usize).collect();
        back.sort_unstable();
        let mut freed: Vec<usize> = objs[..n / 2 + n / 4].iter().map(|o| o.as_ptr() as usize).collect();
        freed.sort_unstable();
        assert_eq!(back, freed);
        assert_eq!(in_use(s), n);
    }
}

/// The owner allocates and fills objects and hands them to three threads,
/// which check the pattern and free them remotely; the owner collects them
/// as it runs dry. 200,000 objects through a 1,024-object span: every one
/// comes back, and no live object is ever handed out again.
#[test]
fn objects_freed_by_other_threads_come_back_intact() {
    let s = span(1);
    let size = s.class().size();
    static FREED: AtomicU64 = AtomicU64::new(0);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (tx, rx) = mpsc::channel::<(usize, u64)>();
            let h = std::thread::spawn(move || {
                for (addr, tag) in rx {
                    let o = NonNull::new(addr as *mut u8).unwrap();
                    check(o, size, tag);
                    free_remote(s, o);
                    FREED.fetch_add(1, Ordering::Release);
                }
            });
            (tx, h)
        })
        .collect();
    let mut sent = 0u64;
    while sent < 200_000 {
        match alloc(s) {
            Some(o) => {
                fill(o, size, sent);
                workers[(sent % 3) as usize].0.send((o.as_ptr() as usize, sent)).unwrap();
                sent += 1;
            }
            // Dry: the workers hold some objects, or objects were lost (then
            // every sent one is freed and the span still has none).
            None => {
                if FREED.load(Ordering::Acquire) == sent {
                    let again =
                        alloc(s).unwrap_or_else(|| panic!("{sent} objects sent and freed, none free: objects lost"));
                    free_local(s, again);
                }
                std::thread::yield_now();
            }
        }
    }
    for (tx, h) in workers {
        drop(tx);
        h.join().unwrap();
    }
    collect(s);
    assert_eq!(in_use(s), 0, "every object came back");
}
