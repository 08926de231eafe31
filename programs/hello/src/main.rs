//! hello: goroutines on every CPU, talking over channels.
//!
//! `./x run hello --cpus 4`
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use gort::chan::Chan;
use gort::println;
use gort::time::{self, Duration};

#[gort::main]
fn main() {
    println!("hello, world: {} CPUs, GOMAXPROCS={}", gort::runtime::num_cpu(), gort::runtime::gomaxprocs(0));

    // Each worker sums a slice of 1..=n and sends its part back.
    let workers = 2 * gort::runtime::num_cpu() as u64;
    let n = 1_000_000u64;
    let parts = Chan::new(0);
    for w in 0..workers {
        let parts = parts.clone();
        gort::go(move || {
            let sum: u64 = (1..=n).filter(|i| i % workers == w).sum();
            parts.send((w, sum));
        });
    }
    let start = time::now();
    let mut results: Vec<(u64, u64)> = (0..workers).map(|_| parts.recv().unwrap()).collect();
    results.sort();
    for (w, sum) in &results {
        println!("worker {w}: {sum}");
    }
    let total: u64 = results.iter().map(|(_, s)| s).sum();
    println!("sum of 1..={n} = {total} (want {}), gathered in {:?}", n * (n + 1) / 2, time::since(start));

    // A ping-pong: two goroutines hand a counter back and forth.
    let (ping, pong) = (Chan::new(0), Chan::new(0));
    let (ping2, pong2) = (ping.clone(), pong.clone());
    gort::go(move || {
        for v in ping2.iter() {
            pong2.send(v + 1);
        }
    });
    let mut v = 0;
    for _ in 0..1000 {
        ping.send(v);
        v = pong.recv().unwrap();
    }
    ping.close();
    println!("ping-pong: {v} hand-offs");
    time::sleep(Duration::from_millis(10));
    println!("goodbye");
}
