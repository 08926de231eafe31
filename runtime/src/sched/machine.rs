//! The machine interface: the only way the scheduler reaches the hardware.
//!
//! The scheduler is portable; the few services it needs from a machine are
//! declared here as `extern "Rust"` functions and defined (with
//! `#[no_mangle]`) by exactly one provider per build:
//! - the kernel (`kernel/src/arch/x86_64/machine.rs`): CPU index from the GS
//!   base, the TSC clock, the assembly context switch, goroutine stacks in
//!   their own address-space slot, IPIs, `sti; hlt`, the LAPIC one-shot timer;
//! - the host mock (`mock.rs`, `cargo test` only): OS threads as CPUs, and a
//!   context switch that hands a baton between threads, so the same scheduler
//!   code runs under `cargo test`.
//!
//! Link-time resolution instead of a trait object keeps the hot paths (CPU
//! index, clock, switch) direct calls, and instead of a generic parameter keeps
//! the scheduler's statics concrete. A missing provider is a link error, never a
//! silent default. The safe wrappers below are the scheduler's vocabulary; each
//! states its contract.
//!
//! ## Contracts every provider keeps
//! - `cpu()` is stable while interrupts are off or `mlocks() > 0` (nothing
//!   can move the caller).
//! - `acquirem`/`releasem` change the calling CPU's count indivisibly with
//!   respect to that CPU's interrupts; only that CPU ever reads it.
//! - `switch(from, to)` saves what a call must preserve into `from` and
//!   resumes `to`; it neither enables nor disables interrupts.
//! - `halt()` is entered with interrupts off and returns with them off, after
//!   any interrupt (a `wake`, or the one-shot timer armed by `arm_timer`); a
//!   `wake` sent between the caller's last check and the halt is not lost
//!   (`sti; hlt` on x86: the interrupt is taken after the `hlt` begins).
//! - `stack_alloc` and `stack_trim` take page-table locks: only the scheduler's
//!   system stack (g0) calls them, never a goroutine stack that could fault to
//!   grow while they hold those locks. `stack_release` may run on a goroutine
//!   stack: the provider makes sure its own stack cannot fault meanwhile.
use core::fmt;

/// A goroutine stack: usable addresses `[lo, hi)`; `id` is the provider's handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stack {
    pub id: usize,
    pub lo: usize,
    pub hi: usize,
}

/// What [`stack_release`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackRelease {
    /// Stacks whose pages went into exactly-sized buffers.
    pub stacks: usize,
    /// Frames returned (stack pages and emptied page tables).
    pub frames: usize,
    /// Bytes the buffers keep.
    pub bytes_kept: usize,
}

/// A suspended execution context (the kernel keeps the stack pointer here).
#[repr(C)]
#[derive(Debug, Default)]
pub struct Context {
    pub sp: usize,
}

/// A goroutine's first function: receives the argument given to `context_new`.
pub type Entry = extern "C" fn(usize) -> !;

unsafe extern "Rust" {
    fn machine_cpu() -> usize;
    fn machine_ncpu() -> usize;
    fn machine_nanotime() -> u64;
    fn machine_time_now() -> (i64, u64);
    fn machine_stack_alloc() -> Stack;
    fn machine_stack_trim(stack: &Stack);
    fn machine_stack_release(parked: &[(Stack, usize)]) -> StackRelease;
    fn machine_context_new(stack: &Stack, entry: Entry, arg: usize) -> Context;
    fn machine_switch(from: *mut Context, to: *const Context);
    fn machine_switch_final(to: *const Context) -> !;
    fn machine_acquirem();
    fn machine_releasem() -> u32;
    fn machine_mlocks() -> u32;
    fn machine_request_preempt();
    fn machine_take_preempt_request() -> bool;
    fn machine_irq_disable() -> bool;
    fn machine_irq_restore(enabled: bool);
    fn machine_wake(cpu: usize);
    fn machine_halt();
    fn machine_arm_timer(deadline: u64);
    fn machine_throw(what: fmt::Arguments<'_>) -> !;
}

/// This CPU's dense index (0..ncpu). Stable only while interrupts are off.
#[inline]
pub fn cpu() -> usize {
    // SAFETY: provider functions have no preconditions beyond their contracts.
    unsafe { machine_cpu() }
}

/// CPUs online.
#[inline]
pub fn ncpu() -> usize {
    // SAFETY: as above.
    unsafe { machine_ncpu() }
}

/// Monotonic nanoseconds since boot.
#[inline]
pub fn nanotime() -> u64 {
    // SAFETY: as above.
    unsafe { machine_nanotime() }
}

/// Go's `time_now`: the wall clock in nanoseconds since the Unix epoch and
/// the monotonic clock ([`nanotime`]), read together.
#[inline]
pub fn time_now() -> (i64, u64) {
    // SAFETY: as above.
    unsafe { machine_time_now() }
}

/// A fresh stack (system stack only, see the module contracts).
pub fn stack_alloc() -> Stack {
    // SAFETY: as above.
    unsafe { machine_stack_alloc() }
}

/// Returns a dead goroutine's pages above its first (system stack only).
pub fn stack_trim(stack: &Stack) {
    // SAFETY: as above.
    unsafe { machine_stack_trim(stack) }
}

/// Moves the used bytes of parked goroutines' stacks (each given with its
/// saved stack pointer) out of their pages and returns the pages; a touch
/// faults them back in. Goroutine or system stack, interrupts enabled, no
/// runtime lock held, the world stopped (see `scavenge`).
pub fn stack_release(parked: &[(Stack, usize)]) -> StackRelease {
    // SAFETY: as above.
    unsafe { machine_stack_release(parked) }
}

/// A context that will call `entry(arg)` on `stack`.
pub fn context_new(stack: &Stack, entry: Entry, arg: usize) -> Context {
    // SAFETY: as above; the stack is ours (the G owns it).
    unsafe { machine_context_new(stack, entry, arg) }
}

/// Saves the current context into `from` and resumes `to`.
///
/// # Safety
/// `to` must be a suspended context that nobody else resumes, `from` must stay
/// valid until it is resumed, and interrupts must be off.
#[inline]
pub unsafe fn switch(from: *mut Context, to: *const Context) {
    // SAFETY: forwarded.
    unsafe { machine_switch(from, to) }
}

/// Resumes `to` and abandons the current context for good (goexit).
///
/// # Safety
/// As for [`switch`]; nothing may ever resume the abandoned context.
pub unsafe fn switch_final(to: *const Context) -> ! {
    // SAFETY: forwarded.
    unsafe { machine_switch_final(to) }
}

/// Go's `acquirem`: one more reason not to preempt whatever runs on this
/// CPU (runtime locks held, `PreemptOff` sections). The provider changes a
/// per-CPU count in one step that a preemption cannot split, so the count
/// always lands on the CPU the caller runs on, and from then on it stays there.
#[inline]
pub fn acquirem() {
    // SAFETY: provider functions have no preconditions beyond their contracts.
    unsafe { machine_acquirem() }
}

/// The bit of the per-CPU `m.locks` word that records a refused preemption.
pub const PREEMPT_REQUESTED: u32 = 1 << 31;

/// Go's `releasem`: returns true if that was the last reason and a
/// preemption was refused meanwhile (the caller should honour it now).
#[inline]
pub fn releasem() -> bool {
    // SAFETY: as above.
    unsafe { machine_releasem() == PREEMPT_REQUESTED }
}

/// This CPU's `m.locks` (0: preemptible).
#[inline]
pub fn mlocks() -> u32 {
    // SAFETY: as above.
    unsafe { machine_mlocks() & !PREEMPT_REQUESTED }
}

/// Records that a preemption of whatever runs on this CPU was refused
/// (interrupt handlers, interrupts off): the last `releasem` reports it.
/// While `m.locks > 0` the code cannot move, so a per-CPU note is as good as
/// Go's per-G `gp.preempt`; a note that outlives its goroutine costs the next
/// one on this CPU a spurious, harmless preemption.
#[inline]
pub fn request_preempt() {
    // SAFETY: as above.
    unsafe { machine_request_preempt() }
}

/// Clears the note of [`request_preempt`]; true if it was there. Interrupts off.
#[inline]
pub fn take_preempt_request() -> bool {
    // SAFETY: as above.
    unsafe { machine_take_preempt_request() }
}

/// Disables interrupts; returns whether they were enabled.
#[inline]
pub fn irq_disable() -> bool {
    // SAFETY: as above.
    unsafe { machine_irq_disable() }
}

/// Re-enables interrupts if `enabled`.
#[inline]
pub fn irq_restore(enabled: bool) {
    // SAFETY: as above.
    unsafe { machine_irq_restore(enabled) }
}

/// Wakes CPU `cpu` from `halt` (an IPI).
pub fn wake(cpu: usize) {
    // SAFETY: as above.
    unsafe { machine_wake(cpu) }
}

/// Halts until an interrupt. Interrupts off on entry and exit.
pub fn halt() {
    // SAFETY: as above.
    unsafe { machine_halt() }
}

/// Arms this CPU's one-shot timer for `deadline` (0 disarms); on expiry the
/// provider calls [`super::preempt::on_timer`] from the interrupt.
pub fn arm_timer(deadline: u64) {
    // SAFETY: as above.
    unsafe { machine_arm_timer(deadline) }
}

/// `fatal error: <what>`, a goroutine dump, and a failure exit.
pub fn throw(what: fmt::Arguments<'_>) -> ! {
    // SAFETY: as above.
    unsafe { machine_throw(what) }
}

/// An interrupts-off section (Go's `systemstack`/`acquirem` discipline for
/// code that touches per-P state: nothing can preempt or move it).
pub struct IrqOff(bool);

impl Default for IrqOff {
    fn default() -> Self {
        Self::new()
    }
}

impl IrqOff {
    #[inline]
    pub fn new() -> IrqOff {
        IrqOff(irq_disable())
    }

    /// Whether interrupts were on before this section.
    pub fn was_enabled(&self) -> bool {
        self.0
    }
}

impl Drop for IrqOff {
    #[inline]
    fn drop(&mut self) {
        irq_restore(self.0);
    }
}
