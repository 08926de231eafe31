//! Self-tests of the context switch and goroutine stacks (`test=switch`,
//! `test=stackgrow`, `test=gstackoverflow`).
//!
//! Each runs code on a goroutine stack from the arena, reached through
//! `context::switch`, the way the scheduler will run goroutines:
//! - `switch`: ping-pong between the boot context and a context on a fresh
//!   goroutine stack, 200,000 round trips, while the boot side keeps six
//!   values live across every switch (a lost callee-saved register would
//!   change the result); prints the cost of a round trip.
//! - `stackgrow`: deep recursion on a goroutine stack that starts with one
//!   mapped page grows it past 1 MiB through page faults; freeing the stack
//!   returns every grown page (after a TLB shootdown).
//! - `gstackoverflow`: unbounded recursion runs into the guard page: the
//!   clean `fatal error: stack overflow`.
//! - `freedstack`: a write into a freed stack (below the top page, which is
//!   kept for reuse) is reported as the use of a freed goroutine stack.
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::context::{self, Context};
use crate::arch::{self, memory, stack, tlb};
use crate::println;

/// What the two sides of a test share; the goroutine side gets its address.
struct Pair {
    boot: Context,
    goroutine: Context,
    count: u64,
    lowest_sp: u64,
    depth: u64,
}

impl Pair {
    fn new() -> Pair {
        Pair { boot: Context::default(), goroutine: Context::default(), count: 0, lowest_sp: u64::MAX, depth: 0 }
    }

    /// Runs the goroutine side until it switches back.
    fn resume(&mut self) {
        let (boot, goroutine) = (&raw mut self.boot, &raw const self.goroutine);
        // SAFETY: `goroutine` is suspended (made by `Context::new` or saved by
        // its last switch back); `boot` stays valid until it resumes us.
        unsafe { context::switch(&mut *boot, &*goroutine) };
    }

    /// From the goroutine side: back to the boot side.
    fn yield_back(&mut self) {
        let (goroutine, boot) = (&raw mut self.goroutine, &raw const self.boot);
        // SAFETY: the boot side is suspended in `resume`.
        unsafe { context::switch(&mut *goroutine, &*boot) };
    }
}

extern "C" fn ping(arg: usize) -> ! {
    // SAFETY: `arg` is the address of the test's `Pair`, which outlives this
    // context (the test never resumes it after it returns).
    let pair = unsafe { &mut *(arg as *mut Pair) };
    loop {
        pair.count += 1;
        pair.yield_back();
    }
}

/// Six values that stay live across whatever `step` does between updates.
fn churn(n: u64, mut step: impl FnMut()) -> [u64; 6] {
    let (mut a, mut b, mut c, mut d, mut e, mut f) = (1u64, 2u64, 3u64, 4u64, 5u64, 6u64);
    for i in 0..n {
        step();
        a = a.wrapping_mul(31).wrapping_add(i);
        b ^= a;
        c = c.wrapping_add(b & 0xff);
        d = d.rotate_left(3) ^ c;
        e = e.wrapping_add(d);
        f ^= e.rotate_right(7);
    }
    core::hint::black_box([a, b, c, d, e, f])
}

pub fn switch() -> bool {
    const N: u64 = 200_000;
    let stack = stack::alloc();
    let mut pair = Pair::new();
    // SAFETY: the top page of a fresh arena stack is mapped and ours.
    pair.goroutine = unsafe { Context::new(stack.top, ping, &raw mut pair as usize) };
    let t0 = arch::nanotime();
    let with = churn(N, || pair.resume());
    let ns = arch::nanotime() - t0;
    let without = churn(N, || {});
    println!(
        "switch: {} round trips, {} ns each, registers {}",
        pair.count,
        ns / N,
        if with == without { "intact" } else { "CORRUPTED" }
    );
    // The ping side never grew past its first page: freeing it must need no
    // page-table work and no TLB shootdown (goroutine exit is a hot path).
    let (shootdowns, returned) = (tlb::count(), stack::stats().1);
    stack::free(stack);
    let cheap = tlb::count() == shootdowns && stack::stats().1 == returned;
    println!("switch: freeing an ungrown stack {}", if cheap { "took no shootdown" } else { "SHOT DOWN" });
    with == without && pair.count == N && cheap
}

static FRAME_SINK: AtomicU64 = AtomicU64::new(0);

/// Recurses with 1 KiB frames until `pair.depth` levels deep, recording the
/// lowest stack pointer reached.
#[inline(never)]
fn recurse(pair: &mut Pair, level: u64) {
    let mut frame = [level; 128];
    core::hint::black_box(&mut frame);
    pair.lowest_sp = pair.lowest_sp.min(frame.as_ptr() as u64);
    if level < pair.depth {
        recurse(pair, level + 1);
    }
    FRAME_SINK.fetch_add(frame[(level % 128) as usize], Ordering::Relaxed);
}

extern "C" fn deep(arg: usize) -> ! {
    // SAFETY: as in `ping`.
    let pair = unsafe { &mut *(arg as *mut Pair) };
    recurse(pair, 0);
    loop {
        pair.yield_back();
    }
}

pub fn stackgrow() -> bool {
    let stack = stack::alloc();
    let (grown0, returned0) = stack::stats();
    let shootdowns0 = tlb::count();
    let free0 = memory::free_frames();
    let mut pair = Pair::new();
    pair.depth = 1100; // > 1 MiB of 1 KiB frames
                       // SAFETY: as in `switch`.
    pair.goroutine = unsafe { Context::new(stack.top, deep, &raw mut pair as usize) };
    pair.resume();
    let used = stack.top - pair.lowest_sp;
    let grown = stack::stats().0 - grown0;
    stack::free(stack);
    let returned = stack::stats().1 - returned0;
    let free1 = memory::free_frames();
    println!(
        "stackgrow: grew to {} KiB ({} page faults, reservation {} KiB); free returned {} pages, {} TLB shootdown(s); \
         free frames {} -> {}",
        used / 1024,
        grown,
        stack::reservation() / 1024,
        returned,
        tlb::count() - shootdowns0,
        free0,
        free1
    );
    // Page-table pages made for the new mappings stay; everything else returns.
    used >= 1 << 20 && grown >= used / 4096 - 1 && returned == grown && free0 - free1 <= 4
}

extern "C" fn unbounded(arg: usize) -> ! {
    // SAFETY: as in `ping`.
    let pair = unsafe { &mut *(arg as *mut Pair) };
    pair.depth = u64::MAX;
    recurse(pair, 0);
    loop {
        pair.yield_back();
    }
}

pub fn gstackoverflow() -> bool {
    let stack = stack::alloc();
    println!("gstackoverflow: recursing without bound on goroutine stack slot {}", stack.slot);
    let mut pair = Pair::new();
    // SAFETY: as in `switch`.
    pair.goroutine = unsafe { Context::new(stack.top, unbounded, &raw mut pair as usize) };
    pair.resume();
    false
}

pub fn freedstack() -> bool {
    let stack = stack::alloc();
    stack::free(stack);
    let addr = stack.top - 3 * 4096;
    println!("freedstack: writing into freed goroutine stack slot {} at {addr:#x}", stack.slot);
    // SAFETY: not safe: the point is that the write faults, fatally.
    unsafe { core::ptr::write_volatile(addr as *mut u64, 1) };
    false
}
