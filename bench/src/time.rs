//! Mirrors of the time package's benchmarks (time/time_test.go,
//! time/sleep_test.go), on `runtime::time` and the scheduler's timers.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use runtime::bench::{B, PB};
use runtime::chan::Chan;
use runtime::sched;
use runtime::sync::{Mutex, WaitGroup};
use runtime::time::{self, after_func, Timer};

/// Go's `time.Hour` in nanoseconds.
const HOUR: core::time::Duration = core::time::Duration::from_secs(3600);

/// Go's package-level sink `u` in time_test.go.
static U: AtomicI64 = AtomicI64::new(0);

/// Mirrors `time.BenchmarkNowUnixNano`: `u = Now().UnixNano()`. Both `Now`s
/// return the wall and the monotonic clock ([`time::now`]); Go's takes them
/// from two vDSO `clock_gettime` calls on linux/amd64 (an out-of-line
/// `time.Now`, then `UnixNano` inlined), ours from one TSC read in ring 0
/// (the wall clock is the monotonic one plus a boot-time offset). The row
/// compares a ring-0 TSC read with Linux's vDSO: an OS difference, not a
/// runtime one. The store to `u` stays a store ([`super::sink`]). Go
/// reloads `b.N` from memory each iteration; ours keeps it in a register.
pub fn now_unix_nano(b: &mut B) {
    for _ in 0..b.n {
        super::sink(&U, time::now().unix_nano());
    }
}

/// Go's `benchmark` helper (sleep_test.go): before the clock starts, each of
/// GOMAXPROCS goroutines arms 1<<15 garbage timers due in an hour (Go:
/// `AfterFunc(Hour, nil)`; ours run an empty function), so that every P's
/// timer heap is deep while `bench` runs under RunParallel; with the timer
/// stopped, every garbage timer is stopped again. As in Go, the goroutines
/// land on whichever Ps the scheduler gives them, usually one each. Go's
/// garbage timers have a nil function (they never fire); ours an empty one.
fn benchmark(b: &mut B, bench: impl Fn(&mut PB<'_>) + Sync) {
    let procs = sched::gomaxprocs(0);
    let garbage_all: Arc<Vec<Mutex<Vec<Timer>>>> = Arc::new((0..procs).map(|_| Mutex::new(Vec::new())).collect());
    let wg = Arc::new(WaitGroup::new());
    for i in 0..procs {
        let garbage_all = garbage_all.clone();
        wg.add(1);
        let wg = wg.clone();
        sched::go(move || {
            let garbage: Vec<Timer> = (0..1 << 15).map(|_| after_func(HOUR, || {})).collect();
            *garbage_all[i].lock() = garbage;
            wg.done();
        });
    }
    wg.wait();

    b.reset_timer();
    b.run_parallel(bench);
    b.stop_timer();

    for garbage in garbage_all.iter() {
        for t in garbage.lock().iter() {
            t.stop();
        }
    }
}

/// Mirrors `time.BenchmarkAfterFunc1000`: under `benchmark`, each iteration
/// is a chain of 1001 `AfterFunc(0, f)` timers, each `f` arming the next,
/// the last signalling on an unbuffered channel. Go's `f` is a closure
/// calling itself through a captured variable; ours is a function taking the
/// shared counter and channel along (one `Arc` per iteration, where Go's
/// closure and `n` escape to the heap). Per timer, Go's `AfterFunc`
/// allocates a `Timer`, ours a timer and the boxed function: garbage that
/// Go's collector must reclaim (see the Go GC column), ours freed at once.
pub fn after_func_1000(b: &mut B) {
    struct Chain {
        n: AtomicI64,
        c: Chan<bool>,
    }
    fn f(chain: &Arc<Chain>) {
        // Go's `n--` is a plain decrement: the chain's functions run one after another.
        let n = chain.n.fetch_sub(1, Ordering::Relaxed) - 1;
        if n >= 0 {
            let next = chain.clone();
            after_func(core::time::Duration::ZERO, move || f(&next));
        } else {
            chain.c.send(true);
        }
    }
    benchmark(b, |pb| {
        while pb.next() {
            let chain = Arc::new(Chain { n: AtomicI64::new(1000), c: Chan::new(0) });
            let first = chain.clone();
            after_func(core::time::Duration::ZERO, move || f(&first));
            chain.c.recv();
        }
    });
}

/// Mirrors `time.BenchmarkSleep1000`: under `benchmark`, each iteration
/// starts 1000 goroutines that each sleep 1 ns and call `wg.Done()`, and
/// waits for them. Go allocates each goroutine's closure on the heap
/// (`mallocgc`) and its WaitGroup once per op; ours boxes each closure and
/// shares the WaitGroup through an `Arc` (an atomic increment and
/// decrement per goroutine).
pub fn sleep_1000(b: &mut B) {
    benchmark(b, |pb| {
        while pb.next() {
            const N: i64 = 1000;
            let wg = Arc::new(WaitGroup::new());
            wg.add(N);
            for _ in 0..N {
                let wg = wg.clone();
                sched::go(move || {
                    sched::sleep(1);
                    wg.done();
                });
            }
            wg.wait();
        }
    });
}
