//! The heap's randomized model test: several threads, each a P with its own
//! cache, allocate blocks of random sizes and alignments, fill them with a
//! pattern of their own, and free them locally or hand them to another
//! thread to free (remote frees). Checked all along: no two live blocks
//! overlap, every block is aligned and big enough, every pattern survives
//! until its free; at the end, the statistics add up to what the test did
//! and every page comes back.
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::vec::Vec;

use super::*;
use crate::heap::mheap::Backing;
use crate::heap::test_rng::Rng;

/// A heap over a fresh, leaked region of `pages` pages of host memory.
fn heap(pages: usize) -> &'static Heap {
    let words = (pages + 1) * PAGE_SIZE / 8;
    let region: &'static mut [u64] = Vec::leak(vec![0u64; words]);
    let base = (region.as_mut_ptr() as usize).next_multiple_of(PAGE_SIZE);
    // SAFETY: leaked for this heap alone, page aligned; host memory needs no backing.
    Box::leak(Box::new(unsafe { Heap::new(base, pages, Backing { back: |_, _| true, release: |_, _| {} }) }))
}

/// A live block: where, how big, and the byte it is filled with.
#[derive(Clone, Copy)]
struct Blk {
    addr: usize,
    size: usize,
    fill: u8,
}

/// Sizes as programs ask: mostly small, some up to 32 KiB, a few large.
fn random_layout(rng: &mut Rng) -> (usize, usize) {
    let size = match rng.below(100) {
        0..70 => 1 + rng.below(256),
        70..95 => 1 + rng.below(32 << 10),
        _ => 1 + rng.below(200 << 10),
    };
    let align = match rng.below(20) {
        0..14 => 1usize << rng.below(4),
        14..19 => 1usize << rng.below(13),
        _ => 1usize << (13 + rng.below(3)),
    };
    (size, align)
}

/// Bytes of `b` the test writes and checks: its first and last 64 (where
/// the heap's links and neighbours would show) and every 512th between
/// (overlaps themselves are caught by the live map).
fn touched(b: Blk) -> impl Iterator<Item = usize> {
    let head = b.size.min(64);
    let tail = b.size.saturating_sub(64).max(head);
    (0..head).chain((head..tail).step_by(512)).chain(tail..b.size).map(move |i| b.addr + i)
}

fn fill(b: Blk) {
    for a in touched(b) {
        // SAFETY: the block is ours and `a` lies in it.
        unsafe { (a as *mut u8).write(b.fill) };
    }
}

fn check(b: Blk) {
    for a in touched(b) {
        // SAFETY: as above.
        let got = unsafe { (a as *const u8).read() };
        assert_eq!(got, b.fill, "block {:#x}+{}: byte {:#x} overwritten", b.addr, b.size, a);
    }
}

/// The live blocks of all threads, by start, to catch overlaps.
type Live = Mutex<BTreeMap<usize, usize>>;

fn claim(live: &Live, b: Blk) {
    let mut live = live.lock().unwrap();
    if let Some((&start, &end)) = live.range(..b.addr + b.size).next_back() {
        assert!(end <= b.addr, "new block {:#x}+{} overlaps the live block {start:#x}..{end:#x}", b.addr, b.size);
    }
    live.insert(b.addr, b.addr + b.size);
}

fn release(live: &Live, b: Blk) {
    assert_eq!(live.lock().unwrap().remove(&b.addr), Some(b.addr + b.size), "freeing a block not live");
}

#[test]
fn random_blocks_from_four_threads_with_remote_frees_never_overlap() {
    const THREADS: usize = 4;
    const OPS: usize = 250_000;
    let heap = heap(32 << 10); // 256 MiB of region
    let live: &'static Live = Box::leak(Box::new(Mutex::new(BTreeMap::new())));
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::channel::<Blk>()).unzip();
    let done = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(t, rx)| {
            let txs = txs.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut cache = MCache::new(t as u32 + 1);
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((t as u64 + 1) * 0x1234_5678));
                let mut mine: Vec<Blk> = Vec::new();
                let (mut allocs, mut frees) = (0u64, 0u64);
                let free = |cache: &mut MCache, b: Blk| {
                    check(b);
                    release(live, b);
                    // SAFETY: a block of this heap, freed once, not used after.
                    unsafe { heap.free_in(cache, NonNull::new(b.addr as *mut u8).unwrap()) };
                };
                for i in 0..OPS {
                    // Blocks other threads handed over: free them here.
                    for b in rx.try_iter() {
                        free(&mut cache, b);
                        frees += 1;
                    }
                    let grow = mine.len() < 64 || (mine.len() < 1024 && rng.below(2) == 0);
                    if grow {
                        let (size, align) = random_layout(&mut rng);
                        let p = heap.alloc_in(&mut cache, size, align) as usize;
                        assert!(p != 0, "out of memory at op {i}");
                        assert!(p.is_multiple_of(align), "{p:#x} is not aligned to {align}");
                        assert!(heap.usable_size(p as *const u8).unwrap() >= size, "block too small");
                        let b = Blk { addr: p, size, fill: (rng.next() as u8) | 1 };
                        claim(live, b);
                        fill(b);
                        mine.push(b);
                        allocs += 1;
                    } else {
                        let b = mine.swap_remove(rng.below(mine.len()));
                        if rng.below(3) == 0 {
                            let to = (t + 1 + rng.below(THREADS - 1)) % THREADS;
                            txs[to].send(b).unwrap();
                        } else {
                            free(&mut cache, b);
                            frees += 1;
                        }
                    }
                }
                for b in mine.drain(..) {
                    free(&mut cache, b);
                    frees += 1;
                }
                // Everyone has sent all it will send; free what arrived.
                drop(txs);
                done.wait();
                for b in rx.iter() {
                    free(&mut cache, b);
                    frees += 1;
                }
                (cache, allocs, frees)
            })
        })
        .collect();
    drop(txs);
    let results: Vec<(MCache, u64, u64)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(live.lock().unwrap().is_empty());
    let allocs: u64 = results.iter().map(|r| r.1).sum();
    let frees: u64 = results.iter().map(|r| r.2).sum();
    assert_eq!(allocs, frees, "the test freed everything it allocated");
    let mut stats = MemStats::default();
    // SAFETY: the threads that used the caches are joined.
    unsafe { heap.add_stats(results.iter().map(|r| &r.0), &mut stats) };
    assert_eq!((stats.mallocs, stats.frees), (allocs, frees), "the counters are what the test did");
    assert_eq!((stats.heap_alloc, stats.heap_objects), (0, 0), "nothing is live");
    assert!(stats.total_alloc >= allocs, "total_alloc counts every block");
    assert!(stats.heap_sys >= stats.heap_inuse && stats.heap_idle == stats.heap_sys - stats.heap_inuse);
    // Every page comes back once the caches let go of their spans, and
    // the spans' counts move to the caches' counters, none lost or doubled.
    let mut caches: Vec<MCache> = results.into_iter().map(|r| r.0).collect();
    for cache in &mut caches {
        heap.flush(cache);
    }
    let mut flushed = MemStats::default();
    // SAFETY: as above.
    unsafe { heap.add_stats(caches.iter(), &mut flushed) };
    assert_eq!((flushed.mallocs, flushed.frees), (allocs, frees), "counts survive the flush");
    heap.reclaim();
    assert_eq!(heap.mheap().pages_in_use(), 0, "every span back in the page heap");
}

/// A span filled on one P and emptied by frees from another: full, parked,
/// unparked by the first remote free, back on its mcentral's list, and its
/// pages back in the page heap once the last object comes home.
#[test]
fn a_full_span_freed_from_elsewhere_is_unparked_and_its_pages_come_back() {
    let heap = heap(1024);
    let (mut a, mut b) = (MCache::new(1), MCache::new(2));
    let class = SizeClass::new(5).unwrap(); // 48-byte objects, one page
    let n = class.objects();
    let objs: Vec<usize> = (0..n + 1).map(|_| heap.alloc_in(&mut a, class.size(), 8) as usize).collect();
    let first = heap.mheap().span_of(objs[0]).unwrap();
    assert!(
        heap.mheap().span_of(objs[n]).map(|s| s.base()) != Some(first.base()),
        "the last object needs a second span"
    );
    assert_eq!(first.owner(), 0, "the full span left the cache");
    let central = &heap.central[class.noscan().index()];
    assert_eq!(central.partial_len(), 0, "full: parked, on no list");
    for &o in &objs[..n] {
        // SAFETY: allocated above, freed once.
        unsafe { heap.free_in(&mut b, NonNull::new(o as *mut u8).unwrap()) };
    }
    assert_eq!(central.partial_len(), 1, "the first remote free unparked it");
    let in_use = heap.mheap().pages_in_use();
    assert_eq!(heap.reclaim(), 1, "its objects all came home: its page goes back");
    assert_eq!(heap.mheap().pages_in_use(), in_use - 1);
    // SAFETY: allocated above, freed once.
    unsafe { heap.free_in(&mut a, NonNull::new(objs[n] as *mut u8).unwrap()) };
    heap.flush(&mut a);
    heap.flush(&mut b);
    assert_eq!(heap.mheap().pages_in_use(), 0);
}

/// An allocation the region cannot hold fails (the global entry point
/// turns that into the fatal error); the heap still serves what fits.
#[test]
fn a_block_larger_than_the_region_fails_and_the_heap_goes_on() {
    let heap = heap(64);
    let mut c = MCache::new(1);
    assert!(heap.alloc_in(&mut c, 65 * PAGE_SIZE, 8).is_null());
    assert!(heap.alloc_in(&mut c, usize::MAX - 4096, 8192 * 2).is_null(), "no overflow");
    let p = heap.alloc_in(&mut c, 64 * PAGE_SIZE, 8);
    assert!(!p.is_null());
    assert!(heap.alloc_in(&mut c, 8, 8).is_null(), "every page is taken");
    // SAFETY: allocated above, freed once.
    unsafe { heap.free_in(&mut c, NonNull::new(p).unwrap()) };
    assert!(!heap.alloc_in(&mut c, 8, 8).is_null());
}
