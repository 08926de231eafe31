//! Voluntary context switch: Go's `gogo`/`gosave` pair as one primitive.
//!
//! A suspended context is just its stack pointer ([`Context`]); everything
//! else it needs is on its stack. A voluntary switch happens at a call, so by
//! the System V ABI only the callee-saved registers (rbx, rbp, r12–r15) and
//! the return address must survive; the caller has already saved the rest.
//! A preempted goroutine's full register file (and FPU/SSE state) is saved by
//! the preemption path into its trap frame instead, not here.
//!
//! ## `context_switch(from, to)`
//! 1. push rbp, rbx, r12, r13, r14, r15 on the current stack;
//! 2. store rsp into `*from`;
//! 3. load rsp from `*to`;
//! 4. pop the six registers in reverse order and `ret` into the other
//!    context, at the instruction after its own `context_switch` call.
//!
//! ## A fresh context ([`Context::new`])
//! The stack is laid out so that step 4 "returns" into `context_start` with
//! r12 = the entry function and r13 = its argument:
//!
//! ```text
//! top (16-byte aligned)
//!   top - 8    0               padding
//!   top - 16   0               padding
//!   top - 24   context_start   <- the first switch's `ret` lands here
//!   top - 32   rbp = 0
//!   top - 40   rbx = 0
//!   top - 48   r12 = entry
//!   top - 56   r13 = arg
//!   top - 64   r14 = 0
//!   top - 72   r15 = 0         <- Context::rsp
//! ```
//! After the pops and the `ret`, rsp = top - 16 (aligned), so `call r12`
//! enters `entry` with rsp ≡ 8 (mod 16) as the ABI requires. `context_start`
//! clears rbp first, so the entry function's frame ends every backtrace. The entry function must never
//! return (a goroutine exits by switching away for good); if it does, `ud2`.
//!
//! ## Invariants
//! - `from` and `to` are distinct and `to` was saved by a switch or made by
//!   `Context::new`; a context is resumed at most once per suspension.
//! - Interrupt state is the caller's business: the switch neither enables
//!   nor disables interrupts (the scheduler switches with them on).
//! - No FPU/SSE state is switched: the kernel target is soft-float. The
//!   scheduler issue decides how goroutine code gets SSE; if it does, MXCSR
//!   and the x87 control word (callee-saved in the ABI) join this frame.

/// A suspended execution context: the stack pointer at its last switch.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Context {
    pub rsp: u64,
}

core::arch::global_asm!(
    ".global context_switch",
    "context_switch:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov [rdi], rsp",
    "mov rsp, [rsi]",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    "",
    ".global context_start",
    ".type context_start, @function",
    "context_start:",
    "xor ebp, ebp",
    "mov rdi, r13",
    "call r12",
    "ud2",
);

unsafe extern "C" {
    fn context_switch(from: *mut Context, to: *const Context);
    fn context_start();
}

impl Context {
    /// A context that will run `entry(arg)` on the stack whose top is `top`.
    ///
    /// # Safety
    /// `[top - 64, top)` must be mapped, writable memory owned by the caller
    /// for as long as the context may run, and `top` 16-byte aligned.
    pub unsafe fn new(top: u64, entry: extern "C" fn(usize) -> !, arg: usize) -> Context {
        assert!(top.is_multiple_of(16), "context stack top must be 16-byte aligned");
        let frame: [u64; 9] = [
            0,                                 // r15
            0,                                 // r14
            arg as u64,                        // r13
            entry as *const () as u64,         // r12
            0,                                 // rbx
            0,                                 // rbp
            context_start as *const () as u64, // return address of the first switch
            0,                                 // padding: rsp = top - 16 at
            0,                                 // context_start, 16-byte aligned
        ];
        let rsp = top - (frame.len() as u64) * 8;
        // SAFETY: the caller guarantees the words below `top` are ours to write.
        unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
        Context { rsp }
    }
}

/// Saves the current context into `from` and resumes `to`. Returns when
/// someone switches back to `from`.
///
/// # Safety
/// See the module's invariants: `to` must be a live suspended context, and
/// `from` must stay valid until this context is resumed.
#[inline]
pub unsafe fn switch(from: &mut Context, to: &Context) {
    // SAFETY: forwarded from the caller; `context_switch` preserves exactly
    // what the ABI requires of a call.
    unsafe { context_switch(from, to) }
}
