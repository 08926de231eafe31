//! hog: a goroutine that never yields (`loop {}`) cannot starve the others:
//! the timer interrupt preempts it, and main keeps ticking on the same CPU.
//!
//! `./x run hog` (one CPU: the hog and main share it)
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use gort::println;
use gort::time::{self, Duration};

#[gort::main]
fn main() {
    let spins = Arc::new(AtomicU64::new(0));
    let hog = spins.clone();
    gort::go(move || loop {
        hog.fetch_add(1, Ordering::Relaxed);
    });
    let start = time::now();
    for tick in 1..=10 {
        time::sleep(Duration::from_millis(50));
        println!(
            "tick {tick} at {} ms: the hog has spun {} times",
            start.elapsed().as_millis(),
            spins.load(Ordering::Relaxed)
        );
    }
    println!("hog: the ticker kept ticking next to a goroutine that never yields");
}
