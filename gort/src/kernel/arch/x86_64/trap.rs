//! Interrupt and exception entry: 256 assembly stubs, one IDT, one dispatcher.
//!
//! ## Entry path
//! 1. The CPU pushes SS, RSP, RFLAGS, CS, RIP (and, for some exceptions, an
//!    error code) and enters the vector's stub through an interrupt gate
//!    (interrupts off).
//! 2. The stub pushes a zero error code where the CPU did not, then the vector
//!    number, and jumps to `trap_common`.
//! 3. `trap_common` pushes all fifteen general registers, producing a
//!    [`TrapFrame`] on the stack, and calls `trap_dispatch` with its address.
//! 4. On return it pops everything back and `iretq`s. A handler may edit the
//!    frame: that is how asynchronous preemption ([`super::machine`]) redirects an
//!    interrupted goroutine into the scheduler, as Go's signal handler does
//!    with the signal context.
//!
//! Stubs are 16 bytes apart, so stub `n` is at `trap_vectors + 16 * n`.
//! The stack is 16-byte aligned at the `call`: the CPU aligns RSP before
//! pushing its 5 words, and the stub and `trap_common` push 2 + 15 more, for
//! 22 words = 176 bytes.
//!
//! The kernel is built soft-float (no SSE in kernel code), so the handlers
//! cannot clobber FPU/SSE state and the entry path does not save it. A
//! preempted goroutine's FPU state is saved by the preemption path itself.
//!
//! ## Interrupts never land on a goroutine stack
//! Vectors 32-255 enter on the CPU's interrupt stack (IST 5, `gdt.rs`), not
//! on the interrupted one. A goroutine stack grows by faulting in its next
//! page on first touch, so its stack pointer may stand just above a page
//! that is not mapped yet (a prologue's `sub rsp` comes before the frame's
//! first write). Were the interrupt delivered there, the CPU's own push of
//! the interrupt frame would fault: the page fault is handled, but the
//! interrupt, already acknowledged at the local APIC, is never run, so it
//! is never EOI'd, and its vector stays in service, blocking every vector
//! of its priority class or below on that CPU for good. (Seen: goroutines
//! growing 1 MiB stacks on two CPUs; a TLB-shootdown IPI was lost that way,
//! and each CPU waited forever for the other's shootdown.)
//!
//! Handlers therefore never switch away on the interrupt stack: the next
//! interrupt would reuse it. To preempt, a handler calls [`redirect`]: it
//! writes onto the goroutine's stack the five words the CPU would have
//! pushed there (those writes may fault and grow the stack, as any write),
//! and points the frame's return at `preempt_entry`, with interrupts off.
//! The `iretq` lands there, on the goroutine stack, which enters
//! `trap_common` as a new interrupt with the pseudo-vector
//! [`PREEMPT_VECTOR`]: a full [`TrapFrame`] on the goroutine's own stack,
//! dispatched (no EOI: the real interrupt had its EOI) to the machine's
//! preemption, which may switch away and resume on any CPU. Go's signal
//! handler redirects a goroutine to `asyncPreempt` the same way, from the
//! signal stack.
//!
//! ## Dispatch
//! Vectors 32–255 go to the handler registered with [`set_handler`], after
//! an EOI to the local APIC (sent first, so a handler that never returns to
//! here — a goroutine switch — cannot leave the APIC waiting); the
//! preemption pseudo-vector goes to the one registered with
//! [`set_preempt_handler`]. Exceptions (vectors 0–31), and any vector with
//! no handler of its own but the spurious one (a fatal error), go to the
//! exception handler registered with [`set_exception_handler`]. This file
//! registers none of them: `mod.rs` wires in the exception handler
//! (`fault.rs`), the preemption (`machine.rs`) and the interrupts, so trap
//! sits below all of them (the layering in `mod.rs`).

use runtime::hook::Hook;
use x86_64::instructions::segmentation::{Segment, CS};

use super::{apic, gdt};

/// The saved state of an interrupted context, as `trap_common` lays it out.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

core::arch::global_asm!(
    ".section .text.trap_vectors, \"ax\"",
    ".balign 16",
    ".global trap_vectors",
    "trap_vectors:",
    ".set vec, 0",
    ".rept 256",
    ".balign 16",
    // Exceptions with a CPU-pushed error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX.
    ".if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)",
    ".else",
    "push 0",
    ".endif",
    "push vec",
    "jmp trap_common",
    ".set vec, vec + 1",
    ".endr",
    "",
    // A preemption redirected by `redirect`: the stack holds the five words
    // of an interrupt frame; interrupts are off.
    ".balign 16",
    ".global preempt_entry",
    "preempt_entry:",
    "push 0",
    "push {preempt}",
    "jmp trap_common",
    "",
    "trap_common:",
    "push rax", "push rbx", "push rcx", "push rdx", "push rsi", "push rdi", "push rbp",
    "push r8", "push r9", "push r10", "push r11", "push r12", "push r13", "push r14", "push r15",
    "mov rdi, rsp",
    "cld",
    "call {dispatch}",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop r11", "pop r10", "pop r9", "pop r8",
    "pop rbp", "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rbx", "pop rax",
    "add rsp, 16",
    "iretq",
    ".text",
    dispatch = sym trap_dispatch,
    preempt = const PREEMPT_VECTOR,
);

unsafe extern "C" {
    static trap_vectors: [u8; 256 * 16];
    fn preempt_entry();
}

/// The pseudo-vector of a preemption entered through [`redirect`].
pub const PREEMPT_VECTOR: usize = 256;

/// What the CPU pushes when it delivers an interrupt, lowest address first.
#[repr(C)]
struct HardwareFrame {
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

const RFLAGS_IF: u64 = 1 << 9;

/// Makes the interrupted context, once this handler returns, enter the
/// preemption path on its own stack (see the module essay): pushes there
/// the interrupt frame the CPU would have pushed, and returns into
/// `preempt_entry` with interrupts off.
pub fn redirect(frame: &mut TrapFrame) {
    // The CPU aligns the stack to 16 bytes before it pushes.
    let top = frame.rsp & !0xf;
    let hw = (top - core::mem::size_of::<HardwareFrame>() as u64) as *mut HardwareFrame;
    let saved = HardwareFrame { rip: frame.rip, cs: frame.cs, rflags: frame.rflags, rsp: frame.rsp, ss: frame.ss };
    // SAFETY: the interrupted code runs on this stack with its pointer at
    // `frame.rsp`; the bytes below it are free (the kernel has no red zone)
    // and belong to the same stack, whose guard page lies far below. A
    // page not mapped yet faults and is grown by the page-fault handler on
    // its own IST stack, as for any write to the stack.
    unsafe { hw.write_volatile(saved) };
    frame.rip = preempt_entry as *const () as u64;
    frame.rsp = hw as u64;
    frame.rflags &= !RFLAGS_IF;
}

/// An interrupt gate descriptor.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt =
    Idt([Gate { offset_low: 0, selector: 0, ist: 0, attributes: 0, offset_mid: 0, offset_high: 0, reserved: 0 }; 256]);

type Handler = fn(&mut TrapFrame);
static HANDLERS: [Hook<Handler>; 256] = [const { Hook::new() }; 256];
static PREEMPT: Hook<Handler> = Hook::new();
static EXCEPTION: Hook<Handler> = Hook::new();

/// Fills the IDT with every stub (no IST yet) and loads it. Boot CPU, before
/// anything can fault, so even early faults get a report.
pub fn init_idt() {
    // SAFETY: the symbol is the stub block defined above.
    let base = unsafe { trap_vectors.as_ptr() } as u64;
    let selector = CS::get_reg().0;
    for v in 0..256 {
        let addr = base + 16 * v as u64;
        let gate = Gate {
            offset_low: addr as u16,
            selector,
            ist: 0,
            attributes: 0x8e, // present, DPL 0, 64-bit interrupt gate
            offset_mid: (addr >> 16) as u16,
            offset_high: (addr >> 32) as u32,
            reserved: 0,
        };
        // SAFETY: boot CPU, single-threaded; no other reference to IDT exists.
        unsafe { (*core::ptr::addr_of_mut!(IDT)).0[v] = gate };
    }
    load_idt();
}

/// Points the faults that need a trusted stack, and every interrupt, at
/// their IST slots. Call after the boot CPU's TSS is loaded (and before APs
/// start: the IDT is shared).
pub fn enable_ist() {
    let faults =
        [(8, gdt::IST_DOUBLE_FAULT), (2, gdt::IST_NMI), (18, gdt::IST_MACHINE_CHECK), (14, gdt::IST_PAGE_FAULT)];
    let interrupts = (32..256).map(|v| (v, gdt::IST_INTERRUPT));
    for (vector, ist) in faults.into_iter().chain(interrupts) {
        // SAFETY: boot CPU, before the APs load the IDT; a u8 write.
        unsafe { (*core::ptr::addr_of_mut!(IDT)).0[vector].ist = ist };
    }
}

/// Loads the shared IDT on this CPU.
pub fn load_idt() {
    let ptr = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::new(core::ptr::addr_of!(IDT) as u64),
    };
    // SAFETY: IDT is a static, fully initialized table of valid gates.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}

/// Routes `vector` (32..=255) to `handler`.
pub fn set_handler(vector: u8, handler: Handler) {
    assert!(vector >= 32, "vectors below 32 are exceptions");
    HANDLERS[usize::from(vector)].set(Some(handler));
}

/// Routes the preemption pseudo-vector ([`PREEMPT_VECTOR`]) to `handler`.
pub fn set_preempt_handler(handler: Handler) {
    PREEMPT.set(Some(handler));
}

/// Routes the exceptions (vectors 0–31), and every vector with no handler
/// of its own, to `handler`. Boot CPU, right after [`init_idt`].
pub fn set_exception_handler(handler: Handler) {
    EXCEPTION.set(Some(handler));
}

extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as usize;
    let spurious = vector == usize::from(apic::SPURIOUS_VECTOR);
    let handler = match vector {
        0..32 => None,
        PREEMPT_VECTOR => PREEMPT.get(),
        _ => {
            if !spurious {
                apic::eoi();
            }
            HANDLERS[vector].get()
        }
    };
    dispatch(frame, handler, vector, spurious);
}

/// True while an interrupt handler runs on this CPU: the stack pointer
/// lies in the CPU's interrupt stack (IST 5, `gdt.rs`), where every
/// interrupt handler runs and nothing else does.
#[inline]
pub fn in_handler() -> bool {
    let sp: u64;
    // SAFETY: reads the stack pointer; no memory access, no side effect.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let top = super::percpu::this().irq_stack_top.load(core::sync::atomic::Ordering::Relaxed);
    sp < top && sp >= top - super::gdt::IST_INTERRUPT_STACK_SIZE
}

fn dispatch(frame: &mut TrapFrame, handler: Option<Handler>, vector: usize, spurious: bool) {
    match handler {
        Some(h) => h(frame),
        None if spurious => {}
        None => match EXCEPTION.get() {
            Some(exception) => exception(frame),
            None => panic!("trap: vector {vector} before the exception handler was installed"),
        },
    }
}
