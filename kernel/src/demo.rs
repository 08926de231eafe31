//! Serial-console demos, chosen with `demo=NAME`.
//!
//! - `hello`: every CPU greets the console from its idle loop (no scheduler).
//! - `tasks`: the seeds' first example: two goroutines print "Task 1 running
//!   i" / "Task 2 running i" interleaved, a WaitGroup waits for both, then
//!   "All tasks completed!".
//! - `hog`: a `loop {}` goroutine is preempted while another keeps ticking.
//! - `steal`: one goroutine spawns a burst of work on its own P; with
//!   `GODEBUG=schedtrace=100` the trace shows idle Ps waking up and stealing
//!   it (the demo turns the trace on itself if it is off).
//! - `sieve`: the concurrent prime sieve from Go's tour and test/chan: a
//!   chain of filter goroutines connected by channels, one per prime found.
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use runtime::chan::Chan;
use runtime::sched::{self, WaitGroup};

use crate::arch::{self, percpu};
use crate::println;

/// Runs a demo that needs no scheduler (before it starts); None otherwise.
pub fn run_machine(name: &str) -> Option<bool> {
    match name {
        "hello" => Some(hello()),
        _ => None,
    }
}

/// Runs goroutine demo `name` in the main goroutine; true means it completed.
pub fn run(name: &str) -> bool {
    match name {
        "tasks" => tasks(),
        "hog" => hog(),
        "steal" => steal(),
        "sieve" => sieve(),
        _ => unreachable!("demo names are validated by the parameter table"),
    }
}

fn hello() -> bool {
    let greeted = crate::selftest::on_every_cpu(|cpu| {
        let me = percpu::get(cpu);
        println!(
            "hello from cpu{cpu} (apic id {}), {} ms after boot",
            me.apic_id.load(core::sync::atomic::Ordering::Relaxed),
            crate::arch::nanotime() / 1_000_000
        );
        true
    });
    println!("hello: {greeted} of {} CPUs said hello", percpu::count());
    greeted == percpu::count()
}

fn tasks() -> bool {
    let wg = Arc::new(WaitGroup::new());
    wg.add(2);
    for task in 1..=2 {
        let wg = wg.clone();
        sched::go(move || {
            for i in 0..5 {
                println!("Task {task} running {i}");
                sched::sleep(10_000_000);
            }
            wg.done();
        });
    }
    wg.wait();
    println!("All tasks completed!");
    true
}

fn hog() -> bool {
    let spins = Arc::new(AtomicU64::new(0));
    let spins2 = spins.clone();
    sched::go(move || loop {
        spins2.fetch_add(1, Ordering::Relaxed);
    });
    let t0 = arch::nanotime();
    for tick in 1..=10 {
        sched::sleep(50_000_000);
        println!(
            "tick {tick} at {} ms: the hog has spun {} times and was preempted {} times",
            (arch::nanotime() - t0) / 1_000_000,
            spins.load(Ordering::Relaxed),
            (0..sched::gomaxprocs_now())
                .map(|id| sched::p::allp(id).map_or(0, |p| p.stats.preemptions.load(Ordering::Relaxed)))
                .sum::<u64>()
        );
    }
    println!("hog: the ticker kept ticking next to a goroutine that never yields");
    true
}

fn steal() -> bool {
    static TRACE: AtomicBool = AtomicBool::new(false);
    if !TRACE.swap(true, Ordering::Relaxed) {
        crate::sched_trace::start(100);
    }
    let wg = Arc::new(WaitGroup::new());
    for burst in 0..3 {
        println!("steal: burst {burst}: 2000 goroutines made on one P");
        wg.add(2000);
        for i in 0..2000u64 {
            let wg = wg.clone();
            sched::go(move || {
                let until = arch::nanotime() + 100_000 + i % 7 * 10_000;
                while arch::nanotime() < until {
                    core::hint::spin_loop();
                }
                wg.done();
            });
        }
        wg.wait();
        sched::sleep(150_000_000);
    }
    println!("steal: done; the per-P 'stolen' counters show the other Ps took work");
    true
}

/// Go's concurrent prime sieve: `generate` sends 2, 3, 4, ...; each prime
/// found starts a `filter` goroutine that drops its multiples.
fn sieve() -> bool {
    const N: usize = 100;
    fn generate(ch: Chan<u64>) {
        for i in 2.. {
            ch.send(i);
        }
    }
    fn filter(input: Chan<u64>, output: Chan<u64>, prime: u64) {
        loop {
            let i = input.recv().expect("the sieve never closes its channels");
            if !i.is_multiple_of(prime) {
                output.send(i);
            }
        }
    }
    let t0 = arch::nanotime();
    let mut ch = Chan::new(0);
    let gen = ch.clone();
    sched::go(move || generate(gen));
    let mut primes = alloc::vec::Vec::with_capacity(N);
    for _ in 0..N {
        let prime = ch.recv().expect("open");
        primes.push(prime);
        let next = Chan::new(0);
        let (input, output) = (ch, next.clone());
        sched::go(move || filter(input, output, prime));
        ch = next;
    }
    for row in primes.chunks(10) {
        let line: alloc::vec::Vec<alloc::string::String> = row.iter().map(|p| alloc::format!("{p:4}")).collect();
        println!("{}", line.join(" "));
    }
    println!(
        "sieve: the first {N} primes through {} goroutines in {} ms; the last is {}",
        sched::num_goroutine(),
        (arch::nanotime() - t0) / 1_000_000,
        primes[N - 1]
    );
    primes[N - 1] == 541
}
