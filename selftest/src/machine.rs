//! Scenarios of the machine layer (see the table in `main.rs`): they run on
//! the bare machine, before the scheduler takes the CPUs over, and drive
//! the idle CPUs directly through posted calls ([`on_every_cpu`]).
//!
//! - `boot`: each CPU halts on its one-shot timer for 5 ms, re-arming it
//!   until `nanotime()` passes the deadline: it must fire, and not early.
//! - `ipi`: every CPU pings every other one (`PING_VECTOR`; the peer
//!   answers with `PONG_VECTOR`, the `testing` feature's handlers) and
//!   times the round trip; then one broadcast IPI that every other CPU must
//!   take, counted in the peers' memory (pongs sent at once coalesce).
//! - `nanotime`: two marks 2 s apart, one halt on the tickless timer between.
//! - `pagefault`, `divide`, `nx`, `panic`, `stackoverflow`: deliberate
//!   faults, each `#[inline(never)]` so the report's symbolized RIP and
//!   backtrace name it; they never return.
//! - `hang`: interrupts off, halted, forever: the runner's timeout.
//! - `hello` (the default): every CPU greets from its own idle loop.
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::hook::Hook;

use crate::arch::{self, apic, percpu, smp};
use crate::println;

/// `boot`: every CPU's one-shot timer fires, not early.
pub fn boot() -> bool {
    on_every_cpu(timer_check) == percpu::count()
}

/// `hello`: every CPU greets the console from its own idle loop (each CPU
/// runs code of its own); true if all did.
pub fn hello() -> bool {
    let greeted = on_every_cpu(|cpu| {
        let me = percpu::get(cpu);
        println!(
            "hello from cpu{cpu} (apic id {}), {} ms after boot",
            me.apic_id.load(Ordering::Relaxed),
            arch::nanotime() / 1_000_000
        );
        true
    });
    println!("hello: {greeted} of {} CPUs said hello", percpu::count());
    greeted == percpu::count()
}

/// `hang`: never finishes.
pub fn hang() -> bool {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// `stackoverflow`: an AP (CPU 1, or CPU 0 alone) recurses into its guard page.
pub fn stackoverflow() -> bool {
    let cpu = if percpu::count() > 1 { 1 } else { 0 };
    let done = smp::post_call(
        cpu,
        |_| {
            deliberate_stack_overflow(0);
        },
        0,
    );
    smp::wait_call(cpu, done);
    false
}

/// Runs `f(cpu)` on every online CPU in turn (CPU 0 directly); returns how many
/// returned true.
fn on_every_cpu(f: fn(usize) -> bool) -> usize {
    static OK: AtomicU64 = AtomicU64::new(0);
    static F: Hook<fn(usize) -> bool> = Hook::new();
    OK.store(0, Ordering::Relaxed);
    F.set(Some(f));
    let trampoline = |cpu: usize| {
        if F.get().is_some_and(|f| f(cpu)) {
            OK.fetch_add(1, Ordering::Relaxed);
        }
    };
    trampoline(0);
    for cpu in 1..percpu::count() {
        if percpu::get(cpu).online.load(Ordering::Acquire) {
            let done = smp::post_call(cpu, trampoline, cpu);
            smp::wait_call(cpu, done);
        }
    }
    OK.load(Ordering::Relaxed) as usize
}

/// Halts on this CPU's one-shot timer, re-arming it, until `nanotime()`
/// passes `deadline`; returns the halts taken.
fn sleep_until(deadline: u64) -> u64 {
    let mut halts = 0;
    loop {
        x86_64::instructions::interrupts::disable();
        if arch::nanotime() >= deadline {
            x86_64::instructions::interrupts::enable();
            return halts;
        }
        apic::arm_timer(deadline);
        // Atomic sti;hlt: the timer cannot fire between the check and the halt.
        arch::halt();
        halts += 1;
    }
}

fn timer_check(cpu: usize) -> bool {
    let me = percpu::this();
    let ticks = me.timer_ticks.load(Ordering::Relaxed);
    let start = arch::nanotime();
    let deadline = start + 5_000_000;
    let halts = sleep_until(deadline);
    let end = arch::nanotime();
    let fired = me.timer_ticks.load(Ordering::Relaxed) - ticks;
    let ok = fired >= 1 && end >= deadline;
    println!(
        "timer: cpu{cpu} one-shot for 5000 us woke after {} us ({} interrupt(s), {} halt(s)){}",
        (end - start) / 1000,
        fired,
        halts,
        if ok { "" } else { " FAILED" }
    );
    ok
}

const MAX: usize = percpu::MAX_CPUS;
static RTT: [[AtomicU64; MAX]; MAX] = [const { [const { AtomicU64::new(0) }; MAX] }; MAX];

/// Pings every other CPU from `me` and records each round trip (u64::MAX: lost).
fn ping_all(me: usize) {
    let mine = percpu::get(me);
    for (peer, slot) in RTT[me].iter().enumerate().take(percpu::count()) {
        if peer == me {
            continue;
        }
        let before = mine.pongs.load(Ordering::Acquire);
        let target = percpu::get(peer);
        target.ping_from.store(me as u32, Ordering::Release);
        let t0 = arch::nanotime();
        apic::send_ipi(target.apic_id.load(Ordering::Relaxed), apic::PING_VECTOR);
        let deadline = t0 + 1_000_000_000;
        while mine.pongs.load(Ordering::Acquire) == before && arch::nanotime() < deadline {
            core::hint::spin_loop();
        }
        let rtt = if mine.pongs.load(Ordering::Acquire) > before { arch::nanotime() - t0 } else { u64::MAX };
        slot.store(rtt, Ordering::Relaxed);
    }
}

/// `ipi`: a round trip between every ordered pair of CPUs, then a broadcast.
pub fn ipi() -> bool {
    let n = percpu::count();
    on_every_cpu(|cpu| {
        ping_all(cpu);
        true
    });
    let mut ok = 0;
    let mut worst = 0;
    for (from, row) in RTT.iter().enumerate().take(n) {
        for (to, slot) in row.iter().enumerate().take(n).filter(|&(t, _)| t != from) {
            let rtt = slot.load(Ordering::Relaxed);
            if rtt == u64::MAX {
                println!("ipi: cpu{from} -> cpu{to} LOST");
            } else {
                println!("ipi: cpu{from} -> cpu{to} round trip {} us", rtt / 1000);
                ok += 1;
                worst = worst.max(rtt);
            }
        }
    }
    println!("ipi: {ok}/{} round trips ok, slowest {} us", n * (n - 1), worst / 1000);
    ok == n * (n - 1) && broadcast()
}

/// One IPI to all other CPUs at once (the shorthand destination); every one
/// must take it. Answers are counted in the peers' memory, not by pongs: pongs
/// sent at the same moment coalesce in cpu0's APIC (see `PerCpu::pings_answered`).
fn broadcast() -> bool {
    let n = percpu::count();
    let mut before = [0u64; MAX];
    for (peer, seen) in before.iter_mut().enumerate().take(n).skip(1) {
        let p = percpu::get(peer);
        p.ping_from.store(0, Ordering::Release);
        *seen = p.pings_answered.load(Ordering::Acquire);
    }
    let answered = |before: &[u64; MAX]| {
        (1..n).filter(|&p| percpu::get(p).pings_answered.load(Ordering::Acquire) > before[p]).count()
    };
    let t0 = arch::nanotime();
    apic::send_ipi_all_others(apic::PING_VECTOR);
    while answered(&before) < n - 1 && arch::nanotime() - t0 < 1_000_000_000 {
        core::hint::spin_loop();
    }
    let got = answered(&before);
    println!("ipi: broadcast from cpu0 answered by {got}/{} CPUs in {} us", n - 1, (arch::nanotime() - t0) / 1000);
    got == n - 1
}

/// `nanotime`: two marks 2 s apart, sleeping tickless between.
pub fn nanotime_marks() -> bool {
    let ticks = percpu::this().timer_ticks.load(Ordering::Relaxed);
    let t0 = arch::nanotime();
    println!("nanotime: mark 0 at {t0} ns");
    let halts = sleep_until(t0 + 2_000_000_000);
    let t1 = arch::nanotime();
    println!("nanotime: mark 1 at {t1} ns");
    let fired = percpu::this().timer_ticks.load(Ordering::Relaxed) - ticks;
    println!("nanotime: slept {} ns in {halts} halt(s), {fired} timer interrupt(s)", t1 - t0);
    // Tickless: one interrupt for the whole sleep, not one per tick.
    fired >= 1 && halts <= 3
}

#[inline(never)]
pub fn deliberate_page_fault() -> bool {
    println!("pagefault: writing to unmapped address 0x7bad00000000");
    // SAFETY: not safe at all: the point is to fault, and the fault is fatal.
    unsafe { core::ptr::write_volatile(0x7bad_0000_0000 as *mut u64, 1) };
    false
}

#[inline(never)]
pub fn deliberate_divide_error() -> bool {
    println!("divide: dividing by zero with the div instruction");
    let divisor = core::hint::black_box(0u64);
    // SAFETY: `div` by zero raises #DE, which is fatal by design here.
    unsafe { core::arch::asm!("div {0}", in(reg) divisor, inout("rax") 1u64 => _, inout("rdx") 0u64 => _) };
    false
}

#[inline(never)]
pub fn execute_heap() -> bool {
    // `ret`: harmless if it ran, which it must not.
    let code = alloc::boxed::Box::new([0xc3u8; 16]);
    let addr = code.as_ptr() as usize;
    println!("nx: calling into the heap at {addr:#x}");
    // SAFETY: not safe: the point is that the fetch faults (NX), fatally.
    let f: extern "C" fn() = unsafe { core::mem::transmute::<usize, extern "C" fn()>(addr) };
    f();
    println!("nx: the heap is executable");
    false
}

#[inline(never)]
pub fn deliberate_panic() -> bool {
    let answer = core::hint::black_box(41);
    if answer != 42 {
        panic!("deliberate panic: answer was {answer}");
    }
    true
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn deliberate_stack_overflow(depth: u64) -> u64 {
    let mut frame = [depth; 128];
    core::hint::black_box(&mut frame);
    deliberate_stack_overflow(depth + 1) + frame[depth as usize % 128]
}
