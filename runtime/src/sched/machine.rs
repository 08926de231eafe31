//! The machine interface: the only way the scheduler reaches the hardware.
//!
//! The scheduler is portable; the few services it needs from a machine are
//! the trait [`Machine`]. Exactly one provider per build implements it and
//! names its type in [`provide_machine!`](crate::provide_machine):
//! - the kernel (`gort/src/kernel/arch/x86_64/machine.rs`): CPU index from the GS
//!   base, the TSC clock, the assembly context switch, goroutine stacks in
//!   their own address-space slot, IPIs, `sti; hlt`, the LAPIC one-shot timer;
//! - the host mock (`mock.rs`, `cargo test` only): OS threads as CPUs, and a
//!   context switch that hands a baton between threads, so the same scheduler
//!   code runs under `cargo test`.
//!
//! The macro defines, from the trait's methods, the `#[no_mangle]` shims
//! that the `extern "Rust"` declarations below resolve to at link time: the
//! compiler checks the provider's signatures against the trait, and the
//! shims and the declarations are written next to each other here, so a
//! provider cannot link with a wrong signature (before, the two sides met by
//! name only: a mismatch was undefined behaviour, not a compile error; see
//! the compile-fail example on [`Machine`]). Link-time resolution instead of
//! a trait object keeps the hot paths (CPU index, clock, switch) direct
//! calls, inlined by LTO, and instead of a generic parameter keeps the
//! scheduler's statics concrete. A missing provider is a link error, never a
//! silent default. The safe wrappers below are the scheduler's vocabulary;
//! each states its contract.
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

/// What a machine provides to the scheduler; see the module contracts and
/// each wrapper function below. A provider implements it on a type of its
/// own and names that type in [`provide_machine!`](crate::provide_machine).
///
/// A provider whose signature differs from the trait's does not compile:
///
/// ```compile_fail,E0053
/// use runtime::sched::machine::*;
/// struct Bad;
/// impl Machine for Bad {
///     fn cpu() -> u32 { 0 } // the trait says usize
/// #   fn ncpu() -> usize { 1 }
/// #   fn nanotime() -> u64 { 0 }
/// #   fn time_now() -> (i64, u64) { (0, 0) }
/// #   fn stack_alloc() -> Stack { Stack::default() }
/// #   fn stack_trim(_: &Stack) {}
/// #   fn stack_release(_: &[(Stack, usize)]) -> StackRelease { StackRelease::default() }
/// #   fn context_new(_: &Stack, _: Entry, _: usize) -> Context { Context::default() }
/// #   unsafe fn switch(_: *mut Context, _: *const Context) {}
/// #   unsafe fn switch_final(_: *const Context) -> ! { loop {} }
/// #   fn acquirem() {}
/// #   fn releasem() -> bool { false }
/// #   fn mlocks() -> u32 { 0 }
/// #   fn request_preempt() {}
/// #   fn take_preempt_request() -> bool { false }
/// #   fn irq_disable() -> bool { false }
/// #   fn irq_restore(_: bool) {}
/// #   fn wake(_: usize) {}
/// #   fn halt() {}
/// #   fn arm_timer(_: u64) {}
/// #   fn throw(_: core::fmt::Arguments<'_>) -> ! { loop {} }
/// }
/// runtime::provide_machine!(Bad);
/// ```
pub trait Machine {
    /// See [`cpu`].
    fn cpu() -> usize;
    /// See [`ncpu`].
    fn ncpu() -> usize;
    /// See [`nanotime`].
    fn nanotime() -> u64;
    /// See [`time_now`].
    fn time_now() -> (i64, u64);
    /// See [`stack_alloc`].
    fn stack_alloc() -> Stack;
    /// See [`stack_trim`].
    fn stack_trim(stack: &Stack);
    /// See [`stack_release`].
    fn stack_release(parked: &[(Stack, usize)]) -> StackRelease;
    /// See [`context_new`].
    fn context_new(stack: &Stack, entry: Entry, arg: usize) -> Context;
    /// See [`switch`].
    ///
    /// # Safety
    /// As for [`switch`].
    unsafe fn switch(from: *mut Context, to: *const Context);
    /// See [`switch_final`].
    ///
    /// # Safety
    /// As for [`switch_final`].
    unsafe fn switch_final(to: *const Context) -> !;
    /// See [`acquirem`].
    fn acquirem();
    /// Decrements the per-CPU count; true if the word is then
    /// [`PREEMPT_REQUESTED`] alone: that was the last reason, and a
    /// preemption was refused meanwhile (see [`releasem`]). The compare is
    /// the machine's, so that it can pick instructions its emulator runs
    /// well (x86_64: `xor` and `test`, not LLVM's `neg; jo`).
    fn releasem() -> bool;
    /// This CPU's `m.locks` word, [`PREEMPT_REQUESTED`] bit included.
    fn mlocks() -> u32;
    /// See [`request_preempt`].
    fn request_preempt();
    /// See [`take_preempt_request`].
    fn take_preempt_request() -> bool;
    /// See [`irq_disable`].
    fn irq_disable() -> bool;
    /// See [`irq_restore`].
    fn irq_restore(enabled: bool);
    /// See [`wake`].
    fn wake(cpu: usize);
    /// See [`halt`].
    fn halt();
    /// See [`arm_timer`].
    fn arm_timer(deadline: u64);
    /// See [`throw`].
    fn throw(what: fmt::Arguments<'_>) -> !;
}

/// Makes `$m`, a type implementing [`Machine`], the machine of this build:
/// defines the link-time shims the scheduler calls (see the module essay).
/// Use it once per build, in the provider's crate.
#[macro_export]
macro_rules! provide_machine {
    ($m:ty) => {
        const _: () = {
            use $crate::sched::machine::{Context, Entry, Machine, Stack, StackRelease};
            #[unsafe(no_mangle)]
            fn machine_cpu() -> usize {
                <$m as Machine>::cpu()
            }
            #[unsafe(no_mangle)]
            fn machine_ncpu() -> usize {
                <$m as Machine>::ncpu()
            }
            #[unsafe(no_mangle)]
            fn machine_nanotime() -> u64 {
                <$m as Machine>::nanotime()
            }
            #[unsafe(no_mangle)]
            fn machine_time_now() -> (i64, u64) {
                <$m as Machine>::time_now()
            }
            #[unsafe(no_mangle)]
            fn machine_stack_alloc() -> Stack {
                <$m as Machine>::stack_alloc()
            }
            #[unsafe(no_mangle)]
            fn machine_stack_trim(stack: &Stack) {
                <$m as Machine>::stack_trim(stack)
            }
            #[unsafe(no_mangle)]
            fn machine_stack_release(parked: &[(Stack, usize)]) -> StackRelease {
                <$m as Machine>::stack_release(parked)
            }
            #[unsafe(no_mangle)]
            fn machine_context_new(stack: &Stack, entry: Entry, arg: usize) -> Context {
                <$m as Machine>::context_new(stack, entry, arg)
            }
            #[unsafe(no_mangle)]
            fn machine_switch(from: *mut Context, to: *const Context) {
                // SAFETY: only the scheduler's `machine::switch` calls this
                // shim, under that function's contract.
                unsafe { <$m as Machine>::switch(from, to) }
            }
            #[unsafe(no_mangle)]
            fn machine_switch_final(to: *const Context) -> ! {
                // SAFETY: as above, `machine::switch_final`'s contract.
                unsafe { <$m as Machine>::switch_final(to) }
            }
            #[unsafe(no_mangle)]
            fn machine_acquirem() {
                <$m as Machine>::acquirem()
            }
            #[unsafe(no_mangle)]
            fn machine_releasem() -> bool {
                <$m as Machine>::releasem()
            }
            #[unsafe(no_mangle)]
            fn machine_mlocks() -> u32 {
                <$m as Machine>::mlocks()
            }
            #[unsafe(no_mangle)]
            fn machine_request_preempt() {
                <$m as Machine>::request_preempt()
            }
            #[unsafe(no_mangle)]
            fn machine_take_preempt_request() -> bool {
                <$m as Machine>::take_preempt_request()
            }
            #[unsafe(no_mangle)]
            fn machine_irq_disable() -> bool {
                <$m as Machine>::irq_disable()
            }
            #[unsafe(no_mangle)]
            fn machine_irq_restore(enabled: bool) {
                <$m as Machine>::irq_restore(enabled)
            }
            #[unsafe(no_mangle)]
            fn machine_wake(cpu: usize) {
                <$m as Machine>::wake(cpu)
            }
            #[unsafe(no_mangle)]
            fn machine_halt() {
                <$m as Machine>::halt()
            }
            #[unsafe(no_mangle)]
            fn machine_arm_timer(deadline: u64) {
                <$m as Machine>::arm_timer(deadline)
            }
            #[unsafe(no_mangle)]
            fn machine_throw(what: ::core::fmt::Arguments<'_>) -> ! {
                <$m as Machine>::throw(what)
            }
        };
    };
}

// The shims `provide_machine!` defines, declared with the same signatures.
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
    fn machine_releasem() -> bool;
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
    unsafe { machine_releasem() }
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
