//! The local APIC: IPIs, end-of-interrupt, and the per-CPU one-shot timer.
//!
//! Two register interfaces reach the same device. x2APIC (MSRs 0x800 + reg/16,
//! 32-bit APIC ids, one 64-bit ICR write, no delivery-status polling) is used
//! when CPUID.1:ECX\[21\] says the CPU has it; otherwise xAPIC (uncached MMIO at
//! the MADT's address, 8-bit ids, ICR written high half then low half, then
//! poll delivery status). QEMU 7.2 under TCG offers only xAPIC; KVM and newer
//! QEMUs offer x2APIC. The mode is chosen once on the boot CPU and every AP
//! follows it.
//!
//! ## The timer
//! Idle CPUs are tickless: nothing interrupts them until their next deadline.
//! [`arm_timer`] takes an absolute `nanotime()` deadline and programs either
//! - TSC-deadline mode (CPUID.1:ECX\[24\]): write the deadline's TSC value to
//!   `IA32_TSC_DEADLINE`; exact, no conversion drift; or
//! - one-shot mode: an initial count of `(deadline - now) * ticks_per_ns`,
//!   with the APIC timer's rate calibrated once against the TSC.
//!
//! Either way one interrupt arrives at [`TIMER_VECTOR`] at or after the deadline
//! (counts are rounded up), and [`disarm_timer`] cancels it. One exception: a
//! one-shot count is 32 bits (about 4 s at QEMU's 1 GHz APIC clock), so a
//! farther deadline fires early at the counter's limit; callers therefore
//! re-check `nanotime()` and re-arm, as a scheduler does anyway. Each CPU arms
//! only its own timer.
//!
//! ## Vectors
//! 0xEF timer, 0xF0 wake (an IPI whose only job is to end a `hlt`), 0xF1 call
//! (run posted work), 0xF2/0xF3 ping/pong (IPI tests: only with the `testing`
//! feature), 0xFE error, 0xFF spurious.
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use x86_64::registers::model_specific::Msr;

use super::{cpuid, memory, time};

pub const TIMER_VECTOR: u8 = 0xef;
pub const WAKE_VECTOR: u8 = 0xf0;
pub const CALL_VECTOR: u8 = 0xf1;
/// IPI tests (`testing`): a ping is answered with a pong to its sender.
#[cfg(feature = "testing")]
pub const PING_VECTOR: u8 = 0xf2;
#[cfg(feature = "testing")]
pub const PONG_VECTOR: u8 = 0xf3;
pub const ERROR_VECTOR: u8 = 0xfe;
pub const SPURIOUS_VECTOR: u8 = 0xff;

const IA32_APIC_BASE: u32 = 0x1b;
const IA32_TSC_DEADLINE: u32 = 0x6e0;

// Register offsets (xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16).
const REG_ID: u32 = 0x20;
const REG_TPR: u32 = 0x80;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_ESR: u32 = 0x280;
const REG_ICR_LOW: u32 = 0x300;
const REG_ICR_HIGH: u32 = 0x310;
const REG_LVT_TIMER: u32 = 0x320;
const REG_LVT_LINT0: u32 = 0x350;
const REG_LVT_LINT1: u32 = 0x360;
const REG_LVT_ERROR: u32 = 0x370;
const REG_TIMER_INIT: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const TIMER_TSC_DEADLINE: u32 = 2 << 17;
const DELIVERY_NMI: u32 = 4 << 8;
const DELIVERY_INIT: u32 = 5 << 8;
const DELIVERY_SIPI: u32 = 6 << 8;
const LEVEL_ASSERT: u32 = 1 << 14;
const DELIVERY_PENDING: u32 = 1 << 12;
const SHORTHAND_ALL_OTHERS: u32 = 3 << 18;

static READY: AtomicBool = AtomicBool::new(false);
static X2APIC: AtomicBool = AtomicBool::new(false);
static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);
static MMIO: AtomicU64 = AtomicU64::new(0);
/// APIC timer ticks per 2^32 ns (divide-by-1), for one-shot mode.
static TICKS_PER_NS_FP32: AtomicU64 = AtomicU64::new(0);

fn read(reg: u32) -> u32 {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: x2APIC mode is enabled on this CPU; these MSRs are its registers.
        unsafe { Msr::new(0x800 + reg / 16).read() as u32 }
    } else {
        // SAFETY: MMIO is the uncached mapping of this CPU's xAPIC page.
        unsafe { core::ptr::read_volatile((MMIO.load(Ordering::Relaxed) + u64::from(reg)) as *const u32) }
    }
}

fn write(reg: u32, value: u32) {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: as in `read`.
        unsafe { Msr::new(0x800 + reg / 16).write(u64::from(value)) }
    } else {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((MMIO.load(Ordering::Relaxed) + u64::from(reg)) as *mut u32, value) }
    }
}

/// Chooses x2APIC or xAPIC and maps the xAPIC page; boot CPU, once.
pub fn init_bsp(mmio_phys: u64) {
    let x2 = cpuid::has_x2apic();
    X2APIC.store(x2, Ordering::Relaxed);
    TSC_DEADLINE.store(cpuid::has_tsc_deadline(), Ordering::Relaxed);
    if !x2 {
        MMIO.store(memory::map_mmio(mmio_phys, 4096).as_u64(), Ordering::Relaxed);
    }
    init_cpu();
    calibrate_timer();
    READY.store(true, Ordering::Release);
    log::info!(
        "apic: {} mode, timer {}",
        if x2 { "x2APIC" } else { "xAPIC" },
        if TSC_DEADLINE.load(Ordering::Relaxed) { "TSC-deadline" } else { "one-shot" }
    );
}

/// Enables this CPU's local APIC in the chosen mode.
pub fn init_cpu() {
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: enabling the APIC (bit 11) and, if chosen, x2APIC mode (bit 10)
    // is the documented sequence; the base address is left as is.
    unsafe {
        let mut v = base.read() | (1 << 11);
        if X2APIC.load(Ordering::Relaxed) {
            v |= 1 << 10;
        }
        base.write(v);
    }
    write(REG_TPR, 0);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, DELIVERY_NMI);
    write(REG_LVT_ERROR, u32::from(ERROR_VECTOR));
    write(REG_ESR, 0);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    write(REG_SVR, (1 << 8) | u32::from(SPURIOUS_VECTOR));
    write(REG_EOI, 0);
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    let id = read(REG_ID);
    if X2APIC.load(Ordering::Relaxed) {
        id
    } else {
        id >> 24
    }
}

/// Signals end of interrupt.
pub fn eoi() {
    write(REG_EOI, 0);
}

fn send(dest: u32, low: u32) {
    if X2APIC.load(Ordering::Relaxed) {
        // SAFETY: ICR write in x2APIC mode: destination in the high half.
        unsafe { Msr::new(0x830).write((u64::from(dest) << 32) | u64::from(low)) };
    } else {
        x86_64::instructions::interrupts::without_interrupts(|| {
            write(REG_ICR_HIGH, dest << 24);
            write(REG_ICR_LOW, low);
            while read(REG_ICR_LOW) & DELIVERY_PENDING != 0 {
                core::hint::spin_loop();
            }
        });
    }
}

/// Sends fixed interrupt `vector` to the CPU with APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    send(dest, LEVEL_ASSERT | u32::from(vector));
}

/// Sends `vector` to every CPU but this one.
pub fn send_ipi_all_others(vector: u8) {
    send(0, SHORTHAND_ALL_OTHERS | LEVEL_ASSERT | u32::from(vector));
}

/// NMIs every other CPU (fatal-error path; a no-op before the APIC is up).
pub fn send_nmi_all_others() {
    if READY.load(Ordering::Acquire) {
        send(0, SHORTHAND_ALL_OTHERS | LEVEL_ASSERT | DELIVERY_NMI);
    }
}

/// INIT to `dest` (AP bring-up, step 1).
pub fn send_init(dest: u32) {
    send(dest, LEVEL_ASSERT | DELIVERY_INIT);
}

/// Startup IPI to `dest`: start executing in real mode at `page << 12`.
pub fn send_sipi(dest: u32, page: u8) {
    send(dest, LEVEL_ASSERT | DELIVERY_SIPI | u32::from(page));
}

fn calibrate_timer() {
    write(REG_TIMER_DIVIDE, 0xb); // divide by 1
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    let t0 = time::nanotime();
    write(REG_TIMER_INIT, u32::MAX);
    while time::nanotime() - t0 < 10_000_000 {
        core::hint::spin_loop();
    }
    let elapsed = u32::MAX - read(REG_TIMER_CURRENT);
    let ns = time::nanotime() - t0;
    write(REG_TIMER_INIT, 0);
    let fp = (u128::from(elapsed) << 32) / u128::from(ns.max(1));
    TICKS_PER_NS_FP32.store(fp as u64, Ordering::Relaxed);
    log::info!("apic: timer runs at {} MHz", (fp * 1000) >> 32);
}

/// Arms this CPU's timer to fire once at `nanotime() >= deadline`.
pub fn arm_timer(deadline: u64) {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        write(REG_LVT_TIMER, TIMER_TSC_DEADLINE | u32::from(TIMER_VECTOR));
        // SAFETY: TSC-deadline mode is supported (CPUID) and selected above.
        unsafe { Msr::new(IA32_TSC_DEADLINE).write(time::tsc_at(deadline).max(1)) };
    } else {
        let now = time::nanotime();
        let ns = deadline.saturating_sub(now).max(1);
        let fp = u128::from(TICKS_PER_NS_FP32.load(Ordering::Relaxed));
        let ticks = ((u128::from(ns) * fp) >> 32) + 1;
        write(REG_LVT_TIMER, u32::from(TIMER_VECTOR));
        write(REG_TIMER_INIT, ticks.min(u128::from(u32::MAX)) as u32);
    }
}

/// Cancels this CPU's pending timer.
pub fn disarm_timer() {
    if TSC_DEADLINE.load(Ordering::Relaxed) {
        // SAFETY: writing 0 disarms TSC-deadline mode.
        unsafe { Msr::new(IA32_TSC_DEADLINE).write(0) };
    } else {
        write(REG_TIMER_INIT, 0);
    }
}
