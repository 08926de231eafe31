//! Mirrors of the time package's benchmarks (time/time_test.go,
//! time/sleep_test.go), on `runtime::time` and the scheduler's timers.
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use runtime::bench::{B, PB};
use runtime::chan::Chan;
use runtime::sched;
use runtime::sync::{Mutex, WaitGroup};
use runtime::time::{after_func, Timer};

use crate::arch;

/// Go's `time.Hour` in nanoseconds.
const HOUR: u64 = 3600 * 1_000_000_000;

/// Go's package-level sink `u` in time_test.go.
static U: AtomicI64 = AtomicI64::new(0);

/// Mirrors `time.BenchmarkNowUnixNano`: `u = Now().UnixNano()`. Go's `Now`
/// reads the wall and the monotonic clock (two vDSO reads on linux/amd64);
/// ours reads the TSC once and derives the wall clock from it.
pub fn now_unix_nano(b: &mut B) {
    for _ in 0..b.n {
        U.store(arch::walltime(), Ordering::Relaxed);
    }
}

/// Go's `benchmark` helper (sleep_test.go): before the clock starts, each of
/// GOMAXPROCS goroutines arms 1<<15 garbage timers due in an hour (Go:
/// `AfterFunc(Hour, nil)`; ours run an empty function), so that every P's
/// timer heap is deep while `bench` runs under RunParallel; with the timer
/// stopped, every garbage timer is stopped again. As in Go, the goroutines
/// land on whichever Ps the scheduler gives them, usually one each.
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
/// closure and `n` escape to the heap).
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
            after_func(0, move || f(&next));
        } else {
            chain.c.send(true);
        }
    }
    benchmark(b, |pb| {
        while pb.next() {
            let chain = Arc::new(Chain { n: AtomicI64::new(1000), c: Chan::new(0) });
            let first = chain.clone();
            after_func(0, move || f(&first));
            chain.c.recv();
        }
    });
}

/// Mirrors `time.BenchmarkSleep1000`: under `benchmark`, each iteration
/// starts 1000 goroutines that each sleep 1 ns and call `wg.Done()`, and
/// waits for them.
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
