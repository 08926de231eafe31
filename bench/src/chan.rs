//! Mirrors of runtime/chan_test.go's channel and select benchmarks.
//!
//! Go's `N` counters (`int32`, shared by the goroutines through the closure)
//! are `Arc<AtomicI32>`s here; Go's results channels `c` carry `foo == 42`,
//! which Go's compiler folds to `false` (its `foo` is provably 0; see
//! [`super::model_work`]), so we send `false`. The `work`/`localWork`
//! counts the closures capture are 0 in every benchmark here, but Go's
//! compiler cannot know that inside the closure, so each local-work call
//! tests its loop count at run time (`TESTQ CX, CX; JG`): ours too
//! ([`super::opaque`]).
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use runtime::bench::B;
use runtime::chan::Chan;
use runtime::{sched, select, time};

use super::{model_work, opaque};

/// Go's `CallsPerSched`: operations per grab from the shared counter.
const CALLS_PER_SCHED: u64 = 1000;

/// Go's `alwaysFalse` and `workSink` (chan_test.go), which keep `localWork`'s
/// loop alive.
static ALWAYS_FALSE: AtomicBool = AtomicBool::new(false);
static WORK_SINK: AtomicI64 = AtomicI64::new(0);

/// Go's `localWork(w)`: `w` times `foo /= foo + 1` on a `foo` of 0, then
/// `if alwaysFalse { workSink += foo }`. Go inlines it into
/// `benchmarkChanSync`'s goroutine, proves `foo` stays 0, and keeps the
/// counting loop on the captured `work` and the load of `alwaysFalse`
/// (objdump: `DECQ CX; TESTQ CX, CX; JG`, then `CMPB alwaysFalse, $0`):
/// so does this, with the count opaque.
#[inline(always)]
fn local_work(w: i64) {
    model_work(opaque(w as u64));
    if super::never_set(&ALWAYS_FALSE) {
        // `workSink += foo` with `foo` folded to 0: a load and a store (a
        // store LLVM may not drop, or it drops the test of `alwaysFalse`).
        super::sink(&WORK_SINK, WORK_SINK.load(Ordering::Relaxed));
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
                    // Go tests `i%2` on every call (`BTL $0, DI`); LLVM
                    // would unswitch the loop into two copies instead.
                    if opaque(i as u64).is_multiple_of(2) {
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

/// Mirrors `runtime.BenchmarkChanSync`: `benchmarkChanSync(b, 0)`. Each
/// exchange is a call into the channel code on both sides (Go's
/// `chanrecv1`/`chansend1`, ours `recv`/`send` after an inlined nil
/// check); the local work is the opaque zero-count loop and the load of
/// `alwaysFalse` Go keeps, and the parity of the round is tested per call.
pub fn chan_sync(b: &mut B) {
    benchmark_chan_sync(b, 0)
}

/// Go's `benchmarkChanProdCons`: GOMAXPROCS producer/consumer pairs on one
/// channel of `chan_size`; producers send `CallsPerSched` ones per grab of
/// the shared counter (`b.N / CallsPerSched` grabs), then a 0 that stops
/// one consumer; each pair reports on `c`.
fn benchmark_chan_prod_cons(b: &mut B, chan_size: usize, local_work: u64) {
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
                    model_work(opaque(local_work));
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
                model_work(opaque(local_work));
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
/// As in Go, every value costs one send and one receive call plus the test
/// of the zero local-work count on each side; Go sends from a constant in
/// memory, ours from a stack slot.
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
/// compiler turns the one-case select with `default` into a call of
/// `selectnbrecv`; ours is a call of `try_recv`'s body after an inlined nil
/// check: one call per op on both sides.
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
/// two-case select (Go's `selectgo`, ours [`select!`]). Both build the two
/// cases on the stack and make one `selectgo` call and one send call per
/// op; Go's channels come from `makechan` on the heap, ours from
/// `Chan::new`, once per goroutine.
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
    const HOUR: core::time::Duration = core::time::Duration::from_secs(3600);
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
