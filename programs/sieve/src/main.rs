//! sieve: Go's concurrent prime sieve. `generate` sends 2, 3, 4, ...; each
//! prime found starts a `filter` goroutine that drops its multiples, so the
//! channels form a chain of goroutines, one per prime.
//!
//! `./x run sieve --cpus 2`
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use gort::chan::Chan;
use gort::println;
use gort::time;

const N: usize = 100;

/// Sends 2, 3, 4, ... to `ch`.
fn generate(ch: Chan<u64>) {
    for i in 2.. {
        ch.send(i);
    }
}

/// Copies what arrives on `input` to `output`, but not the multiples of `prime`.
fn filter(input: Chan<u64>, output: Chan<u64>, prime: u64) {
    for i in input.iter() {
        if !i.is_multiple_of(prime) {
            output.send(i);
        }
    }
}

#[gort::main]
fn main() {
    let start = time::now();
    let mut ch = Chan::new(0);
    let gen = ch.clone();
    gort::go(move || generate(gen));
    let mut primes = Vec::with_capacity(N);
    for _ in 0..N {
        let prime = ch.recv().unwrap();
        primes.push(prime);
        let next = Chan::new(0);
        let (input, output) = (ch, next.clone());
        gort::go(move || filter(input, output, prime));
        ch = next;
    }
    for row in primes.chunks(10) {
        let line: Vec<String> = row.iter().map(|p| alloc::format!("{p:4}")).collect();
        println!("{}", line.join(" "));
    }
    println!(
        "sieve: the first {N} primes through {} goroutines in {} ms; the last is {}",
        gort::runtime::num_goroutine(),
        start.elapsed().as_millis(),
        primes[N - 1]
    );
    assert_eq!(primes[N - 1], 541, "the 100th prime");
}
