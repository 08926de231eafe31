//! The kernel's side of the scheduler's machine interface
//! (`runtime::sched::machine`): [`X86Machine`] implements its `Machine`
//! trait in x86_64 terms, and `provide_machine!` makes it the machine the
//! portable scheduler links against.
//!
//! | service | how |
//! |---------|-----|
//! | `cpu`, `ncpu` | the dense CPU index at `gs:8`; CPUs online |
//! | `nanotime` | the TSC, calibrated at boot |
//! | `stack_alloc`, `stack_trim` | goroutine stacks in their arena (`stack.rs`) |
//! | `context_new`, `switch`, `switch_final` | `context.rs`'s callee-saved switch |
//! | `irq_disable`, `irq_restore` | `cli`, and `sti` if IF was set |
//! | `acquirem`, `releasem`, `mlocks`, `request_preempt`, `take_preempt_request` | the CPU's `m.locks` word at `gs:12`, one instruction each |
//! | `wake` | the WAKE IPI; `halt` is `sti; hlt; cli` |
//! | `arm_timer` | the local APIC one-shot (or TSC-deadline) timer |
//! | `throw` | `fatal error:` with the goroutine dump, failure exit |
//!
//! ## Preemption and the FPU
//! The timer interrupt arrives on the CPU's interrupt stack. Its handler
//! ([`on_timer_interrupt`]) asks the scheduler whether to preempt the running
//! goroutine; if so it redirects the goroutine into the preemption path on
//! the goroutine's own stack (`trap::redirect`: the handler may not switch
//! away on the interrupt stack, which the next interrupt reuses). There
//! [`preempt_here`] saves the FPU/SSE state with FXSAVE into a 512-byte area
//! below the trap frame (which already holds every integer register), and
//! calls `preempt_park`, which switches away. When the goroutine is
//! resumed, on any CPU, FXRSTOR and `iretq` restore it exactly. A voluntary switch saves no FPU state: kernel code is
//! soft-float and never touches the SSE registers, and goroutine code that
//! uses them does so between calls (the ABI makes every XMM register
//! caller-saved; MXCSR and the x87 control word are callee-saved, and no
//! goroutine here changes them).
use core::fmt;
use core::sync::atomic::Ordering;

extern crate alloc;

use runtime::sched::machine::{Context as RtContext, Entry, Machine, Stack, StackRelease};
use x86_64::instructions::interrupts;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

use super::context::{self, Context};
use super::trap::{self, TrapFrame};
use super::{apic, backtrace, fault, percpu, profile, stack, time};

/// Turns on SSE for goroutine code (CR0.MP, no EM/TS; CR4.OSFXSR|OSXMMEXCPT):
/// the kernel is soft-float, but goroutines may use SSE and FXSAVE must work.
pub fn enable_fpu() {
    // SAFETY: enabling SSE and FXSAVE support changes no memory mapping; the
    // flags are the architectural way to allow SSE instructions.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    }
}

/// FXSAVE's save area.
#[repr(C, align(16))]
struct FxArea([u8; 512]);

/// The timer interrupt: counts, and preempts when the scheduler says so.
pub fn on_timer_interrupt(frame: &mut TrapFrame) {
    percpu::this().timer_ticks.fetch_add(1, Ordering::Relaxed);
    profile::sample(frame.rip, frame.rbp);
    if runtime::sched::preempt::on_timer() {
        trap::redirect(frame);
    }
}

/// The wake IPI: ends a halt; during a stop-the-world, preempts the running goroutine.
pub fn on_wake_interrupt(frame: &mut TrapFrame) {
    if runtime::sched::preempt::on_wake() {
        trap::redirect(frame);
    }
}

/// Saves the FPU/SSE state next to the trap frame and lets the scheduler
/// switch away; restores it when the goroutine runs again. Entered through
/// `trap::redirect`, on the goroutine's own stack, interrupts off.
pub fn preempt_here(frame: &mut TrapFrame) {
    percpu::this().preemptions.fetch_add(1, Ordering::Relaxed);
    let mut fx = FxArea([0; 512]);
    // SAFETY: SSE/FXSAVE are enabled on every CPU (enable_fpu); the area is
    // 16-byte aligned and 512 bytes.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) fx.0.as_mut_ptr(), options(nostack)) };
    runtime::sched::preempt::preempt_park(frame as *mut TrapFrame as usize);
    // SAFETY: restores exactly what was saved above, on the same goroutine.
    unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) fx.0.as_ptr(), options(nostack)) };
}

fn gstack(s: &Stack) -> stack::GStack {
    stack::GStack { slot: s.id, guard: s.lo as u64 - 4096, top: s.hi as u64 }
}

/// The PC: the scheduler's machine (see the module essay).
pub struct X86Machine;

impl Machine for X86Machine {
    #[inline]
    fn cpu() -> usize {
        percpu::cpu_id()
    }

    #[inline]
    fn ncpu() -> usize {
        percpu::online_count()
    }

    #[inline]
    fn nanotime() -> u64 {
        time::nanotime()
    }

    #[inline]
    fn time_now() -> (i64, u64) {
        super::rtc::time_now()
    }

    #[inline]
    fn stack_alloc() -> Stack {
        let s = stack::alloc();
        Stack { id: s.slot, lo: (s.guard + 4096) as usize, hi: s.top as usize }
    }

    #[inline]
    fn stack_trim(s: &Stack) {
        stack::trim(gstack(s));
    }

    #[inline]
    fn stack_release(parked: &[(Stack, usize)]) -> StackRelease {
        let parked: alloc::vec::Vec<_> = parked.iter().map(|(s, sp)| (gstack(s), *sp as u64)).collect();
        stack::release(&parked)
    }

    #[inline]
    fn context_new(s: &Stack, entry: Entry, arg: usize) -> RtContext {
        // SAFETY: the stack's top page is mapped (alloc and trim keep it), or was
        // released with the G dead and faults back in as a zero page (`stack::grow`),
        // and the G that owns the stack is not running.
        let ctx = unsafe { Context::new(s.hi as u64, entry, arg) };
        RtContext { sp: ctx.rsp as usize }
    }

    #[inline]
    unsafe fn switch(from: *mut RtContext, to: *const RtContext) {
        // SAFETY: both are `#[repr(C)]` single words (the stack pointer); the
        // scheduler guarantees `to` is suspended and `from` outlives the switch.
        unsafe { context::switch(&mut *(from as *mut Context), &*(to as *const Context)) }
    }

    #[inline]
    unsafe fn switch_final(to: *const RtContext) -> ! {
        let mut dead = Context::default();
        // SAFETY: as above; the dying context's save slot is a local nobody resumes.
        unsafe { context::switch(&mut dead, &*(to as *const Context)) };
        unreachable!("a finished goroutine was resumed")
    }

    #[inline]
    fn acquirem() {
        percpu::acquirem();
    }

    #[inline]
    fn releasem() -> bool {
        percpu::releasem()
    }

    #[inline]
    fn mlocks() -> u32 {
        percpu::mlocks()
    }

    #[inline]
    fn request_preempt() {
        percpu::request_preempt();
    }

    #[inline]
    fn take_preempt_request() -> bool {
        percpu::take_preempt_request()
    }

    #[inline]
    fn irq_disable() -> bool {
        let enabled = interrupts::are_enabled();
        interrupts::disable();
        enabled
    }

    #[inline]
    fn irq_restore(enabled: bool) {
        if enabled {
            interrupts::enable();
        }
    }

    #[inline]
    fn wake(cpu: usize) {
        apic::send_ipi(percpu::get(cpu).apic_id.load(Ordering::Relaxed), apic::WAKE_VECTOR);
    }

    #[inline]
    fn halt() {
        interrupts::enable_and_hlt();
        interrupts::disable();
    }

    #[inline]
    fn arm_timer(deadline: u64) {
        let deadline = profile::clamp(deadline);
        if deadline == 0 {
            apic::disarm_timer();
        } else {
            apic::arm_timer(deadline);
        }
    }

    #[inline]
    fn throw(what: fmt::Arguments<'_>) -> ! {
        fault::fatal(what, backtrace::current_rbp())
    }
}

runtime::provide_machine!(X86Machine);
