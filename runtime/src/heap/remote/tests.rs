//! The remote-free list: a host stress test with real threads, and loom
//! model checks of every interleaving of two freeing threads and the owner.
use super::*;

/// Walks a taken list, returning the objects' addresses.
fn walk(mut p: *mut Link) -> alloc::vec::Vec<usize> {
    let mut out = alloc::vec::Vec::new();
    while !p.is_null() {
        out.push(p as usize);
        // SAFETY: `p` came from `take_all`: ours, its link written.
        p = unsafe { Link::next(p) };
    }
    out
}

#[cfg(not(loom))]
mod host {
    use super::*;
    use std::sync::Arc;

    /// Four threads free 20,000 objects each while the owner keeps taking:
    /// every object comes back exactly once.
    #[test]
    fn every_object_freed_from_other_threads_is_taken_once() {
        const THREADS: usize = 4;
        const EACH: usize = 20_000;
        let objects: &'static mut [Link] =
            Vec::leak((0..THREADS * EACH).map(|_| Link { next: core::ptr::null_mut() }).collect());
        let base = objects.as_mut_ptr() as usize;
        let list = Arc::new(RemoteFree::new());
        let freers: Vec<_> = (0..THREADS)
            .map(|t| {
                let list = list.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let obj = (base + (t * EACH + i) * size_of::<Link>()) as *mut Link;
                        // SAFETY: each thread frees its own slice of the leaked objects, once.
                        assert!(!unsafe { list.push(obj) }, "nobody parked the list");
                    }
                })
            })
            .collect();
        let mut seen = vec![false; THREADS * EACH];
        let mut taken = 0;
        let mut note = |addrs: Vec<usize>| {
            for a in addrs {
                let i = (a - base) / size_of::<Link>();
                assert!(!seen[i], "object {i} taken twice");
                seen[i] = true;
                taken += 1;
            }
        };
        while freers.iter().any(|f| !f.is_finished()) {
            note(walk(list.take_all()));
        }
        for f in freers {
            f.join().unwrap();
        }
        note(walk(list.take_all()));
        assert_eq!(taken, THREADS * EACH);
        assert!(list.is_empty());
    }
}

#[cfg(loom)]
mod model {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    /// An object as a freeing CPU leaves it: its link, and a word it wrote
    /// last (loom checks the owner's read of it is ordered after the write).
    #[repr(C)]
    struct Obj {
        link: Link,
        last_write: UnsafeCell<usize>,
    }

    fn objects(n: usize) -> usize {
        let objs: Vec<Obj> = (0..n)
            .map(|_| Obj { link: Link { next: core::ptr::null_mut() }, last_write: UnsafeCell::new(0) })
            .collect();
        Box::leak(objs.into_boxed_slice()).as_mut_ptr() as usize
    }

    fn obj(base: usize, i: usize) -> *mut Obj {
        (base + i * size_of::<Obj>()) as *mut Obj
    }

    /// Two threads free two objects each (writing to them first); the owner
    /// takes once while they run and once after: each object exactly once,
    /// and every write made before a free is visible to the owner.
    #[test]
    fn loom_remote_two_freers_and_the_owner() {
        loom::model(|| {
            let base = objects(4);
            let list = Arc::new(RemoteFree::new());
            let freers: Vec<_> = (0..2)
                .map(|t| {
                    let list = list.clone();
                    loom::thread::spawn(move || {
                        for i in [2 * t, 2 * t + 1] {
                            let o = obj(base, i);
                            // SAFETY: thread t owns objects 2t and 2t+1 until it frees them.
                            unsafe {
                                (*o).last_write.with_mut(|w| *w = i + 100);
                                assert!(!list.push(o.cast()), "nobody parked the list");
                            }
                        }
                    })
                })
                .collect();
            // Read what the freeing threads wrote while they still run: only
            // the list's ordering makes those writes visible.
            let check = |got: Vec<usize>| -> Vec<usize> {
                let idx: Vec<usize> = got.iter().map(|&a| (a - base) / size_of::<Obj>()).collect();
                for &i in &idx {
                    // SAFETY: taken from the list: ours again.
                    let w = unsafe { (*obj(base, i)).last_write.with(|w| *w) };
                    assert_eq!(w, i + 100, "object {i}: the freeing thread's write is not visible");
                }
                idx
            };
            let mut idx = check(walk(list.take_all()));
            for f in freers {
                f.join().unwrap();
            }
            idx.extend(check(walk(list.take_all())));
            idx.sort_unstable();
            assert_eq!(idx, [0, 1, 2, 3]);
        });
    }

    /// The owner parks its full span (writing its state first) while two
    /// threads free an object each: exactly one of them unparks it, seeing
    /// the last owner's write, and the next owner takes both objects.
    #[test]
    fn loom_remote_park_two_freers_one_unparks() {
        loom::model(|| {
            let base = objects(2);
            let list = Arc::new(RemoteFree::new());
            let state = Arc::new(UnsafeCell::new(0usize));
            let freers: Vec<_> = (0..2)
                .map(|t| {
                    let (list, state) = (list.clone(), state.clone());
                    loom::thread::spawn(move || {
                        // SAFETY: thread t owns object t until it frees it.
                        let unparked = unsafe { list.push(obj(base, t).cast()) };
                        if unparked {
                            // The unparking CPU hands the span on: the last
                            // owner's writes must be visible from here.
                            // SAFETY: loom checks this read is ordered after the write.
                            let seen = state.with(|s| unsafe { *s });
                            assert_eq!(seen, 7, "the parking owner's write is not visible");
                        }
                        unparked
                    })
                })
                .collect();
            // SAFETY: the owner writes its state before parking; loom
            // reports any access not ordered after it.
            state.with_mut(|s| unsafe { *s = 7 });
            let parked = list.park();
            let n = freers.into_iter().map(|f| f.join().unwrap()).filter(|&u| u).count();
            // Parked before a free arrived: unparked once; else never parked.
            assert_eq!(n, usize::from(parked), "parked: {parked}, unparked {n} times");
            let mut idx: Vec<usize> = walk(list.take_all()).iter().map(|&a| (a - base) / size_of::<Obj>()).collect();
            idx.sort_unstable();
            assert_eq!(idx, [0, 1], "both frees are on the list");
        });
    }
}
