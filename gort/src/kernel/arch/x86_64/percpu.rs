//! Per-CPU data, reachable in O(1) through the GS base.
//!
//! Each CPU's `IA32_GS_BASE` MSR points at its own [`PerCpu`], whose first word
//! points at itself: `mov rax, gs:[0]` yields `&PerCpu` in one instruction, and
//! `gs:[8]` is the CPU index directly. There is no user mode, so no `swapgs`;
//! the GS *selector* must never be reloaded after `init`, since loading it
//! clears the base.
//!
//! The areas live in one static array indexed by the dense CPU index (0 = boot
//! CPU, then APs in MADT order), so other CPUs can reach a peer's area by index
//! (IPI mailboxes, online flags). Fields written by other CPUs are atomics.
//!
//! Later issues hang their per-CPU state here: the M running on this CPU, the
//! current G, the preemption-disable count.
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// The most CPUs the kernel supports.
pub const MAX_CPUS: usize = 64;

/// One CPU's area. `#[repr(C)]`: the assembly below relies on the first two fields.
#[repr(C)]
pub struct PerCpu {
    /// Address of this struct (gs:0).
    self_ptr: AtomicU64,
    /// Dense CPU index (gs:8).
    pub index: AtomicU32,
    /// The M's `locks` count (gs:12): see [`acquirem`].
    locks: AtomicU32,
    /// Local APIC id, from the MADT.
    pub apic_id: AtomicU32,
    /// Set by the CPU itself when its bring-up is complete.
    pub online: AtomicBool,
    /// Work for the CPU's idle loop: a `fn(usize)` and its argument (see `smp`).
    pub call_fn: AtomicUsize,
    pub call_arg: AtomicUsize,
    /// Incremented when a posted call has finished.
    pub call_done: AtomicU64,
    /// IPI test traffic (`testing`): who to answer, how many answers arrived.
    #[cfg(feature = "testing")]
    pub ping_from: AtomicU32,
    #[cfg(feature = "testing")]
    pub pongs: AtomicU64,
    /// Pings this CPU has answered. Memory, not IPI counts: an interrupt
    /// vector that is already pending coalesces with a new one (one IRR bit
    /// per vector), so several simultaneous pongs can arrive as one.
    #[cfg(feature = "testing")]
    pub pings_answered: AtomicU64,
    /// Local APIC timer interrupts taken.
    pub timer_ticks: AtomicU64,
    /// Goroutines preempted on this CPU (timer or wake interrupt).
    pub preemptions: AtomicU64,
    /// Top of the stack this CPU started on (its boot stack).
    pub boot_stack_top: AtomicU64,
    /// Set while this CPU reports a fatal error (a nested fault exits at once).
    pub in_fatal: AtomicBool,
    /// Top of this CPU's interrupt stack (`gdt.rs`; `trap::in_handler`).
    pub irq_stack_top: AtomicU64,
}

impl PerCpu {
    const fn new() -> Self {
        PerCpu {
            self_ptr: AtomicU64::new(0),
            index: AtomicU32::new(0),
            locks: AtomicU32::new(0),
            apic_id: AtomicU32::new(0),
            online: AtomicBool::new(false),
            call_fn: AtomicUsize::new(0),
            call_arg: AtomicUsize::new(0),
            call_done: AtomicU64::new(0),
            #[cfg(feature = "testing")]
            ping_from: AtomicU32::new(0),
            #[cfg(feature = "testing")]
            pongs: AtomicU64::new(0),
            #[cfg(feature = "testing")]
            pings_answered: AtomicU64::new(0),
            timer_ticks: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            boot_stack_top: AtomicU64::new(0),
            irq_stack_top: AtomicU64::new(0),
            in_fatal: AtomicBool::new(false),
        }
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];
static COUNT: AtomicUsize = AtomicUsize::new(1);

/// Points this CPU's GS base at area `index`. First thing on every CPU.
pub fn init(index: usize, apic_id: u32) {
    let area = &CPUS[index];
    area.self_ptr.store(area as *const PerCpu as u64, Ordering::Relaxed);
    area.index.store(index as u32, Ordering::Relaxed);
    area.apic_id.store(apic_id, Ordering::Relaxed);
    let base = VirtAddr::new(area as *const PerCpu as u64);
    GsBase::write(base);
    KernelGsBase::write(base);
}

/// This CPU's area.
#[inline]
pub fn this() -> &'static PerCpu {
    let p: u64;
    // SAFETY: after `init`, gs:0 holds the address of this CPU's static area.
    // Before `init` (very early boot) the GS base is 0 and we must not get
    // here: `kernel_main` calls `init(0, ..)` first.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags)) };
    // SAFETY: `p` points into the static `CPUS` array.
    unsafe { &*(p as *const PerCpu) }
}

/// This CPU's dense index.
#[inline]
pub fn cpu_id() -> usize {
    let id: u32;
    // SAFETY: as in `this`; gs:8 is `index`.
    unsafe { core::arch::asm!("mov {:e}, gs:[8]", out(reg) id, options(nostack, readonly, preserves_flags)) };
    id as usize
}

/// `m.locks++` on this CPU (Go's `acquirem`). One instruction: code that a
/// preemption could move to another CPU still counts on the CPU it runs on.
///
/// `add 1`, not `inc` (here, in [`releasem`] and, through the programs'
/// `+slow-incdec`, everywhere LLVM counts): `inc` and `dec` keep the carry
/// flag, which TCG computes with a helper call (`cc_compute_c`) whenever
/// the instruction opens a translation block, as a fast path's counter
/// after a branch does.
#[inline]
pub fn acquirem() {
    // SAFETY: gs:12 is this CPU's `locks` (see the struct layout).
    unsafe { core::arch::asm!("add dword ptr gs:[12], 1", options(nostack)) };
}

/// The refused-preemption bit of `locks`.
pub const PREEMPT_REQUESTED: u32 = 1 << 31;

/// `m.locks--` on this CPU (Go's `releasem`); true if the word is then the
/// refused-preemption bit alone (that was the last count, and a preemption
/// waits). The caller holds a count, so it cannot have moved since taking
/// it.
///
/// The compare is the `xor` inside the `asm!`: left to LLVM, `word ==
/// 1 << 31` becomes `neg; jo`, and QEMU's TCG computes the overflow flag
/// with a helper call (`cc_compute_all`), a tenth of the host's time in
/// `Malloc8`; `xor` then `test` keeps the flags inline.
#[inline]
pub fn releasem() -> bool {
    let left: u32;
    // SAFETY: as in `acquirem`; an interrupt between the first two
    // instructions can only set the request bit, which the second one then
    // sees.
    unsafe {
        core::arch::asm!(
            "sub dword ptr gs:[12], 1",
            "mov {0:e}, gs:[12]",
            "xor {0:e}, {bit}",
            out(reg) left,
            bit = const PREEMPT_REQUESTED,
            options(nostack),
        )
    };
    left == 0
}

/// This CPU's `locks` word.
#[inline]
pub fn mlocks() -> u32 {
    let n: u32;
    // SAFETY: as in `acquirem`.
    unsafe { core::arch::asm!("mov {:e}, gs:[12]", out(reg) n, options(nostack, readonly, preserves_flags)) };
    n
}

/// Records a refused preemption (the timer or wake interrupt, interrupts off).
#[inline]
pub fn request_preempt() {
    // SAFETY: as in `acquirem`.
    unsafe { core::arch::asm!("or dword ptr gs:[12], 0x80000000", options(nostack)) };
}

/// Clears the refused-preemption bit; returns whether it was set.
#[inline]
pub fn take_preempt_request() -> bool {
    let before: u32;
    // SAFETY: as in `acquirem`; `xchg`-free: interrupts that could set the
    // bit between the two instructions are off in every caller.
    unsafe {
        core::arch::asm!("mov {:e}, gs:[12]", "and dword ptr gs:[12], 0x7fffffff", out(reg) before, options(nostack))
    };
    before & PREEMPT_REQUESTED != 0
}

/// Area of CPU `index`.
pub fn get(index: usize) -> &'static PerCpu {
    &CPUS[index]
}

/// Number of CPUs found in the MADT (online or not).
pub fn count() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// Records how many CPUs the MADT lists.
pub fn set_count(n: usize) {
    COUNT.store(n.min(MAX_CPUS), Ordering::Relaxed);
}

/// Number of CPUs online now.
pub fn online_count() -> usize {
    CPUS[..count()].iter().filter(|c| c.online.load(Ordering::Acquire)).count()
}
