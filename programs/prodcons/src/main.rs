//! prodcons: producers and consumers with select and timeouts. Three
//! producers at different speeds feed a buffered channel; two consumers
//! select between it, a quit channel and a 30 ms timeout; a ticker reports
//! progress; when the producers are done, closing `quit` stops the consumers.
//!
//! `./x run prodcons --cpus 2`
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;

use gort::chan::{select, Chan};
use gort::println;
use gort::sync::WaitGroup;
use gort::time::{self, after, Duration, Ticker};

const PER: u64 = 20;

#[gort::main]
fn main() {
    let jobs = Chan::<(u64, u64)>::new(4);
    let quit = Chan::<()>::new(0);
    let totals = Chan::<(u64, u64, u64)>::new(2);
    let producers = Arc::new(WaitGroup::new());
    for (p, pause_ms) in [(1u64, 5u64), (2, 12), (3, 40)] {
        let jobs = jobs.clone();
        producers.go(move || {
            for i in 0..PER {
                jobs.send((p, i));
                time::sleep(Duration::from_millis(pause_ms));
            }
            println!("producer {p}: sent {PER} jobs, one every {pause_ms} ms");
        });
    }
    for c in 1..=2u64 {
        let (jobs, quit, totals) = (jobs.clone(), quit.clone(), totals.clone());
        gort::go(move || {
            let (mut got, mut sum, mut timeouts) = (0, 0, 0);
            loop {
                select! {
                    recv(jobs) -> job => {
                        let (p, i) = job.unwrap();
                        got += 1;
                        sum += p * 100 + i;
                    },
                    recv(quit) -> _closed => break,
                    recv(after(Duration::from_millis(30))) -> _t => {
                        timeouts += 1;
                        println!("consumer {c}: no job for 30 ms");
                    },
                }
            }
            totals.send((got, sum, timeouts));
        });
    }

    let ticker = Ticker::new(Duration::from_millis(100));
    let done = Chan::<()>::new(0);
    let closer = done.clone();
    gort::go(move || {
        producers.wait();
        closer.close();
    });
    let start = time::now();
    loop {
        select! {
            recv(ticker.c) -> _t => println!("tick: {} ms, {} jobs queued", start.elapsed().as_millis(), jobs.len()),
            recv(done) -> _closed => break,
        }
    }
    ticker.stop();
    while !jobs.is_empty() {
        time::sleep(Duration::from_millis(1));
    }
    quit.close();

    let (mut got, mut sum) = (0, 0);
    for c in 1..=2 {
        let (g, s, t) = totals.recv().unwrap();
        println!("consumer {c}: {g} jobs, {t} timeouts");
        got += g;
        sum += s;
    }
    let want: u64 = (1..=3).map(|p| (0..PER).map(|i| p * 100 + i).sum::<u64>()).sum();
    println!("prodcons: {got} of {} jobs consumed, checksum {}", 3 * PER, if sum == want { "ok" } else { "WRONG" });
    assert!(got == 3 * PER && sum == want, "jobs were lost");
}
