//! The select programs of `$GOROOT/test/chan/` other than select3 and
//! select4: `select.go`, `select2.go`, `select6.go`, `select7.go` and
//! `doubleselect.go`.
//!
//! ## select.go: send values, nil cases and default
//! `Send(a, b)` loops over a select that sends `GetValue()` (1 << shift,
//! counting calls) to `a` or `b`, sets the channel that took a value to nil,
//! and stops at `default`. Every send expression is evaluated on every pass,
//! nil channel or not, so after `Send(a, b)` (two values, three passes) and
//! `Send(a, nil)` (one value, two passes) `GetValue` ran exactly 10 times;
//! the two values received must OR to 3. Ported as is: `select!` evaluates
//! each case's value before choosing, as Go does.
//!
//! ## select2.go: "Test that selects do not consume undue memory."
//! 100,000 selects receive from a sender goroutine (a warm-up round), then
//! 100,000 more; after the second round the heap must not have grown by
//! more than 1.1e5 bytes (Go's `memstats.Alloc > alloc && memstats.Alloc -
//! alloc > 1.1e5`, which prints `BUG: too much memory for 100,000 selects`).
//! Differs from Go: there is no garbage collector yet, so `runtime.GC()` has
//! nothing to do and `runtime.ReadMemStats`' `Alloc` is the kernel heap's
//! bytes in use (`arch::heap::stats().0`): without a collector, anything a
//! select allocated and did not free would stay there. As in Go, the
//! round's sender may or may not have exited when the heap is read (a
//! goroutine's few hundred bytes either way). The threshold is Go's; the
//! heap before and after is printed.
//!
//! ## select6.go: Go issue 2075
//! A bug in select corrupted the queues of the cases that lost, when the
//! select was the last of several waiters: later waiters on `c1` never
//! woke. Ported line for line; the bug shows as a hang (the deadlock
//! detector's report, or the boot's timeout).
//!
//! ## select7.go: "Test select when discarding a value."
//! Every pairing of three senders (`c <- 1`, a one-case select, a select
//! with a second idle channel) with three receivers of the same three
//! shapes, each receiver a fresh goroutine that discards the value.
//!
//! ## doubleselect.go: two cases of one select must never both run
//! A sender puts 0..n-1, each on one of four unbuffered channels through a
//! four-case select; four `mux` goroutines forward them onto one channel,
//! whose receiver must never see a value twice. Go's `n` is 100,000
//! (`flag -n`); so is ours. Go sets `GOMAXPROCS(2)` for the program; the
//! port does too and restores the boot's value afterwards (so with
//! `GOMAXPROCS=1` it runs on two Ps, as Go's does). Go's `map[int]bool` of
//! seen values is a `Vec<bool>` indexed by value (values are 0..n); the
//! port also checks that all n values arrived, which Go does not.
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use core::cell::Cell;

use runtime::chan::Chan;
use runtime::{sched, select};

use super::{Check, Outcome};
use crate::arch;

/// select.go's `GetValue` and its globals `counter` and `shift`.
struct Values {
    counter: Cell<u32>,
    shift: Cell<u32>,
}

impl Values {
    fn get_value(&self) -> u32 {
        self.counter.set(self.counter.get() + 1);
        1 << self.shift.get()
    }
}

/// select.go's `Send`: how many values went out before `default` ran.
fn send(v: &Values, mut a: Chan<u32>, mut b: Chan<u32>) -> i32 {
    let mut i = 0;
    'outer: loop {
        select! {
            send(a, v.get_value()) => {
                i += 1;
                a = Chan::nil();
            },
            send(b, v.get_value()) => {
                i += 1;
                b = Chan::nil();
            },
            default => break 'outer,
        }
        v.shift.set(v.shift.get() + 1);
    }
    i
}

/// select.go's `main`.
pub fn select(_: &Arc<Check>) -> Outcome {
    let v = Values { counter: Cell::new(0), shift: Cell::new(0) };
    let a = Chan::new(1);
    let b = Chan::new(1);
    let n = send(&v, a.clone(), b.clone());
    if n != 2 {
        return Err(format!("Send returned {n} != 2"));
    }
    let (av, bv) = (a.recv().unwrap_or(0), b.recv().unwrap_or(0));
    if av | bv != 3 {
        return Err(format!("bad values {av} {bv}"));
    }
    let n = send(&v, a, Chan::nil());
    if n != 1 {
        return Err(format!("Send returned {n} != 1"));
    }
    if v.counter.get() != 10 {
        return Err(format!("counter is {} != 10", v.counter.get()));
    }
    Ok(format!("GetValue called {} times", v.counter.get()))
}

/// select2.go's `sender`.
fn sender(c: Chan<i32>, n: usize) {
    for _ in 0..n {
        c.send(1);
    }
}

/// select2.go's `receiver`.
fn receiver(ck: &Check, c: &Chan<i32>, dummy: &Chan<i32>, n: usize) {
    for _ in 0..n {
        select! {
            recv(c) -> _ => {},
            recv(dummy) -> _ => ck.fail(format_args!("dummy")),
        }
    }
}

/// select2.go's `main`.
pub fn select2(ck: &Arc<Check>) -> Outcome {
    const N: usize = 100_000;
    let c = Chan::new(0);
    let dummy = Chan::new(0);
    let t0 = arch::nanotime();

    // Warm up.
    let tx = c.clone();
    sched::go(move || sender(tx, N));
    receiver(ck, &c, &dummy, N);
    let alloc = arch::heap::stats().0;

    // Second time shouldn't increase footprint by much.
    let tx = c.clone();
    sched::go(move || sender(tx, N));
    receiver(ck, &c, &dummy, N);
    let now = arch::heap::stats().0;
    let ns = (arch::nanotime() - t0) / (2 * N as u64);
    if now > alloc && now - alloc > 110_000 {
        return Err(format!("BUG: too much memory for 100,000 selects: {}", now - alloc));
    }
    Ok(format!("heap {alloc} -> {now} bytes over {N} selects, {ns} ns per select"))
}

/// select6.go's `main`.
pub fn select6(ck: &Arc<Check>) -> Outcome {
    let c1 = Chan::<bool>::new(0);
    let c2 = Chan::<bool>::new(0);
    let c3 = Chan::<bool>::new(0);
    let r = c1.clone();
    sched::go(move || {
        r.recv();
    });
    let (r1, r2, s3, ck) = (c1.clone(), c2.clone(), c3.clone(), ck.clone());
    sched::go(move || {
        select! {
            recv(r1) -> _ => ck.fail(format_args!("dummy")),
            recv(r2) -> _ => s3.send(true),
        }
        r1.recv();
    });
    let s2 = c2.clone();
    sched::go(move || s2.send(true));
    c3.recv();
    c1.send(true);
    c1.send(true);
    Ok(String::from("both waiters on c1 woke"))
}

/// A select7.go receiver (`func(<-chan int)`).
type Receiver = fn(Chan<i32>);

/// select7.go's receivers.
fn recv1(c: Chan<i32>) {
    c.recv();
}

fn recv2(c: Chan<i32>) {
    select! {
        recv(c) -> _ => {},
    }
}

fn recv3(c: Chan<i32>) {
    let c2 = Chan::<i32>::new(0);
    select! {
        recv(c) -> _ => {},
        recv(c2) -> _ => {},
    }
}

/// select7.go's senders.
fn send1(recv: Receiver) {
    let c = Chan::new(0);
    let r = c.clone();
    sched::go(move || recv(r));
    sched::gosched();
    c.send(1);
}

fn send2(recv: Receiver) {
    let c = Chan::new(0);
    let r = c.clone();
    sched::go(move || recv(r));
    sched::gosched();
    select! {
        send(c, 1) => {},
    }
}

fn send3(recv: Receiver) {
    let c = Chan::new(0);
    let r = c.clone();
    sched::go(move || recv(r));
    sched::gosched();
    let c2 = Chan::new(0);
    select! {
        send(c, 1) => {},
        send(c2, 1) => {},
    }
}

/// select7.go's `main`.
pub fn select7(_: &Arc<Check>) -> Outcome {
    let senders: [fn(Receiver); 3] = [send1, send2, send3];
    let receivers: [Receiver; 3] = [recv1, recv2, recv3];
    for recv in receivers {
        for send in senders {
            send(recv);
        }
    }
    Ok(String::from("9 sender/receiver pairings"))
}

/// doubleselect.go's `sender`: each value to one of four channels.
fn ds_sender(n: i64, c1: Chan<i64>, c2: Chan<i64>, c3: Chan<i64>, c4: Chan<i64>) {
    for i in 0..n {
        select! {
            send(c1, i) => {},
            send(c2, i) => {},
            send(c3, i) => {},
            send(c4, i) => {},
        }
    }
    // Go's deferred closes run in reverse order.
    c4.close();
    c3.close();
    c2.close();
    c1.close();
}

/// doubleselect.go's `mux`: forwards `input` onto `out`.
fn mux(out: Chan<i64>, input: Chan<i64>, done: Chan<bool>) {
    for v in &input {
        out.send(v);
    }
    done.send(true);
}

/// doubleselect.go's `recver`: checks for duplicates; returns how many
/// distinct values arrived.
fn recver(ck: &Check, input: &Chan<i64>, n: i64) -> i64 {
    let mut seen = vec![false; n as usize];
    let mut distinct = 0;
    for v in input {
        match seen.get_mut(v as usize) {
            Some(true) => ck.fail(format_args!("got duplicate value: {v}")),
            Some(s) => {
                *s = true;
                distinct += 1;
            }
            None => ck.fail(format_args!("got value {v}, never sent")),
        }
    }
    distinct
}

/// doubleselect.go's `main`.
pub fn doubleselect(ck: &Arc<Check>) -> Outcome {
    let iterations = 100_000;
    let procs = sched::gomaxprocs(2);
    let [c1, c2, c3, c4] = [(); 4].map(|_| Chan::new(0));
    let done = Chan::new(0);
    let cmux = Chan::new(0);
    let (s1, s2, s3, s4) = (c1.clone(), c2.clone(), c3.clone(), c4.clone());
    sched::go(move || ds_sender(iterations, s1, s2, s3, s4));
    for c in [c1, c2, c3, c4] {
        let (out, d) = (cmux.clone(), done.clone());
        sched::go(move || mux(out, c, d));
    }
    let (d, m) = (done.clone(), cmux.clone());
    sched::go(move || {
        for _ in 0..4 {
            d.recv();
        }
        m.close();
    });
    // We keep the recver because it might catch more bugs in the future.
    let distinct = recver(ck, &cmux, iterations);
    sched::gomaxprocs(procs);
    if distinct != iterations {
        return Err(format!("{distinct} distinct values of {iterations} arrived"));
    }
    Ok(format!("{iterations} values, no duplicates, on {} Ps", 2.min(sched::num_cpu())))
}
