//! steal: one goroutine makes bursts of work on its own P; the idle Ps wake
//! up and steal it. Watch it with the scheduler trace:
//!
//! `./x run steal --cpus 4 GODEBUG=schedtrace=100`
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
    for burst in 0..3 {
        println!("steal: burst {burst}: 2000 goroutines made on one P");
        wg.add(2000);
        for i in 0..2000u64 {
            let wg = wg.clone();
            gort::go(move || {
                // 100-160 us of work each.
                let until = time::now() + Duration::from_micros(100 + i % 7 * 10);
                while time::now().before(until) {
                    core::hint::spin_loop();
                }
                wg.done();
            });
        }
        wg.wait();
        time::sleep(Duration::from_millis(150));
    }
    println!("steal: done; the per-P 'stolen' counters show the other Ps took work");
}
