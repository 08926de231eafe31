//! A sampling CPU profiler (Go's `runtime.SetCPUProfileRate` and `pprof`'s
//! top view, on the console): `profilehz=N` samples every CPU's instruction
//! pointer N times a second, and the program's end prints the functions where
//! the samples fell, most first.
//!
//! ## How
//! 1. [`start`] allocates a sample buffer per online CPU and sets the period.
//! 2. The one-shot timer is the clock: while profiling, `arm` brings every
//!    deadline forward to at most one period away, so each CPU is
//!    interrupted at least that often, busy or idle. The scheduler already
//!    copes with a timer that fires early (it re-arms for its own deadline).
//! 3. The timer interrupt records the interrupted RIP and the first two
//!    return addresses of its frame-pointer chain in the CPU's buffer
//!    ([`sample`]): no locks (each CPU writes only its own).
//! 4. [`report`] (at exit) resolves every sample to its function with the
//!    kernel's symbol table and prints the top functions with their share,
//!    then the top call paths (function ← caller ← caller's caller).
//!    A CPU halted in the idle loop shows as the halt instruction's function.
//!
//! The timer is an ordinary interrupt, so it is taken only where interrupts
//! are on: time spent with them off (runtime locks, the switch) is charged
//! to the instruction that turns them back on (`machine_irq_restore`), and
//! the call paths say whose critical section it was.
//!
//! Samples past a buffer's end are counted, not kept. Under TCG the interrupt
//! costs a few microseconds, so rates above a few kHz distort what they
//! measure; 1000 (Go's default is 100) is a good start.
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::{backtrace, percpu, time};

/// Samples kept per CPU.
const CAP: usize = 1 << 18;

/// Nanoseconds between samples (0: not profiling).
static PERIOD_NS: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Buffer {
    /// Triples: RIP, return address, the caller's return address.
    samples: Vec<AtomicU64>,
    len: AtomicUsize,
}

static BUFFERS: [AtomicPtr<Buffer>; percpu::MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; percpu::MAX_CPUS];

/// Starts sampling every online CPU `hz` times a second. Boot CPU, once,
/// before the scheduler starts.
pub fn start(hz: u64) {
    for buffer in BUFFERS.iter().take(percpu::online_count()) {
        let b = alloc::boxed::Box::new(Buffer {
            samples: (0..3 * CAP).map(|_| AtomicU64::new(0)).collect(),
            len: AtomicUsize::new(0),
        });
        buffer.store(alloc::boxed::Box::leak(b), Ordering::Release);
    }
    PERIOD_NS.store(1_000_000_000 / hz.max(1), Ordering::Release);
}

/// The deadline to arm instead of `deadline` (0: none) while profiling.
#[inline]
pub fn clamp(deadline: u64) -> u64 {
    match PERIOD_NS.load(Ordering::Relaxed) {
        0 => deadline,
        period => {
            let next = time::nanotime() + period;
            if deadline == 0 {
                next
            } else {
                deadline.min(next)
            }
        }
    }
}

/// Records `rip` and its callers from `rbp` for this CPU (the timer
/// interrupt, interrupts off).
#[inline]
pub fn sample(rip: u64, rbp: u64) {
    if PERIOD_NS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let b = BUFFERS[percpu::cpu_id()].load(Ordering::Acquire);
    if b.is_null() {
        return;
    }
    // SAFETY: buffers are leaked, never freed; only this CPU appends to its own.
    let b = unsafe { &*b };
    let i = b.len.load(Ordering::Relaxed);
    match b.samples.get(3 * i..3 * i + 3) {
        Some(slots) => {
            let mut callers = [0u64; 2];
            let mut k = 0;
            backtrace::walk_some(rbp, 2, |ret| {
                callers[k] = ret;
                k += 1;
            });
            slots[0].store(rip, Ordering::Relaxed);
            slots[1].store(callers[0], Ordering::Relaxed);
            slots[2].store(callers[1], Ordering::Relaxed);
            b.len.store(i + 1, Ordering::Release);
        }
        None => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Prints the profile: the `top` functions by samples, with their share.
pub fn report(out: &mut dyn Write, top: usize) {
    let period = PERIOD_NS.swap(0, Ordering::AcqRel);
    if period == 0 {
        return;
    }
    let mut paths: Vec<[u64; 3]> = Vec::new();
    for buffer in &BUFFERS {
        let b = buffer.load(Ordering::Acquire);
        if b.is_null() {
            continue;
        }
        // SAFETY: as in `sample`; sampling has stopped (period 0).
        let b = unsafe { &*b };
        let n = b.len.load(Ordering::Acquire);
        for t in b.samples[..3 * n].chunks(3) {
            let f = |k: usize| match t[k].load(Ordering::Relaxed) {
                0 => 0,
                // A return address points after its call: look up `ret - 1`.
                pc => backtrace::function_start(if k == 0 { pc } else { pc - 1 }),
            };
            paths.push([f(0), f(1), f(2)]);
        }
    }
    let total = paths.len();
    let _ = writeln!(
        out,
        "profile: {total} samples at {} Hz ({} dropped); top functions:",
        1_000_000_000 / period,
        DROPPED.load(Ordering::Relaxed)
    );
    let mut funcs: Vec<[u64; 3]> = paths.iter().map(|p| [p[0], 0, 0]).collect();
    print_top(out, &mut funcs, total, top);
    let _ = writeln!(out, "profile: top call paths (function <- caller <- caller):");
    print_top(out, &mut paths, total, top);
}

/// Prints the `top` most frequent entries of `keys` with their share.
fn print_top(out: &mut dyn Write, keys: &mut [[u64; 3]], total: usize, top: usize) {
    keys.sort_unstable();
    let mut counts: Vec<(usize, [u64; 3])> = keys.chunk_by(|a, b| a == b).map(|c| (c.len(), c[0])).collect();
    counts.sort_unstable_by_key(|c| core::cmp::Reverse(c.0));
    for (n, path) in counts.into_iter().take(top) {
        let _ = write!(out, "profile: {:6} {:5.1}%  ", n, n as f64 * 100.0 / total.max(1) as f64);
        for (k, &pc) in path.iter().enumerate().filter(|&(_, &pc)| pc != 0) {
            if k > 0 {
                let _ = out.write_str(" <- ");
            }
            backtrace::write_function(out, pc);
        }
        let _ = writeln!(out);
    }
}
