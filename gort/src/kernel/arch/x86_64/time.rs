//! `nanotime()`: monotonic nanoseconds since boot, from the TSC.
//!
//! ## Calibration (boot CPU, once)
//! 1. If CPUID reports the TSC rate (leaf 0x15's crystal ratio, or the
//!    hypervisor leaf 0x40000010), take it.
//! 2. Measure it anyway against the PIT: program channel 2 for a one-shot count
//!    of 50 ms, read the TSC when the count starts and when OUT2 rises; repeat
//!    three times and keep the median.
//! 3. If a CPUID rate disagrees with the measurement by more than 2%, distrust
//!    it and log why (under TCG, RDTSC returns the host's TSC, whatever rate a
//!    CPUID leaf advertises).
//!
//! ## Conversion
//! `ns = (tsc - base) * NS_PER_TICK` in 32.32 fixed point with a 128-bit
//! product: no overflow for centuries of uptime, and one multiply per call.
//! `tsc_at(ns)` is the inverse, for TSC-deadline timers.
//!
//! ## Invariants
//! - Monotonic per CPU, and across CPUs as far as their TSCs are synchronized
//!   (they are on QEMU; the boot log says whether the CPU claims an invariant
//!   TSC).
//! - Returns 0 until calibrated (the logger uses it from the first line on).
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::instructions::port::Port;

use super::cpuid;

static TSC_BASE: AtomicU64 = AtomicU64::new(0);
static NS_PER_TICK_FP32: AtomicU64 = AtomicU64::new(0);
static TICKS_PER_NS_FP32: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);

const PIT_HZ: u64 = 1_193_182;

/// The CPU's time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is unprivileged-safe and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Monotonic nanoseconds since calibration (0 before it).
#[inline]
pub fn nanotime() -> u64 {
    let fp = NS_PER_TICK_FP32.load(Ordering::Relaxed);
    let ticks = rdtsc().saturating_sub(TSC_BASE.load(Ordering::Relaxed));
    ((u128::from(ticks) * u128::from(fp)) >> 32) as u64
}

/// The TSC value at which `nanotime()` reaches `ns`.
pub fn tsc_at(ns: u64) -> u64 {
    let fp = u128::from(TICKS_PER_NS_FP32.load(Ordering::Relaxed));
    TSC_BASE.load(Ordering::Relaxed) + ((u128::from(ns) * fp) >> 32) as u64
}

/// TSC ticks per second.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Spins until `nanotime()` has advanced by `ns`.
pub fn spin_for(ns: u64) {
    let end = nanotime() + ns;
    while nanotime() < end {
        core::hint::spin_loop();
    }
}

/// Measures TSC ticks over a 50 ms PIT one-shot.
fn measure_with_pit() -> u64 {
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    let count = PIT_HZ * 50 / 1000;
    // SAFETY: ports 0x42/0x43/0x61 are the PC's PIT channel 2 and its gate;
    // nothing else in the kernel uses them, and this runs before the APs start.
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01); // gate on, speaker off
        command.write(0b1011_0000); // channel 2, lo/hi byte, mode 0, binary
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        let start = rdtsc();
        while gate.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
        rdtsc() - start
    }
}

/// Calibrates the TSC; boot CPU, once, before the APs start.
pub fn calibrate() {
    let mut samples = [measure_with_pit(), measure_with_pit(), measure_with_pit()];
    samples.sort_unstable();
    let measured = samples[1] * 1000 / 50;
    let (hz, source) = match cpuid::tsc_hz_leaf15()
        .map(|h| (h, "CPUID 0x15"))
        .or_else(|| cpuid::tsc_hz_hypervisor().map(|h| (h, "CPUID 0x40000010")))
    {
        Some((h, src)) if h.abs_diff(measured) * 50 <= measured => (h, src),
        Some((h, src)) => {
            log::warn!("time: {src} says {h} Hz but the PIT measures {measured} Hz; using the PIT");
            (measured, "PIT")
        }
        None => (measured, "PIT"),
    };
    TSC_HZ.store(hz, Ordering::Relaxed);
    NS_PER_TICK_FP32.store(((1_000_000_000u128 << 32) / u128::from(hz)) as u64, Ordering::Relaxed);
    TICKS_PER_NS_FP32.store(((u128::from(hz) << 32) / 1_000_000_000) as u64, Ordering::Relaxed);
    TSC_BASE.store(rdtsc(), Ordering::Relaxed);
    log::info!(
        "time: TSC {}.{:03} MHz from {source}, invariant: {}",
        hz / 1_000_000,
        hz / 1000 % 1000,
        if cpuid::has_invariant_tsc() { "yes" } else { "not reported" }
    );
}
