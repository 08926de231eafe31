//! Mirrors of the sync package's benchmarks (sync/mutex_test.go,
//! rwmutex_test.go, waitgroup_test.go, once_test.go, cond_test.go), on
//! `runtime::sync`: [`RawMutex`] and [`RawRwMutex`] are Go's `sync.Mutex`
//! and `sync.RWMutex` with explicit lock/unlock, as Go's bodies call them.
//!
//! The nanosecond-scale loops run out of line in functions aligned to 1 KiB
//! (`#[rustc_align]`), each shorter than that, so a loop never
//! straddles a 4 KiB page. Under TCG a jump to another guest page is never
//! chained to its target: it goes through a hash lookup, twice per
//! iteration for a loop split across pages. Where the linker happened to
//! put a closure decided it: `sync.Mutex` ran at 18-23 ns/op with its loop's
//! last test on the next page and 12.6-13 ns/op aligned (1 vCPU). The
//! runtime code the loops call is untouched.
use alloc::sync::Arc;

use runtime::bench::{B, PB};
use runtime::chan::Chan;
use runtime::sched;
use runtime::sync::{Cond, Mutex, Once, RawMutex, RawRwMutex, WaitGroup};

/// Mirrors `sync.BenchmarkMutexUncontended`: under RunParallel, each
/// goroutine locks and unlocks its own mutex, padded (Go's `PaddedMutex`)
/// so that no two share a cache line. The loop is Go's instruction for
/// instruction (`pb.Next` inlined, `LOCK CMPXCHGL`, `LOCK XADDL`, the slow
/// paths out of line); Go's mutex escapes to the heap (`newobject`, once
/// per goroutine), ours lives on the goroutine's stack; and ours passes the
/// opaque `work` flag of [`lock_unlock_loop`], which Go's closure here has
/// not: one register test per op more than Go.
pub fn mutex_uncontended(b: &mut B) {
    struct PaddedMutex {
        mutex: RawMutex,
        _pad: [u8; 128],
    }
    b.run_parallel(|pb| {
        let mu = PaddedMutex { mutex: RawMutex::new(), _pad: [0; 128] };
        lock_unlock_loop(pb, &mu.mutex, false);
    });
}

/// `for pb.Next() { mu.Lock(); mu.Unlock(); if work { [local work] } }`,
/// page-safe (see the module essay). Go's closure tests its captured `work`
/// on every iteration (a byte register, `TESTL DL, DL`, and a jump back):
/// so does this loop, `work` being [`super::opaque`] (LLVM would otherwise
/// unswitch the loop into a copy without the test).
#[rustc_align(1024)]
#[inline(never)]
fn lock_unlock_loop(pb: &mut PB, mu: &RawMutex, work: bool) {
    while pb.next() {
        mu.lock();
        mu.unlock();
        if super::opaque(work as u64) != 0 {
            super::model_work(100);
        }
    }
}

/// Go's `benchmarkMutex(b, slack, work)`: every RunParallel goroutine locks
/// and unlocks one shared mutex; `slack` runs 10 goroutines per P, `work`
/// adds 100 iterations of local work outside the lock.
fn benchmark_mutex(b: &mut B, slack: bool, work: bool) {
    let mu = RawMutex::new();
    if slack {
        b.set_parallelism(10);
    }
    b.run_parallel(|pb| lock_unlock_loop(pb, &mu, work));
}

/// Mirrors `sync.BenchmarkMutex`: `benchmarkMutex(b, false, false)`, the
/// contended mutex with no slack and no work. Go's closure tests `work` on
/// every op: so does ours (it used to be folded away, and that test was
/// the row's whole lead). The contended paths are the two runtimes'.
pub fn mutex(b: &mut B) {
    benchmark_mutex(b, false, false)
}

/// Mirrors `sync.BenchmarkRWMutexUncontended`: under RunParallel, each
/// goroutine takes its own padded RWMutex for reading twice, releases it
/// twice, then takes and releases it for writing. Go inlines `RLock` and
/// `RUnlock` and calls `Lock` and `Unlock`; all four of ours inline their
/// fast paths (two calls per op fewer). Go's lock escapes to the heap, ours
/// is on the stack.
pub fn rw_mutex_uncontended(b: &mut B) {
    struct PaddedRwMutex {
        rwm: RawRwMutex,
        _pad: [u32; 32],
    }
    b.run_parallel(|pb| {
        let rwm = PaddedRwMutex { rwm: RawRwMutex::new(), _pad: [0; 32] };
        rw_loop(pb, &rwm.rwm);
    });
}

#[rustc_align(1024)]
#[inline(never)]
fn rw_loop(pb: &mut PB, rwm: &RawRwMutex) {
    while pb.next() {
        rwm.rlock();
        rwm.rlock();
        rwm.runlock();
        rwm.runlock();
        rwm.lock();
        rwm.unlock();
    }
}

/// Mirrors `sync.BenchmarkWaitGroupUncontended`: under RunParallel, each
/// goroutine does Add(1), Done(), Wait() on its own padded WaitGroup. The
/// same three atomics on both sides, but Go makes three calls (`Add`,
/// `Add`, `Wait`) and each `Add` first calls `synctest.IsInBubble` (Go
/// 1.25's check for a `testing/synctest` bubble): five calls per op where
/// ours, inlined, makes none. That is most of this row's lead: call
/// overhead and the bubble check, not a better algorithm. Go's WaitGroup
/// escapes to the heap, ours is on the stack.
pub fn wait_group_uncontended(b: &mut B) {
    struct PaddedWaitGroup {
        wg: WaitGroup,
        _pad: [u8; 128],
    }
    b.run_parallel(|pb| {
        let wg = PaddedWaitGroup { wg: WaitGroup::new(), _pad: [0; 128] };
        wait_group_loop(pb, &wg.wg);
    });
}

#[rustc_align(1024)]
#[inline(never)]
fn wait_group_loop(pb: &mut PB, wg: &WaitGroup) {
    while pb.next() {
        wg.add(1);
        wg.done();
        wg.wait();
    }
}

/// Mirrors `sync.BenchmarkOnce`: under RunParallel, `once.Do(f)` on one
/// shared Once with an empty `f` (done after the first call: the fast path).
/// Both inline `Do`'s fast path to a load, a test and a branch per op, with
/// the slow path out of line.
pub fn once(b: &mut B) {
    let once = Once::new();
    b.run_parallel(|pb| once_loop(pb, &once));
}

#[rustc_align(1024)]
#[inline(never)]
fn once_loop(pb: &mut PB, once: &Once) {
    let f = || {};
    while pb.next() {
        once.call_once(f);
    }
}

/// Mirrors `sync.BenchmarkCond2`: `benchmarkCond(b, 2)`. Go calls `Wait`
/// and `Broadcast` (and `c.L`'s Lock and Unlock through an interface, the
/// `CALL CX`s); ours calls them directly.
pub fn cond_2(b: &mut B) {
    benchmark_cond(b, 2)
}

/// Go's `benchmarkCond(b, waiters)`: `waiters + 1` goroutines meet `b.N`
/// times at a Cond; the last to arrive broadcasts, the others wait. A
/// goroutine that finishes sets `id = -1` and broadcasts, so the others
/// leave too. Go's `id` is a variable the goroutines share under `c.L`; our
/// Cond waits with the guard of the Mutex that holds `id`.
fn benchmark_cond(b: &mut B, waiters: i64) {
    let c = Arc::new((Mutex::new(0i64), Cond::new()));
    let done = Chan::<bool>::new(0);
    let n = b.n;
    for _ in 0..waiters + 1 {
        let (c, done) = (c.clone(), done.clone());
        sched::go(move || {
            let (l, cond) = &*c;
            for _ in 0..n {
                let mut id = l.lock();
                if *id == -1 {
                    drop(id);
                    break;
                }
                *id += 1;
                if *id == waiters + 1 {
                    *id = 0;
                    cond.broadcast();
                } else {
                    id = cond.wait(id);
                }
                drop(id);
            }
            let mut id = l.lock();
            *id = -1;
            cond.broadcast();
            drop(id);
            done.send(true);
        });
    }
    for _ in 0..waiters + 1 {
        done.recv();
    }
}
