//! Mirrors of runtime/proc_test.go's scheduler benchmarks, and of our `gort`
//! package's `Gosched` (harness/gobench: Go has no benchmark of its own for it).
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use runtime::bench::B;
use runtime::chan::{Chan, TryRecvError};
use runtime::sched;

/// Mirrors `runtime.BenchmarkCreateGoroutines` (`benchmarkCreateGoroutines(b,
/// 1)`): a chain of `b.N` goroutines, each starting the next and exiting; the
/// last signals on an unbuffered channel.
pub fn create_goroutines(b: &mut B) {
    benchmark_create_goroutines(b, 1)
}

/// Mirrors `runtime.BenchmarkCreateGoroutinesParallel`: GOMAXPROCS chains
/// of `b.N / GOMAXPROCS` goroutines.
pub fn create_goroutines_parallel(b: &mut B) {
    benchmark_create_goroutines(b, sched::gomaxprocs(0) as u64)
}

/// Go's `benchmarkCreateGoroutines`. Go's `f` is a closure calling itself;
/// here it is a function taking the channel along. Per goroutine, Go's `go
/// f(n-1)` heap-allocates a wrapper closure (`mallocgc` and a write
/// barrier) and calls `newproc`; ours boxes the closure (one allocation),
/// clones the channel handle (an atomic increment, and a decrement at
/// exit) and calls `go`.
fn benchmark_create_goroutines(b: &mut B, procs: u64) {
    fn f(n: u64, c: Chan<bool>) {
        if n == 0 {
            c.send(true);
            return;
        }
        sched::go(move || f(n - 1, c));
    }
    let c = Chan::new(0);
    for _ in 0..procs {
        let c = c.clone();
        let n = b.n / procs;
        sched::go(move || f(n, c));
    }
    for _ in 0..procs {
        c.recv();
    }
}

/// Go's `padData`.
static PAD_DATA: [u64; 128] = [0; 128];

/// Go's `stackGrowthRecursive` (proc_test.go): copy 1 KiB into the frame,
/// scan it, recurse. The copy is word by word (Go's is 16 bytes at a time
/// with SSE); a plain `memcpy` would be `rep movsq`, which TCG emulates one
/// iteration at a time, about 8x slower.
#[inline(never)]
fn stack_growth_recursive(i: u64) {
    let mut pad = core::mem::MaybeUninit::<[u64; 128]>::uninit();
    let words = pad.as_mut_ptr().cast::<u64>();
    for j in 0..128 {
        // SAFETY: `j` < 128 indexes both arrays; volatile keeps the copy a copy.
        unsafe { words.add(j).write(core::ptr::read_volatile(PAD_DATA.as_ptr().add(j))) };
    }
    // SAFETY: every word was written just above (a reference, not a move:
    // the frame keeps one 1 KiB array, as Go's does).
    let pad: &[u64; 128] = unsafe { pad.assume_init_ref() };
    if core::hint::black_box(pad).iter().any(|&v| v != 0) {
        return;
    }
    if i != 0 {
        stack_growth_recursive(i - 1);
    }
}

/// Go's `benchmarkStackGrowth`: `stackGrowthRecursive(rec)` under RunParallel.
fn benchmark_stack_growth(b: &mut B, rec: u64) {
    b.run_parallel(|pb| {
        while pb.next() {
            stack_growth_recursive(rec);
        }
    });
}

/// Mirrors `runtime.BenchmarkStackGrowth`: `benchmarkStackGrowth(b, 10)`.
/// Despite the name, neither side grows a stack in the steady state: each
/// RunParallel goroutine grows its stack on its first op (Go copies it once
/// to 16 KiB; ours faults in two pages) and keeps it for the rest of the
/// run, so the row times the recursion itself, 1 KiB copied and scanned per
/// frame, and the two compilers' loops. Go copies 64 bytes per iteration
/// (four `MOVUPS` pairs), ours 32 (four `movq` pairs, see
/// [`stack_growth_recursive`]); Go scans one word per iteration, its loop
/// starting with `INCQ`, which under TCG costs a helper call at the start
/// of each block (README, "What made it fast", item 8), while LLVM unrolls
/// the scan three words per iteration with no `inc`. That, not the
/// runtime, is this row's lead. Frames: Go's 1,048 bytes, ours 1,056.
/// [`stack_growth_new_g`] is the row that grows a stack on every op.
pub fn stack_growth(b: &mut B) {
    benchmark_stack_growth(b, 10)
}

/// Mirrors `runtime.BenchmarkStackGrowthDeep`: 1024 levels, about 1 MiB of
/// stack, grown once per RunParallel goroutine (Go copies it up to 2 MiB
/// through eight doublings; ours faults in about 260 pages in place), then
/// reused: as [`stack_growth`], the steady state is the recursion itself.
pub fn stack_growth_deep(b: &mut B) {
    benchmark_stack_growth(b, 1024)
}

/// Our `gort`'s `benchmarkStackGrowthNewG` (harness/gobench): Go's
/// `benchmarkStackGrowth` with the recursion in a new goroutine per op,
/// whose exit the op waits for on an unbuffered channel, so every op grows
/// a stack from scratch. Go starts each goroutine on a fresh 8 KiB stack
/// (gfput freed the grown one) and copies it at each doubling; ours starts
/// on its one resident page, faults in the others, and gives them back at
/// exit (unmapped, with a TLB shootdown when other CPUs run). Go's closure
/// captures the channel; ours holds a reference (`Chan` clone: an atomic
/// increment and decrement per op).
fn benchmark_stack_growth_new_g(b: &mut B, rec: u64) {
    b.run_parallel(|pb| {
        let done = Chan::<bool>::new(0);
        while pb.next() {
            let d = done.clone();
            sched::go(move || {
                stack_growth_recursive(rec);
                d.send(true);
            });
            done.recv();
        }
    });
}

/// Mirrors gort's `BenchmarkStackGrowthNewG`: 10 levels (about 11.5 KiB)
/// in a new goroutine per op. Go copies its stack once (8 to 16 KiB); ours
/// faults in two or three pages below its resident top page.
pub fn stack_growth_new_g(b: &mut B) {
    benchmark_stack_growth_new_g(b, 10)
}

/// Mirrors gort's `BenchmarkStackGrowthDeepNewG`: 1024 levels (just over 1
/// MiB) in a new goroutine per op. Go copies its stack eight times (8 KiB
/// to 2 MiB); ours faults in about 260 pages and unmaps them at exit.
pub fn stack_growth_deep_new_g(b: &mut B) {
    benchmark_stack_growth_new_g(b, 1024)
}

/// Mirrors `runtime.BenchmarkPingPongHog`: with GOMAXPROCS set to 1 at run
/// time (and restored after), a hog spins in a `select { case <-stop: ...
/// default: }` loop while two goroutines pass a value back and forth `b.N`
/// times over unbuffered channels. It measures how the ping-pong pair shares
/// the one P with the hog: Go's `runnext` hand-off lets the pair inherit
/// the time slice, so the hog gets the P only when the slice runs out.
/// Go's one-case select with `default` compiles to `selectnbrecv`: here
/// `try_recv`. Go's deferred `GOMAXPROCS(prev)` runs after the goroutines
/// are done, with the timer stopped, as here. The same channel calls on
/// both sides; Go's `ping`/`pong` values are `bool`s, ours too.
pub fn ping_pong_hog(b: &mut B) {
    if b.n == 0 {
        return;
    }
    let prev = sched::gomaxprocs(1);

    // Create a CPU hog
    let (stop, done) = (Chan::<bool>::new(0), Chan::<bool>::new(0));
    let (hog_stop, hog_done) = (stop.clone(), done.clone());
    sched::go(move || loop {
        match hog_stop.try_recv() {
            Err(TryRecvError::Empty) => {}
            _ => {
                hog_done.send(true);
                return;
            }
        }
    });

    // Ping-pong b.N times
    let (ping, pong) = (Chan::<bool>::new(0), Chan::<bool>::new(0));
    let n = b.n;
    let (ping1, pong1, stop1, done1) = (ping.clone(), pong.clone(), stop.clone(), done.clone());
    sched::go(move || {
        for _ in 0..n {
            pong1.send(ping1.recv().unwrap_or_default());
        }
        stop1.close();
        done1.send(true);
    });
    let (ping2, pong2, done2) = (ping.clone(), pong.clone(), done.clone());
    sched::go(move || {
        for _ in 0..n {
            ping2.send(pong2.recv().unwrap_or_default());
        }
        done2.send(true);
    });
    b.reset_timer();
    ping.send(true); // Start ping-pong
    stop.recv();
    b.stop_timer();
    ping.recv(); // Let last ponger exit
    done.recv(); // Make sure goroutines exit
    done.recv();
    done.recv();
    sched::gomaxprocs(prev);
}

/// Mirrors `gort.BenchmarkGosched` (harness/gobench: Go has no Gosched
/// benchmark of its own): `b.N` yields while a partner goroutine yields
/// until told to stop, then closes `done`. One `Gosched` call per op on
/// both sides.
pub fn gosched_round_trip(b: &mut B) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Chan::<()>::new(0);
    let (stop2, done2) = (stop.clone(), done.clone());
    sched::go(move || {
        while !stop2.load(Ordering::Relaxed) {
            sched::gosched();
        }
        done2.close();
    });
    for _ in 0..b.n {
        sched::gosched();
    }
    stop.store(true, Ordering::Relaxed);
    done.recv();
}

/// Mirrors gort's `BenchmarkAtomicCASAdd` (harness/gobench): a control for
/// the emulation, not the runtime. The two atomic instructions of an
/// uncontended mutex lock/unlock on a stack word, nothing else: Go emits
/// `LOCK CMPXCHGL; SETE` and `LOCK XADDL`, and so does this loop, the
/// results going through [`super::opaque`] (unused, LLVM would make the add
/// a `LOCK DECL`, and `black_box` would store the CAS result to the stack).
/// Go reloads `b.N` from memory on each iteration; ours stays in a register.
pub fn atomic_cas_add(b: &mut B) {
    let x = core::sync::atomic::AtomicI32::new(0);
    for _ in 0..b.n {
        super::opaque(x.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() as u64);
        super::opaque(x.fetch_add(-1, Ordering::SeqCst) as u64);
    }
}
