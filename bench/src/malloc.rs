//! Mirrors of runtime/malloc_test.go's allocation benchmarks.
//!
//! Go's bodies allocate a zeroed object and pass it to `Escape`
//! (export_test.go), which Go inlines to a load of `dummy.b` and a branch
//! around `dummy.x = x`, never taken: the object must be on the heap, and
//! nothing keeps it, so the collector reclaims it later. Ours make the same
//! object with `Box::new` (or `vec!` for the slice) and make the same test
//! ([`escape`]), and drop the object at the end of the iteration: Rust frees
//! explicitly, so each op here is an allocation and a free, where Go's is an
//! allocation and a share of a later collection. Go's `MallocTypeInfo`
//! objects hold pointers (a scan span and a heap-bits write in Go); Rust's
//! allocator is told only size and alignment, so ours differ from the
//! `Malloc` rows only in the object's type.
use alloc::boxed::Box;
use alloc::vec;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, Ordering};

use runtime::bench::B;

use super::{never_set, opaque, sink};

/// Go's `dummy.b` and `dummy.x` (export_test.go): never set, never read.
static DUMMY_B: AtomicBool = AtomicBool::new(false);
static DUMMY_X: AtomicI64 = AtomicI64::new(0);

/// Go's `Escape(p)`, inlined: `if dummy.b { dummy.x = p }`. The address
/// also passes through [`opaque`] (no instruction), so LLVM can neither
/// drop the allocation nor move it into the branch it knows nothing of.
#[inline(always)]
fn escape<T: ?Sized>(p: &T) {
    let addr = opaque(p as *const T as *const u8 as u64);
    if never_set(&DUMMY_B) {
        sink(&DUMMY_X, addr as i64);
    }
}

/// Mirrors `runtime.BenchmarkMalloc8`: `new(int64)`. Go serves it from its
/// tiny allocator (pointer-free and under 16 bytes: two per 16-byte block);
/// ours is one 8-byte object.
pub fn malloc_8(b: &mut B) {
    for _ in 0..b.n {
        let p = Box::new(0i64);
        escape(&*p);
    }
}

/// Mirrors `runtime.BenchmarkMalloc16`: `new([2]int64)`.
pub fn malloc_16(b: &mut B) {
    for _ in 0..b.n {
        let p = Box::new([0i64; 2]);
        escape(&*p);
    }
}

/// Mirrors `runtime.BenchmarkMalloc32`: `new([4]int64)`.
pub fn malloc_32(b: &mut B) {
    for _ in 0..b.n {
        let p = Box::new([0i64; 4]);
        escape(&*p);
    }
}

/// Go's `struct { p [N / 8]*int }`: `N` bytes of nil pointers.
type Pointers<const W: usize> = [*const i64; W];

/// Mirrors `runtime.BenchmarkMallocTypeInfo8`: one nil `*int`.
pub fn malloc_type_info_8(b: &mut B) {
    for _ in 0..b.n {
        let p: Box<Pointers<1>> = Box::new([core::ptr::null(); 1]);
        escape(&*p);
    }
}

/// Mirrors `runtime.BenchmarkMallocTypeInfo16`: two nil `*int`s.
pub fn malloc_type_info_16(b: &mut B) {
    for _ in 0..b.n {
        let p: Box<Pointers<2>> = Box::new([core::ptr::null(); 2]);
        escape(&*p);
    }
}

/// Mirrors `runtime.BenchmarkMallocTypeInfo32`: four nil `*int`s.
pub fn malloc_type_info_32(b: &mut B) {
    for _ in 0..b.n {
        let p: Box<Pointers<4>> = Box::new([core::ptr::null(); 4]);
        escape(&*p);
    }
}

/// Go's `LargeStruct`: sixteen slice headers (pointer, length, capacity).
#[derive(Clone, Copy)]
struct LargeStruct {
    _x: [[usize; 3]; 16],
}

/// Mirrors `runtime.BenchmarkMallocLargeStruct`: `make([]LargeStruct, 2)`,
/// 768 zeroed bytes (`vec!` of a zero value asks the allocator for zeroed
/// memory, as Go's `mallocgc` with `needzero`).
pub fn malloc_large_struct(b: &mut B) {
    for _ in 0..b.n {
        let p = vec![LargeStruct { _x: [[0; 3]; 16] }; 2];
        escape(&p[0]);
    }
}

/// A batch of objects for [`malloc_parallel`].
type Batch<T> = [Option<Box<T>>; 64];

/// Mirrors gort's `mallocParallel[T]` (harness/gobench): under RunParallel,
/// each goroutine allocates objects into a batch of 64, dropping the
/// batch's previous objects as it overwrites them (Go: garbage), and swaps
/// each full batch with the one in a shared slot, going on with a batch
/// another goroutine filled. Most drops free an object another goroutine
/// allocated, mostly on another P: a remote free. Where Go leaves garbage,
/// ours frees: each goroutine's last, partly filled batch when its loop
/// ends (inside the timed region, as Go's would become garbage there), and
/// the batch left in the slot after the timer stops.
fn malloc_parallel<T: Default + Send>(b: &mut B) {
    let slot = AtomicPtr::<Batch<T>>::new(ptr::null_mut());
    b.run_parallel(|pb| {
        let mut batch: Box<Batch<T>> = Box::new([const { None }; 64]);
        let mut n = 0;
        while pb.next() {
            batch[n] = Some(Box::new(T::default()));
            n += 1;
            if n == batch.len() {
                let other = slot.swap(Box::into_raw(batch), Ordering::AcqRel);
                batch = if other.is_null() {
                    Box::new([const { None }; 64])
                } else {
                    // SAFETY: the slot holds batches leaked by `into_raw`
                    // above; the swap gave this one to us alone.
                    unsafe { Box::from_raw(other) }
                };
                n = 0;
            }
        }
    });
    b.stop_timer();
    let last = slot.swap(ptr::null_mut(), Ordering::AcqRel);
    if !last.is_null() {
        // SAFETY: as above: the last batch left in the slot, ours now.
        drop(unsafe { Box::from_raw(last) });
    }
}

/// Mirrors gort's `BenchmarkMallocParallel8`: 8-byte objects (Go serves
/// `new([8]byte)` from its tiny allocator, as in `Malloc8`).
pub fn malloc_parallel_8(b: &mut B) {
    malloc_parallel::<[u8; 8]>(b);
}

/// Mirrors gort's `BenchmarkMallocParallel64`: 64-byte objects (`[u64; 8]`
/// here, for `Default`: the same size class as Go's `[64]byte`).
pub fn malloc_parallel_64(b: &mut B) {
    malloc_parallel::<[u64; 8]>(b);
}
