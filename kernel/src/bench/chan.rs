//! Mirrors of runtime/chan_test.go's channel and select benchmarks.
//!
//! Go's `N` counters (`int32`, shared by the goroutines through the closure)
//! are `Arc<AtomicI32>`s here; Go's results channels `c` carry `foo == 42`,
//! which Go's compiler folds to `false` (its `foo` is provably 0; see
//! [`super::model_work`]), so we send `false`.
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use runtime::bench::B;
use runtime::chan::Chan;
use runtime::{sched, select, time};

use super::model_work;

/// Go's `CallsPerSched`: operations per grab from the shared counter.
const CALLS_PER_SCHED: u64 = 1000;

/// Go's `alwaysFalse` and `workSink` (chan_test.go), which keep `localWork`'s
/// loop alive.
static ALWAYS_FALSE: AtomicBool = AtomicBool::new(false);
static WORK_SINK: AtomicI64 = AtomicI64::new(0);

/// Go's `localWork(w)`: `w` dependent divisions (inlined, as Go's compiler
/// inlines it into `benchmarkChanSync`'s goroutine).
#[inline(always)]
fn local_work(w: i64) {
    let mut v: i64 = 0; // Go's `foo`
    for _ in 0..w {
        v /= v + 1;
    }
    if ALWAYS_FALSE.load(Ordering::Relaxed) {
        WORK_SINK.fetch_add(v, Ordering::Relaxed);
    }
}

/// Go's `benchmarkChanSync`: two goroutines ping-pong on one unbuffered
/// channel, in rounds of `CallsPerSched` exchanges taken from a shared
/// counter (`b.N / CallsPerSched / 2 * 2` rounds: an even count, so every
/// round finds a partner); odd rounds send first, even rounds receive first.
fn benchmark_chan_sync(b: &mut B, work: i64) {
    let procs = 2;
    let n = Arc::new(AtomicI32::new((b.n / CALLS_PER_SCHED / procs * procs) as i32));
    let c = Chan::<bool>::new(procs as usize);
    let myc = Chan::<i64>::new(0);
    for _ in 0..procs {
        let (n, c, myc) = (n.clone(), c.clone(), myc.clone());
        sched::go(move || {
            loop {
                let i = n.fetch_sub(1, Ordering::Relaxed) - 1;
                if i < 0 {
                    break;
                }
                for _ in 0..CALLS_PER_SCHED {
                    if i % 2 == 0 {
                        myc.recv();
                        local_work(work);
                        myc.send(0);
                        local_work(work);
                    } else {
                        myc.send(0);
                        local_work(work);
                        myc.recv();
                        local_work(work);
                    }
                }
            }
            c.send(true);
        });
    }
    for _ in 0..procs {
        c.recv();
    }
}

/// Mirrors `runtime.BenchmarkChanSync`: `benchmarkChanSync(b, 0)`.
pub fn chan_sync(b: &mut B) {
    benchmark_chan_sync(b, 0)
}

/// Go's `benchmarkChanProdCons`: GOMAXPROCS producer/consumer pairs on one
/// channel of `chan_size`; producers send `CallsPerSched` ones per grab of
/// the shared counter (`b.N / CallsPerSched` grabs), then a 0 that stops
/// one consumer; each pair reports on `c`.
fn benchmark_chan_prod_cons(b: &mut B, chan_size: usize, local_work: u32) {
    let procs = sched::gomaxprocs(0);
    let n = Arc::new(AtomicI32::new((b.n / CALLS_PER_SCHED) as i32));
    let c = Chan::<bool>::new(2 * procs);
    let myc = Chan::<i64>::new(chan_size);
    for _ in 0..procs {
        let (n, c1, myc1) = (n.clone(), c.clone(), myc.clone());
        sched::go(move || {
            // Go: `for atomic.AddInt32(&N, -1) >= 0`
            while n.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..CALLS_PER_SCHED {
                    model_work(local_work);
                    myc1.send(1);
                }
            }
            myc1.send(0);
            c1.send(false); // foo == 42
        });
        let (c2, myc2) = (c.clone(), myc.clone());
        sched::go(move || {
            loop {
                let v = myc2.recv().unwrap_or_default();
                if v == 0 {
                    break;
                }
                model_work(local_work);
            }
            c2.send(false); // foo == 42
        });
    }
    for _ in 0..procs {
        c.recv();
        c.recv();
    }
}

/// Mirrors `runtime.BenchmarkChanProdCons0`: `benchmarkChanProdCons(b, 0, 0)`.
pub fn chan_prod_cons_0(b: &mut B) {
    benchmark_chan_prod_cons(b, 0, 0)
}

/// Mirrors `runtime.BenchmarkChanProdCons10`: `benchmarkChanProdCons(b, 10, 0)`.
pub fn chan_prod_cons_10(b: &mut B) {
    benchmark_chan_prod_cons(b, 10, 0)
}

/// Mirrors `runtime.BenchmarkChanProdCons100`: `benchmarkChanProdCons(b, 100, 0)`.
pub fn chan_prod_cons_100(b: &mut B) {
    benchmark_chan_prod_cons(b, 100, 0)
}

/// Mirrors `runtime.BenchmarkChanNonblocking`: under RunParallel, a
/// non-blocking receive from an unbuffered channel nobody sends on. Go's
/// compiler turns the one-case select with `default` into `selectnbrecv`;
/// ours is `try_recv`.
pub fn chan_nonblocking(b: &mut B) {
    let myc = Chan::<i64>::new(0);
    b.run_parallel(|pb| {
        while pb.next() {
            let _ = myc.try_recv();
        }
    });
}

/// Mirrors `runtime.BenchmarkSelectUncontended`: under RunParallel, each
/// goroutine moves one token between its own two 1-buffered channels with a
/// two-case select (Go's `selectgo`, ours [`select!`]).
pub fn select_uncontended(b: &mut B) {
    b.run_parallel(|pb| {
        let myc1 = Chan::<i64>::new(1);
        let myc2 = Chan::<i64>::new(1);
        myc1.send(0);
        while pb.next() {
            select! {
                recv(myc1) -> _ => myc2.send(0),
                recv(myc2) -> _ => myc1.send(0),
            }
        }
    });
}

/// Mirrors `runtime.BenchmarkSelectProdCons`: as ChanProdCons on a channel
/// of 128, with 100 iterations of local work per value, and every send and
/// receive a three-case select that also waits on a timer that should not
/// fire (`time.After(time.Hour)`, one per goroutine) and on a channel that
/// is never closed. Go's collector frees those timers once the goroutines
/// are gone; ours stay in their P's heap until they fire (2 × GOMAXPROCS
/// per run of the ramp, a few dozen in all).
pub fn select_prod_cons(b: &mut B) {
    const HOUR: u64 = 3600 * 1_000_000_000;
    let procs = sched::gomaxprocs(0);
    let n = Arc::new(AtomicI32::new((b.n / CALLS_PER_SCHED) as i32));
    let c = Chan::<bool>::new(2 * procs);
    let myc = Chan::<i64>::new(128);
    let myclose = Chan::<bool>::new(0);
    for _ in 0..procs {
        let (n, c1, myc1, myclose1) = (n.clone(), c.clone(), myc.clone(), myclose.clone());
        sched::go(move || {
            // Producer: sends to myc.
            // Intended to not fire during benchmarking.
            let mytimer = time::after(HOUR);
            // Go: `for atomic.AddInt32(&N, -1) >= 0`
            while n.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..CALLS_PER_SCHED {
                    // Model some local work.
                    model_work(100);
                    select! {
                        send(myc1, 1) => {},
                        recv(mytimer) -> _ => {},
                        recv(myclose1) -> _ => {},
                    }
                }
            }
            myc1.send(0);
            c1.send(false); // foo == 42
        });
        let (c2, myc2, myclose2) = (c.clone(), myc.clone(), myclose.clone());
        sched::go(move || {
            // Consumer: receives from myc.
            // Intended to not fire during benchmarking.
            let mytimer = time::after(HOUR);
            'outer: loop {
                select! {
                    recv(myc2) -> v => {
                        if v.unwrap_or_default() == 0 {
                            break 'outer;
                        }
                    },
                    recv(mytimer) -> _ => {},
                    recv(myclose2) -> _ => {},
                }
                // Model some local work.
                model_work(100);
            }
            c2.send(false); // foo == 42
        });
    }
    for _ in 0..procs {
        c.recv();
        c.recv();
    }
}
