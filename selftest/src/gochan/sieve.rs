//! The two prime sieves of `$GOROOT/test/chan/`: `sieve1.go` and `sieve2.go`.
//! Both must produce the 25 primes below 100, in order.
//!
//! ## sieve1.go: "classical inefficient concurrent prime sieve"
//! `Generate` sends 2, 3, 4, ...; `Sieve` takes the first value of its
//! channel as a prime, passes it on, and puts a `Filter` goroutine that
//! drops that prime's multiples in front of the rest. A linear chain of
//! divisibility filters, equivalent to trial-dividing each n by all primes
//! p ≤ n. Ported line for line; `println(x, " != ", a[i]); panic("fail")`
//! becomes the FAIL line.
//!
//! ## sieve2.go: "Eratosthenesque and only considers odd candidates"
//! `odds()` generates 5, 7, 9, ...; for each prime p, `multiples(p)`
//! generates p², p²+2p, ...; one goroutine merges all the channels of
//! multiples through a heap ordered by each channel's head, giving the
//! composites in increasing order; another walks the odd candidates against
//! the composites and emits the primes, which feed back (through a proxy
//! with an unbounded buffer, so the feedback cannot deadlock) to start the
//! next channel of multiples. Sizes as in Go: buffers of 50 (`odds`,
//! `composites`), 10 (everything else), a proxy ring of 16 that doubles.
//!
//! Differs from Go: `container/heap` over `PeekChHeap` is
//! `alloc::collections::BinaryHeap` of [`PeekCh`] ordered by reversed head
//! (a min-heap, as Go's `Less` makes it); `container/ring` in `sendproxy`,
//! a circular list that is doubled when full, is a `VecDeque` of the same
//! initial size, which also doubles when full. Which of two channels with
//! equal heads the heap yields first may differ; both are consumed before
//! the merge moves on, so the output is the same.
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::format;
use alloc::sync::Arc;
use core::cmp::Ordering;

use runtime::chan::Chan;
use runtime::{sched, select};

use super::{Check, Outcome};

/// The primes below 100 (`a` in both programs' `main`).
const PRIMES: [i64; 25] =
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

/// Both programs' `main` loop over `a`.
fn expect_primes(primes: &Chan<i64>) -> Outcome {
    for &want in &PRIMES {
        let x = primes.recv().unwrap_or(0);
        if x != want {
            return Err(format!("{x} != {want}"));
        }
    }
    Ok(format!("the {} primes below 100, {} goroutines alive", PRIMES.len(), sched::num_goroutine()))
}

/// sieve1.go's `Generate`: send the sequence 2, 3, 4, ... to `ch`.
fn generate(ch: Chan<i64>) {
    for i in 2.. {
        ch.send(i);
    }
}

/// sieve1.go's `Filter`: copy the values from `input` to `out`, removing
/// those divisible by `prime`.
fn filter(input: Chan<i64>, out: Chan<i64>, prime: i64) {
    for i in &input {
        if i % prime != 0 {
            out.send(i);
        }
    }
}

/// sieve1.go's `Sieve`: daisy-chain `Filter` goroutines together.
fn sieve_chain(primes: Chan<i64>) {
    let mut ch = Chan::new(0);
    let gen = ch.clone();
    sched::go(move || generate(gen));
    loop {
        // Note that ch is different on each iteration.
        let Some(prime) = ch.recv() else { return };
        primes.send(prime);
        let ch1 = Chan::new(0);
        let (input, out) = (ch, ch1.clone());
        sched::go(move || filter(input, out, prime));
        ch = ch1;
    }
}

/// sieve1.go's `main`.
pub fn sieve1(_: &Arc<Check>) -> Outcome {
    let primes = Chan::new(0);
    let p = primes.clone();
    sched::go(move || sieve_chain(p));
    expect_primes(&primes)
}

/// sieve2.go's `odds`: a channel of odd numbers, starting from 5.
fn odds() -> Chan<i64> {
    let out = Chan::new(50);
    let o = out.clone();
    sched::go(move || {
        let mut n = 5;
        loop {
            o.send(n);
            n += 2;
        }
    });
    out
}

/// sieve2.go's `multiples`: the odd multiples of the prime `p`, from p*p.
fn multiples(p: i64) -> Chan<i64> {
    let out = Chan::new(10);
    let o = out.clone();
    sched::go(move || {
        let mut n = p * p;
        loop {
            o.send(n);
            n += 2 * p;
        }
    });
    out
}

/// sieve2.go's `PeekCh`: a channel and the value already taken from it.
struct PeekCh {
    head: i64,
    ch: Chan<i64>,
}

// `BinaryHeap` pops the greatest: reversing the order by head makes it
// Go's min-heap (`PeekChHeap.Less`).
impl Ord for PeekCh {
    fn cmp(&self, other: &Self) -> Ordering {
        other.head.cmp(&self.head)
    }
}

impl PartialOrd for PeekCh {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PeekCh {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head
    }
}

impl Eq for PeekCh {}

/// sieve2.go's `sendproxy`: a channel that forwards to `out` through an
/// expanding buffer, so that sending to it never blocks for long.
fn sendproxy(out: Chan<i64>) -> Chan<i64> {
    let proxy = Chan::new(10);
    let input = proxy.clone();
    sched::go(move || {
        // Go's ring of 16 that doubles when full.
        let mut buf: VecDeque<i64> = VecDeque::with_capacity(16);
        loop {
            // Buffer empty: disable output (a nil channel's case is never chosen).
            let (c, e) = match buf.front() {
                Some(&e) => (out.clone(), e),
                None => (Chan::nil(), 0),
            };
            select! {
                recv(input) -> e => buf.push_back(e.unwrap_or(0)),
                send(c, e) => {
                    buf.pop_front();
                },
            }
        }
    });
    proxy
}

/// Pops the channel with the least head, takes its next value as the new
/// head and pushes it back; returns the old head (the merge's next `min`).
fn advance(h: &mut BinaryHeap<PeekCh>) -> i64 {
    let mut minchan = h.pop().expect("the heap of multiples is never empty here");
    let min = minchan.head;
    minchan.head = minchan.ch.recv().unwrap_or(0);
    h.push(minchan);
    min
}

/// sieve2.go's `Sieve`: a channel of primes.
fn sieve_eratosthenes() -> Chan<i64> {
    // The output values.
    let out = Chan::new(10);
    out.send(2);
    out.send(3);
    // The channel of all composites to be eliminated in increasing order.
    let composites = Chan::new(50);
    // The feedback loop.
    let primes = Chan::new(10);
    primes.send(3);

    // Merge channels of multiples of `primes` into `composites`.
    let (primes_in, composites_out) = (primes.clone(), composites.clone());
    sched::go(move || {
        let mut h = BinaryHeap::new();
        let mut min = 15;
        loop {
            let m = multiples(primes_in.recv().unwrap_or(0));
            let head = m.recv().unwrap_or(0);
            while min < head {
                composites_out.send(min);
                min = advance(&mut h);
            }
            while min == head {
                min = advance(&mut h);
            }
            composites_out.send(head);
            let next = m.recv().unwrap_or(0);
            h.push(PeekCh { head: next, ch: m });
        }
    });

    // Sieve out `composites` from `candidates`.
    let o = out.clone();
    sched::go(move || {
        // In order to generate the nth prime we only need multiples of
        // primes ≤ sqrt(nth prime). Thus, the merging goroutine will
        // receive from `primes` much slower than this goroutine will send
        // to it, making the buffer accumulate and block this goroutine
        // from sending, causing a deadlock. The solution is to use a proxy
        // goroutine to do automatic buffering.
        let primes = sendproxy(primes);
        let candidates = odds();
        let mut p = candidates.recv().unwrap_or(0);
        loop {
            let c = composites.recv().unwrap_or(0);
            while p < c {
                primes.send(p);
                o.send(p);
                p = candidates.recv().unwrap_or(0);
            }
            if p == c {
                p = candidates.recv().unwrap_or(0);
            }
        }
    });
    out
}

/// sieve2.go's `main`.
pub fn sieve2(_: &Arc<Check>) -> Outcome {
    expect_primes(&sieve_eratosthenes())
}
