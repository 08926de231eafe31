//! Channel, sync and timer scenarios (the table in `main.rs` lists them),
//! run in the main goroutine; `tests/tests/chan.rs` asserts on their lines
//! and verdicts. Each function's doc says what it proves.
//!
//! Data the rules order is written and read with `Relaxed` atomics: only
//! the channel or lock operation can make the write visible to the reader
//! in time, and the checks also catch a runtime that completes an operation
//! too early (an unbuffered send that returns before its receiver took the
//! value, say).
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;

use runtime::chan::Chan;
use runtime::sched::{self, WaitGroup};
use runtime::select;
use runtime::sync::{Mutex, RawMutex, RawRwMutex};
use runtime::time::after;

use crate::arch;
use crate::println;

/// `test=mutexmisuse`: unlocking an unlocked mutex is Go's fatal error
/// `sync: unlock of unlocked mutex`; never returns.
pub fn mutexmisuse() -> bool {
    RawMutex::new().unlock();
    false
}

/// `test=rwmisuse`: `sync: RUnlock of unlocked RWMutex`, as Go's fatal error.
pub fn rwmisuse() -> bool {
    RawRwMutex::new().runlock();
    false
}

/// `test=wgnegative`: Go's panic `sync: negative WaitGroup counter`.
pub fn wgnegative() -> bool {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.add(-2);
    false
}

/// A small xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const ROUNDS: u64 = 2000;

/// `test=memmodel`: each happens-before rule of Go's memory model
/// (https://go.dev/ref/mem) for channels, mutexes and WaitGroups, one at a
/// time, thousands of times across CPUs.
pub fn memmodel() -> bool {
    type Rule = (&'static str, fn() -> u64);
    let rules: [Rule; 6] = [
        ("a send happens before the matching receive completes", send_before_receive),
        ("a receive from an unbuffered channel happens before the send completes", receive_before_unbuffered_send),
        ("closing a channel happens before a receive that returns because it is closed", close_before_receive),
        ("the k-th receive on a channel of capacity C happens before the (k+C)-th send completes", kth_receive),
        ("unlocking a mutex happens before the next lock returns", unlock_before_lock),
        ("WaitGroup.Done happens before the Wait it releases returns", done_before_wait),
    ];
    let mut ok = true;
    for (rule, check) in rules {
        let bad = check();
        println!("memmodel: {rule}: {bad} violations in {ROUNDS} rounds");
        ok &= bad == 0;
    }
    ok
}

fn send_before_receive() -> u64 {
    let data = Arc::new(AtomicU64::new(0));
    let c = Chan::<u64>::new(0);
    let (d2, c2) = (data.clone(), c.clone());
    sched::go(move || {
        for k in 1..=ROUNDS {
            d2.store(k, Ordering::Relaxed);
            c2.send(k);
        }
    });
    // The sender may already have written the next round's value, never an
    // older one.
    (1..=ROUNDS).filter(|_| c.recv().is_none_or(|k| data.load(Ordering::Relaxed) < k)).count() as u64
}

fn receive_before_unbuffered_send() -> u64 {
    let data = Arc::new(AtomicU64::new(0));
    let c = Chan::<u64>::new(0);
    let (d2, c2) = (data.clone(), c.clone());
    sched::go(move || {
        for k in 1..=ROUNDS {
            // Spin a little so that the sender is often parked first.
            for _ in 0..k % 64 {
                core::hint::spin_loop();
            }
            d2.store(k, Ordering::Relaxed);
            c2.recv();
        }
    });
    let mut bad = 0;
    for k in 1..=ROUNDS {
        c.send(k);
        bad += (data.load(Ordering::Relaxed) < k) as u64; // (or already the next round's)
    }
    bad
}

fn close_before_receive() -> u64 {
    let mut bad = 0;
    for k in 1..=ROUNDS / 10 {
        let data = Arc::new(AtomicU64::new(0));
        let c = Chan::<u64>::new(0);
        let (d2, c2) = (data.clone(), c.clone());
        sched::go(move || {
            d2.store(k, Ordering::Relaxed);
            c2.close();
        });
        bad += (c.recv().is_some() || data.load(Ordering::Relaxed) != k) as u64;
    }
    bad
}

fn kth_receive() -> u64 {
    const C: u64 = 3;
    let slots: Arc<Vec<AtomicU64>> = Arc::new((0..ROUNDS).map(|_| AtomicU64::new(0)).collect());
    let c = Chan::<u64>::new(C as usize);
    let (s2, c2) = (slots.clone(), c.clone());
    sched::go(move || {
        // The k-th receive follows a write for round k.
        for k in 0..ROUNDS {
            s2[k as usize].store(k + 1, Ordering::Relaxed);
            c2.recv();
        }
    });
    let mut bad = 0;
    for n in 0..ROUNDS {
        c.send(n);
        // The (k+C)-th send (1-based) has completed: the k-th receive happened.
        if n + 1 > C {
            let k = n + 1 - C - 1;
            bad += (slots[k as usize].load(Ordering::Relaxed) != k + 1) as u64;
        }
    }
    bad
}

fn unlock_before_lock() -> u64 {
    // A counter updated with a plain load and store (no RMW) under the mutex.
    let m = Arc::new(Mutex::new(()));
    let counter = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    let per = ROUNDS * 5;
    for _ in 0..8 {
        let (m, counter) = (m.clone(), counter.clone());
        wg.go(move || {
            for _ in 0..per {
                let _g = m.lock();
                let v = counter.load(Ordering::Relaxed);
                counter.store(v + 1, Ordering::Relaxed);
            }
        });
    }
    wg.wait();
    8 * per - counter.load(Ordering::Relaxed)
}

fn done_before_wait() -> u64 {
    let mut bad = 0;
    for round in 0..ROUNDS / 20 {
        let slots: Arc<Vec<AtomicU64>> = Arc::new((0..16).map(|_| AtomicU64::new(0)).collect());
        let wg = Arc::new(WaitGroup::new());
        for i in 0..16 {
            let slots = slots.clone();
            wg.go(move || slots[i].store(round + 1, Ordering::Relaxed));
        }
        wg.wait();
        bad += slots.iter().filter(|s| s.load(Ordering::Relaxed) != round + 1).count() as u64;
    }
    bad
}

/// `test=chanstress`: producers and consumers over buffered and unbuffered
/// channels, consumers selecting over both with a timeout: every value
/// exactly once, in order per producer; a mutex-protected counter is exact;
/// then the goroutine count must return to where it started.
pub fn chanstress() -> bool {
    const PRODUCERS: u64 = 8;
    const PER: u64 = 3000;
    const CONSUMERS: usize = 6;
    let baseline = sched::num_goroutine();
    let t0 = arch::nanotime();
    let buffered = Chan::<(u64, u64)>::new(16);
    let unbuffered = Chan::<(u64, u64)>::new(0);
    let counter = Arc::new(Mutex::new(0u64));
    let producers = Arc::new(WaitGroup::new());
    for p in 0..PRODUCERS {
        let (b, u, counter) = (buffered.clone(), unbuffered.clone(), counter.clone());
        producers.go(move || {
            let mut rng = Rng(p * 7919 + 1);
            for i in 0..PER {
                // Each producer alternates at random between the channels,
                // and between a plain send and a select with a timeout.
                let out = if rng.next().is_multiple_of(2) { &b } else { &u };
                if rng.next().is_multiple_of(4) {
                    // On a timeout the select drops its value: send it again.
                    while !select! {
                        send(out, (p, i)) => true,
                        recv(after(Duration::from_millis(2))) -> _t => false,
                    } {}
                } else {
                    out.send((p, i));
                }
                *counter.lock() += 1;
            }
        });
    }
    let done = Chan::<()>::new(0);
    // What each consumer got, per channel (0 buffered, 1 unbuffered): order
    // per producer holds within one channel, not across the two.
    let results = Chan::<(Vec<(usize, u64, u64)>, u64)>::new(CONSUMERS);
    for _ in 0..CONSUMERS {
        let (b, u, done, results) = (buffered.clone(), unbuffered.clone(), done.clone(), results.clone());
        sched::go(move || {
            let mut got = Vec::new();
            let mut timeouts = 0;
            loop {
                select! {
                    recv(b) -> v => { let (p, i) = v.expect("never closed"); got.push((0, p, i)) },
                    recv(u) -> v => { let (p, i) = v.expect("never closed"); got.push((1, p, i)) },
                    recv(after(Duration::from_millis(1))) -> _t => timeouts += 1,
                    recv(done) -> _v => break,
                }
            }
            results.send((got, timeouts));
        });
    }
    producers.wait();
    // Every value was taken by a consumer (the sends completed, the
    // buffered ones may still sit in the buffer): drain-then-stop.
    while !buffered.is_empty() {
        sched::gosched();
    }
    done.close();
    let mut seen = vec![vec![false; PER as usize]; PRODUCERS as usize];
    let (mut dups, mut disorder, mut total, mut timeouts) = (0u64, 0u64, 0u64, 0u64);
    for _ in 0..CONSUMERS {
        let (got, t) = results.recv().expect("open");
        timeouts += t;
        let mut last = vec![[None::<u64>; 2]; PRODUCERS as usize];
        for (ch, p, i) in got {
            total += 1;
            dups += core::mem::replace(&mut seen[p as usize][i as usize], true) as u64;
            disorder += last[p as usize][ch].is_some_and(|l| l >= i) as u64;
            last[p as usize][ch] = Some(i);
        }
    }
    let missing = seen.iter().flatten().filter(|s| !**s).count() as u64;
    let count = *counter.lock();
    // Let the exiting goroutines finish exiting.
    let deadline = arch::nanotime() + 2_000_000_000;
    while sched::num_goroutine() > baseline && arch::nanotime() < deadline {
        sched::sleep(1_000_000);
    }
    let leaked = sched::num_goroutine() as i64 - baseline as i64;
    println!(
        "chanstress: {total} values from {PRODUCERS} producers to {CONSUMERS} consumers in {} ms: \
         {missing} missing, {dups} duplicated, {disorder} out of order; {timeouts} consumer timeouts; \
         counter {count} of {}; {leaked} goroutines leaked",
        (arch::nanotime() - t0) / 1_000_000,
        PRODUCERS * PER
    );
    missing == 0 && dups == 0 && disorder == 0 && count == PRODUCERS * PER && leaked == 0
}

/// A runtime timer that sends the clock reading at which it fired.
struct Probe {
    rt: core::cell::UnsafeCell<sched::time::Timer>,
    c: Chan<u64>,
}

impl Probe {
    fn arm(when: u64) -> alloc::boxed::Box<Probe> {
        let probe = alloc::boxed::Box::new(Probe { rt: Default::default(), c: Chan::new(1) });
        // SAFETY: the box stays put and alive until the probe's value is
        // received, which is after it fired (the heap is done with it then).
        unsafe { sched::time::add_timer_here(probe.rt.get(), when, Probe::fire, &*probe as *const Probe as usize, 0) };
        probe
    }

    fn fire(arg: usize, _seq: u64) {
        // SAFETY: `arm` passed a live probe (see there); it stays alive
        // until the send below is received.
        let probe = unsafe { &*(arg as *const Probe) };
        // Our own handle: the receiver may drop the probe, and its handle,
        // while the send is still unlocking the channel.
        let c = probe.c.clone();
        let _ = c.try_send(arch::nanotime());
    }
}

/// `test=timerlate`: how late channel timers fire (p50, p99, max; none
/// early) while every CPU is busy: goroutines spin in bursts and exchange
/// values while 2,000 timers of 1–20 ms come due.
pub fn timerlate() -> bool {
    const TIMERS: usize = 2000;
    let stop = Arc::new(AtomicUsize::new(0));
    let load = Arc::new(WaitGroup::new());
    for _ in 0..sched::gomaxprocs_now() * 2 {
        let stop = stop.clone();
        load.go(move || {
            let c = Chan::<u64>::new(1);
            while stop.load(Ordering::Relaxed) == 0 {
                let until = arch::nanotime() + 200_000;
                while arch::nanotime() < until {
                    core::hint::spin_loop();
                }
                c.send(1);
                c.recv();
            }
        });
    }
    // Each timer goroutine records its deadline from just before arming a
    // runtime timer (the one under `after(d)`; a timer channel's value is
    // the time it was due, as Go's, so the probe records when it fired) and
    // checks the clock just after: a goroutine preempted in between (the
    // deadline it computed and the timer's own then differ) is left out and
    // counted, so lateness is the timer's, not the preemption's.
    let lateness = Chan::<Option<(i64, i64)>>::new(TIMERS);
    let timers = Arc::new(WaitGroup::new());
    for i in 0..TIMERS {
        let lateness = lateness.clone();
        timers.go(move || {
            let d = 1_000_000 + (Rng(i as u64 * 2654435761 + 1).next() % 19_000_000);
            let before = arch::nanotime();
            let probe = Probe::arm(before + d);
            let after_call = arch::nanotime();
            let fired = probe.c.recv().expect("the probe's channel is never closed");
            let received = arch::nanotime();
            let when = before + d;
            let sample =
                (after_call - before < 100_000).then(|| (fired as i64 - when as i64, received as i64 - when as i64));
            lateness.send(sample);
        });
    }
    timers.wait();
    stop.store(1, Ordering::Relaxed);
    load.wait();
    let samples: Vec<Option<(i64, i64)>> = (0..TIMERS).map(|_| lateness.recv().expect("open")).collect();
    let left_out = samples.iter().filter(|s| s.is_none()).count();
    let (mut fired, mut received): (Vec<i64>, Vec<i64>) = samples.into_iter().flatten().unzip();
    fired.sort_unstable();
    received.sort_unstable();
    let early = fired.iter().filter(|&&l| l < 0).count();
    let pct = |v: &[i64], p: usize| v[(v.len() * p / 100).min(v.len() - 1)] / 1000;
    println!(
        "timerlate: {} timers of 1-20 ms on {} busy CPUs: fired late by p50 {} us, p99 {} us, max {} us; \
         received late by p50 {} us, p99 {} us, max {} us; {early} early; {left_out} left out (preempted while arming)",
        fired.len(),
        sched::gomaxprocs_now(),
        pct(&fired, 50),
        pct(&fired, 99),
        fired[fired.len() - 1] / 1000,
        pct(&received, 50),
        pct(&received, 99),
        received[received.len() - 1] / 1000,
    );
    early == 0 && fired.len() >= TIMERS * 9 / 10
}
