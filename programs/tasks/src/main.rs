//! tasks: two goroutines take turns printing, and a WaitGroup waits for both.
//!
//! `./x run tasks --cpus 2`
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;

use gort::println;
use gort::sync::WaitGroup;
use gort::time::{self, Duration};

#[gort::main]
fn main() {
    let wg = Arc::new(WaitGroup::new());
    wg.add(2);
    for task in 1..=2 {
        let wg = wg.clone();
        gort::go(move || {
            for i in 0..5 {
                println!("Task {task} running {i}");
                time::sleep(Duration::from_millis(10));
            }
            wg.done();
        });
    }
    wg.wait();
    println!("All tasks completed!");
}
