//! `testing.B` in miniature: how many iterations to run, the benchmark's
//! timer, `RunParallel`, and the result line exactly as `go test -bench`
//! prints it, so one parser reads Go and us.
//!
//! ## The ramp-up (Go's `B.launch`, `B.runN` and `predictN`, testing/benchmark.go)
//! 1. Run the body once (n = 1).
//! 2. While the last run took less than the benchtime and n < 1e9: predict
//!    `n = goal * prev_n / prev_ns` (multiply first: for fast bodies prev_n ≈
//!    prev_ns), add 20%, grow at most 100x over the last n, at least by one, at
//!    most 1e9; run again with that n.
//! 3. The result is the last run: its n and its total time. `-benchtime=Nx`
//!    skips the ramp and runs exactly N iterations (after the single warm-up).
//!
//! Each run gets a fresh [`B`] (Go's `runN`): `n`, the previous run's n and
//! duration (`RunParallel`'s grain comes from them), parallelism 1, and the
//! timer started. The body may `reset_timer`/`stop_timer`/`start_timer`, as
//! Go's may, to leave setup and teardown out; the run's time is what the
//! timer accumulated. The clock is the caller's (`nanotime` in the kernel),
//! so this file stays portable and its tests use a fake one.
//!
//! ## `RunParallel` (Go's `B.RunParallel` and `PB.Next`)
//! 1. `grain` = the iterations of the previous run that fit in 100 µs
//!    (`1e5 * prev_n / prev_ns`), at least 1 and at most 1e4 (the first run
//!    has no previous one: grain 1).
//! 2. Start `parallelism * GOMAXPROCS` goroutines sharing one atomic counter;
//!    each runs the body with its own [`PB`].
//! 3. `PB::next` hands out iterations from a local cache; when it is empty it
//!    adds `grain` to the counter: a whole grain if the sum is still within
//!    `n`, the remainder if the sum passed `n` by less than a grain, and
//!    `false` (no more iterations) otherwise. So exactly `n` iterations run in
//!    all, however the goroutines interleave.
//! 4. Wait for every goroutine; a body that returned before `next` said
//!    `false` is Go's fatal `RunParallel: body exited without pb.Next() == false`.
//!
//! The body may borrow from the caller's frame (Go's closures capture by
//! reference): `run_parallel` does not return before every goroutine that
//! runs it has finished with it, even when unwinding, as `std::thread::scope`.
//! The counter and the WaitGroup live in an `Arc` the goroutines share.
//!
//! ## The line (Go's `BenchmarkResult.String` and `prettyPrint`)
//! `BenchmarkName-P<TAB>%8d<TAB>%10.0f ns/op`, where `-P` is GOMAXPROCS (left
//! out when it is 1) and the ns/op format keeps four significant figures for
//! small values with the decimal points aligned.
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

/// How long to run each benchmark: Go's `-test.benchtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benchtime {
    /// Run until the body has taken at least this many nanoseconds.
    Duration(u64),
    /// Run exactly this many iterations.
    Iterations(u64),
}

impl Default for Benchtime {
    fn default() -> Self {
        Benchtime::Duration(1_000_000_000)
    }
}

/// Parses `1s`, `500ms`, `1.5s`, `250us`, `2m`, or `100x` (Go's syntax).
pub fn parse_benchtime(s: &str) -> Option<Benchtime> {
    if let Some(n) = s.strip_suffix('x') {
        return n.parse::<u64>().ok().filter(|&n| n > 0).map(Benchtime::Iterations);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = s.split_at(split);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        _ => return None,
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let mut ns = if whole.is_empty() { 0 } else { whole.parse::<u64>().ok()?.checked_mul(scale)? };
    let mut place = scale;
    for d in frac.bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        place /= 10;
        ns = ns.checked_add(u64::from(d - b'0') * place)?;
    }
    (ns > 0).then_some(Benchtime::Duration(ns))
}

/// Go's `predictN`: the next iteration count.
pub fn predict_n(goal_ns: u64, prev_iters: u64, prev_ns: u64, last: u64) -> u64 {
    // In u128: Go's int64 arithmetic cannot overflow for real inputs, and
    // neither may ours for any input.
    let prev_ns = u128::from(prev_ns.max(1));
    let mut n = u128::from(goal_ns) * u128::from(prev_iters) / prev_ns;
    n += n / 5;
    n = n.min(u128::from(last) * 100);
    n = n.max(u128::from(last) + 1);
    n.min(u128::from(MAX_ITERS)) as u64
}

/// Go's cap on predicted iterations.
pub const MAX_ITERS: u64 = 1_000_000_000;

/// One benchmark result: iterations and the total time they took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Result {
    pub n: u64,
    pub ns: u64,
}

impl Result {
    /// Nanoseconds per iteration.
    pub fn ns_per_op(&self) -> f64 {
        self.ns as f64 / self.n.max(1) as f64
    }
}

/// What a benchmark body sees of Go's `testing.B` during one run.
pub struct B {
    /// Go's `b.N`: the iterations this run must do.
    pub n: u64,
    /// The previous run of the ramp (`previousN`, `previousDuration`);
    /// `n == 0` before the first.
    previous: Result,
    /// Go's `parallelism`: `run_parallel` starts this many goroutines per P.
    parallelism: u64,
    clock: fn() -> u64,
    timer_on: bool,
    /// When the timer was last started (valid while `timer_on`).
    start: u64,
    /// Time accumulated by the timer while it was on, before `start`.
    duration: u64,
}

impl B {
    /// A run of `n` iterations following `previous`, timer off.
    pub fn new(n: u64, previous: Result, clock: fn() -> u64) -> B {
        B { n, previous, parallelism: 1, clock, timer_on: false, start: 0, duration: 0 }
    }

    /// Go's `StartTimer`.
    pub fn start_timer(&mut self) {
        if !self.timer_on {
            self.start = (self.clock)();
            self.timer_on = true;
        }
    }

    /// Go's `StopTimer`.
    pub fn stop_timer(&mut self) {
        if self.timer_on {
            self.duration += (self.clock)().saturating_sub(self.start);
            self.timer_on = false;
        }
    }

    /// Go's `ResetTimer`: forget the time so far (and restart the clock if
    /// the timer is on).
    pub fn reset_timer(&mut self) {
        if self.timer_on {
            self.start = (self.clock)();
        }
        self.duration = 0;
    }

    /// Go's `Elapsed`: the time measured so far.
    pub fn elapsed(&self) -> u64 {
        let running = if self.timer_on { (self.clock)().saturating_sub(self.start) } else { 0 };
        self.duration + running
    }

    /// Go's `SetParallelism`: `run_parallel` starts `p * GOMAXPROCS`
    /// goroutines (values below 1 are ignored).
    pub fn set_parallelism(&mut self, p: u64) {
        if p >= 1 {
            self.parallelism = p;
        }
    }

    /// `RunParallel`'s batch size: the previous run's iterations per 100 µs,
    /// in 1..=1e4 (step 1 of the module essay).
    pub fn grain(&self) -> u64 {
        let mut grain = 0;
        if self.previous.n > 0 && self.previous.ns > 0 {
            grain =
                (100_000 * u128::from(self.previous.n) / u128::from(self.previous.ns)).min(u128::from(u64::MAX)) as u64;
        }
        grain.clamp(1, 10_000)
    }
}

/// Go's `testing.PB`: one `run_parallel` goroutine's iterator.
pub struct PB<'a> {
    /// The iteration counter all workers share.
    global_n: &'a AtomicU64,
    /// Iterations taken from `global_n` at once.
    grain: u64,
    /// Iterations taken and not yet run.
    cache: u64,
    /// `b.N`.
    b_n: u64,
}

impl<'a> PB<'a> {
    /// A worker taking `grain` iterations at a time from `counter`, which
    /// hands out `b_n` in all.
    pub fn new(counter: &'a AtomicU64, grain: u64, b_n: u64) -> PB<'a> {
        PB { global_n: counter, grain, cache: 0, b_n }
    }

    /// Go's `PB.Next`: whether there is another iteration to run (step 3 of
    /// the module essay). Go's name, though it is not an `Iterator`.
    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        if self.cache == 0 {
            // Go's `globalN.Add(grain)` returns the new value; the counter
            // never comes near overflow (n <= 1e9, grain <= 1e4 per worker).
            let n = self.global_n.fetch_add(self.grain, Ordering::Relaxed) + self.grain;
            if n <= self.b_n {
                self.cache = self.grain;
            } else if n < self.b_n + self.grain {
                self.cache = self.b_n + self.grain - n;
            } else {
                return false;
            }
        }
        self.cache -= 1;
        true
    }
}

#[cfg(all(any(test, feature = "sched"), not(loom)))]
mod parallel {
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicU64, Ordering};

    use super::{B, PB};
    use crate::sched;
    use crate::sync::WaitGroup;

    /// A RunParallel body that may borrow for `'a`.
    type Body<'a> = dyn Fn(&mut PB<'_>) + Sync + 'a;

    /// What the workers share: Go's `n` and `wg`. In an `Arc`, not in
    /// `run_parallel`'s frame: a WaitGroup's last `done` may still touch it
    /// after `wait` has returned (Go's garbage collector keeps it alive).
    struct Shared {
        counter: AtomicU64,
        wg: WaitGroup,
    }

    /// Waits for the group when dropped: the borrow of the body that
    /// `run_parallel` lends its goroutines ends only after the last of
    /// them is done with it.
    struct WaitOnDrop(Arc<Shared>);

    impl Drop for WaitOnDrop {
        fn drop(&mut self) {
            self.0.wg.wait();
        }
    }

    impl B {
        /// Go's `RunParallel`: `parallelism * GOMAXPROCS` goroutines run
        /// `body`, sharing `n` iterations through [`PB::next`] (steps 1 to 4
        /// of the module essay). Returns when every one has finished.
        pub fn run_parallel<F: Fn(&mut PB<'_>) + Sync>(&self, body: F) {
            if self.n == 0 {
                return; // Go: nothing to do when probing.
            }
            let shared = Arc::new(Shared { counter: AtomicU64::new(0), wg: WaitGroup::new() });
            let procs = self.parallelism * sched::gomaxprocs_now() as u64;
            let waiter = WaitOnDrop(shared.clone());
            let body: &Body<'_> = &body;
            // SAFETY: only the lifetime changes: every goroutine below is
            // done with `body` before its `wg.done()`, and `waiter` waits for
            // all of them before this frame ends, also when unwinding.
            // Goroutine stacks never move, so `body` stays where it is.
            let body = unsafe { core::mem::transmute::<&Body<'_>, &'static Body<'static>>(body) };
            let (grain, b_n) = (self.grain(), self.n);
            for _ in 0..procs {
                shared.wg.add(1);
                let shared = shared.clone();
                sched::go(move || {
                    let mut pb = PB::new(&shared.counter, grain, b_n);
                    body(&mut pb);
                    shared.wg.done();
                });
            }
            drop(waiter);
            if shared.counter.load(Ordering::Relaxed) <= self.n {
                panic!("RunParallel: body exited without pb.Next() == false");
            }
        }
    }
}

/// Go's `runN` followed by `StopTimer`: one run of `n` iterations after
/// `previous`, timed by `clock`.
fn run_n(n: u64, previous: Result, clock: fn() -> u64, body: &mut impl FnMut(&mut B)) -> Result {
    let mut b = B::new(n, previous, clock);
    b.start_timer();
    body(&mut b);
    b.stop_timer();
    Result { n, ns: b.duration }
}

/// Runs a benchmark body until `benchtime` is met (Go's `run1` and
/// `launch`). `body(b)` runs `b.n` iterations; `clock` reads nanoseconds.
pub fn launch(benchtime: Benchtime, clock: fn() -> u64, mut body: impl FnMut(&mut B)) -> Result {
    let none = Result { n: 0, ns: 0 };
    let mut last = run_n(1, none, clock, &mut body);
    match benchtime {
        Benchtime::Iterations(n) if n > 1 => run_n(n, last, clock, &mut body),
        Benchtime::Iterations(_) => last,
        Benchtime::Duration(goal) => {
            while last.ns < goal && last.n < MAX_ITERS {
                let n = predict_n(goal, last.n, last.ns, last.n);
                last = run_n(n, last, clock, &mut body);
            }
            last
        }
    }
}

/// `name` with Go's `-P` suffix (none when `procs` is 1).
pub fn full_name(name: &str, procs: usize) -> String {
    if procs == 1 {
        format!("Benchmark{name}")
    } else {
        format!("Benchmark{name}-{procs}")
    }
}

/// The result line exactly as `go test -bench` prints it (no trailing newline).
pub fn format_line(name: &str, procs: usize, result: Result) -> String {
    let mut line = format!("{}\t{:8}\t", full_name(name, procs), result.n);
    pretty_print(&mut line, result.ns_per_op(), "ns/op");
    line
}

/// Go's `prettyPrint`.
fn pretty_print(out: &mut String, x: f64, unit: &str) {
    let y = if x < 0.0 { -x } else { x };
    let _ = match y {
        _ if y == 0.0 || y >= 999.95 => write!(out, "{x:10.0} {unit}"),
        _ if y >= 99.995 => write!(out, "{x:12.1} {unit}"),
        _ if y >= 9.9995 => write!(out, "{x:13.2} {unit}"),
        _ if y >= 0.99995 => write!(out, "{x:14.3} {unit}"),
        _ if y >= 0.099995 => write!(out, "{x:15.4} {unit}"),
        _ if y >= 0.0099995 => write!(out, "{x:16.5} {unit}"),
        _ if y >= 0.00099995 => write!(out, "{x:17.6} {unit}"),
        _ => write!(out, "{x:18.7} {unit}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchtime_forms() {
        assert_eq!(parse_benchtime("1s"), Some(Benchtime::Duration(1_000_000_000)));
        assert_eq!(parse_benchtime("200ms"), Some(Benchtime::Duration(200_000_000)));
        assert_eq!(parse_benchtime("1.5s"), Some(Benchtime::Duration(1_500_000_000)));
        assert_eq!(parse_benchtime(".5ms"), Some(Benchtime::Duration(500_000)));
        assert_eq!(parse_benchtime("250us"), Some(Benchtime::Duration(250_000)));
        assert_eq!(parse_benchtime("2m"), Some(Benchtime::Duration(120_000_000_000)));
        assert_eq!(parse_benchtime("100x"), Some(Benchtime::Iterations(100)));
        for bad in ["", "1", "s", "0s", "0x", "x", "1h", "1.2.3s", "-1s", "1e3s", "."] {
            assert_eq!(parse_benchtime(bad), None, "{bad}");
        }
    }

    #[test]
    fn predict_n_matches_go() {
        // Values worked through Go's predictN by hand.
        assert_eq!(predict_n(1_000_000_000, 1, 1000, 1), 100, "capped at 100x the last n");
        assert_eq!(predict_n(1_000_000_000, 100, 100_000, 100), 10_000);
        assert_eq!(predict_n(1_000_000_000, 10_000, 10_000_000, 10_000), 1_000_000);
        assert_eq!(predict_n(1_000_000_000, 1_000_000, 800_000_000, 1_000_000), 1_500_000);
        assert_eq!(predict_n(1_000_000_000, 5, 2_000_000_000, 5), 6, "at least one more");
        assert_eq!(predict_n(u64::MAX / 2, 1_000_000_000, 1, 900_000_000), MAX_ITERS);
        assert_eq!(predict_n(1000, 1, 0, 1), 100, "prev_ns 0 counts as 1");
    }

    std::thread_local! {
        /// The fake clock's reading, per test thread.
        static NOW: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn fake_clock() -> u64 {
        NOW.with(|c| c.get())
    }

    fn advance(ns: u64) {
        NOW.with(|c| c.set(c.get() + ns));
    }

    #[test]
    fn launch_ramps_until_the_goal() {
        // A body costing 50 ns per iteration, 1 ms goal.
        let mut runs = Vec::new();
        let r = launch(Benchtime::Duration(1_000_000), fake_clock, |b| {
            runs.push((b.n, b.grain()));
            advance(b.n * 50);
        });
        // The first run has no previous one (grain 1); then 100 µs is 2000 iterations.
        assert_eq!(runs, [(1, 1), (100, 2000), (10_000, 2000), (24_000, 2000)]);
        assert_eq!(r, Result { n: 24_000, ns: 1_200_000 });
        assert!((r.ns_per_op() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn launch_with_fixed_iterations() {
        let mut runs = Vec::new();
        let r = launch(Benchtime::Iterations(7), fake_clock, |b| {
            runs.push(b.n);
            advance(b.n);
        });
        assert_eq!(runs, [1, 7]);
        assert_eq!(r, Result { n: 7, ns: 7 });
        assert_eq!(launch(Benchtime::Iterations(1), fake_clock, |_| {}).n, 1);
    }

    #[test]
    fn the_timer_leaves_out_setup_and_teardown() {
        let r = launch(Benchtime::Iterations(10), fake_clock, |b| {
            advance(1_000_000); // setup, then Go's ResetTimer
            b.reset_timer();
            advance(b.n * 3);
            assert_eq!(b.elapsed(), b.n * 3);
            b.stop_timer();
            advance(5_000_000); // teardown
            b.stop_timer(); // a second stop changes nothing
            assert_eq!(b.elapsed(), b.n * 3);
        });
        assert_eq!(r, Result { n: 10, ns: 30 });
        let mut b = B::new(1, Result { n: 0, ns: 0 }, fake_clock);
        advance(7);
        b.start_timer();
        advance(5);
        b.start_timer(); // already on: keeps its start
        advance(5);
        b.stop_timer();
        b.reset_timer(); // off: only forgets
        advance(9);
        assert_eq!(b.elapsed(), 0);
        b.start_timer();
        advance(2);
        b.stop_timer();
        assert_eq!(b.elapsed(), 2);
    }

    #[test]
    fn grain_is_100us_of_the_previous_run() {
        let grain = |n, ns| B::new(5, Result { n, ns }, fake_clock).grain();
        assert_eq!(grain(0, 0), 1, "no previous run");
        assert_eq!(grain(1, 1_000), 100);
        assert_eq!(grain(1_000, 1_000_000), 100);
        assert_eq!(grain(10, 1_000_000_000), 1, "slow bodies: at least 1");
        assert_eq!(grain(1_000_000, 1_000_000), 10_000, "fast bodies: at most 1e4");
        assert_eq!(grain(u64::MAX, 1), 10_000, "no overflow");
        let mut b = B::new(5, Result { n: 0, ns: 0 }, fake_clock);
        b.set_parallelism(0);
        assert_eq!(b.parallelism, 1, "below 1 is ignored");
        b.set_parallelism(10);
        assert_eq!(b.parallelism, 10);
    }

    /// Workers that call `next` in the order `turns` gives; returns each
    /// worker's iterations.
    fn drain(n: u64, grain: u64, workers: usize, turns: impl Fn(usize) -> usize) -> Vec<u64> {
        let counter = AtomicU64::new(0);
        let mut pbs: Vec<PB<'_>> = (0..workers).map(|_| PB::new(&counter, grain, n)).collect();
        let mut got = vec![0; workers];
        let mut finished = vec![false; workers];
        let mut turn = 0;
        while finished.iter().any(|f| !f) {
            let w = turns(turn) % workers;
            turn += 1;
            if finished[w] {
                continue;
            }
            if pbs[w].next() {
                got[w] += 1;
            } else {
                finished[w] = true;
                assert!(!pbs[w].next(), "once false, next stays false");
            }
        }
        assert!(counter.load(Ordering::Relaxed) > n, "Go's check after RunParallel");
        got
    }

    #[test]
    fn pb_hands_out_exactly_n_iterations() {
        for (n, grain) in [(1, 1), (10, 1), (10, 3), (10, 10), (10, 100), (9_999, 7), (100_000, 10_000)] {
            for workers in [1, 2, 3, 8] {
                let got = drain(n, grain, workers, |t| t);
                assert_eq!(got.iter().sum::<u64>(), n, "n {n}, grain {grain}, {workers} workers: {got:?}");
                let skewed = drain(n, grain, workers, |t| if t % 5 == 0 { t } else { 0 });
                assert_eq!(skewed.iter().sum::<u64>(), n, "skewed: n {n}, grain {grain}, {workers} workers");
            }
        }
    }

    #[test]
    fn pb_takes_whole_grains_then_the_rest() {
        // One worker, n = 10, grain 4: batches of 4, 4, then the 2 left.
        let counter = AtomicU64::new(0);
        let mut pb = PB::new(&counter, 4, 10);
        let mut seen = Vec::new();
        while pb.next() {
            seen.push(counter.load(Ordering::Relaxed));
        }
        assert_eq!(seen, [4, 4, 4, 4, 8, 8, 8, 8, 12, 12]);
        assert_eq!(counter.load(Ordering::Relaxed), 16);
    }

    #[test]
    fn pb_shares_n_between_threads() {
        let counter = AtomicU64::new(0);
        let total = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut pb = PB::new(&counter, 7, 1_000_003);
                    let mut mine = 0;
                    while pb.next() {
                        mine += 1;
                    }
                    total.fetch_add(mine, Ordering::Relaxed);
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 1_000_003);
    }

    #[test]
    #[cfg(not(loom))]
    fn run_parallel_runs_parallelism_times_gomaxprocs_goroutines() {
        use std::sync::atomic::AtomicUsize;
        let _s = crate::sched::tests::serial();
        let (bodies, iterations, procs, probe) = crate::sched::mock::run(|| {
            let bodies = AtomicUsize::new(0); // borrowed by the goroutines
            let iterations = AtomicU64::new(0);
            let mut b = B::new(100_000, Result { n: 1_000, ns: 1_000_000 }, fake_clock);
            b.set_parallelism(3);
            b.run_parallel(|pb| {
                bodies.fetch_add(1, Ordering::Relaxed);
                while pb.next() {
                    iterations.fetch_add(1, Ordering::Relaxed);
                }
            });
            let probe = AtomicUsize::new(0);
            B::new(0, Result { n: 0, ns: 0 }, fake_clock).run_parallel(|_| {
                probe.fetch_add(1, Ordering::Relaxed);
            });
            (
                bodies.load(Ordering::Relaxed),
                iterations.load(Ordering::Relaxed),
                crate::sched::gomaxprocs_now(),
                probe.load(Ordering::Relaxed),
            )
        });
        assert_eq!(bodies, 3 * procs);
        assert_eq!(iterations, 100_000);
        assert_eq!(probe, 0, "b.N == 0: nothing to do when probing");
    }

    #[test]
    fn lines_look_like_go() {
        let r = |n, ns| Result { n, ns };
        assert_eq!(
            format_line("ChanSync", 4, r(7_290_194, 1_189_000_000)),
            "BenchmarkChanSync-4\t 7290194\t       163.1 ns/op"
        );
        assert_eq!(
            format_line("NowUnixNano", 1, r(1000, 95_300)),
            "BenchmarkNowUnixNano\t    1000\t        95.30 ns/op"
        );
        assert_eq!(format_line("X", 2, r(1, 2_500)), "BenchmarkX-2\t       1\t      2500 ns/op");
        assert_eq!(format_line("X", 2, r(1000, 4_500)), "BenchmarkX-2\t    1000\t         4.500 ns/op");
        assert_eq!(format_line("X", 2, r(10_000, 4_500)), "BenchmarkX-2\t   10000\t         0.4500 ns/op");
    }
}
