//! Exceptions and the fatal-error path.
//!
//! Every CPU exception that nothing handles ends the run with a report, never
//! with a silent triple fault or a reboot loop:
//!
//! ```text
//! fatal error: page fault (#PF, vector 14)
//! [cpu 0, error code 0x2 (not-present write), cr2 0x0]
//! rip 0xffffffff8000c0de selftest::machine::deliberate_page_fault+0x1e
//! rax ... (all registers)
//! backtrace:
//!   ...
//! ```
//! then, once goroutines exist, the goroutine dump in Go's format (through
//! the hook [`set_goroutine_dump`]), and a failure exit through
//! `isa-debug-exit`.
//!
//! ## The fatal path ([`fatal_trap`], [`fatal`])
//! 1. A CPU already reporting (its `in_fatal` flag) that faults again exits at
//!    once: the report itself is broken.
//! 2. The first CPU to set `FATAL` reports; any other CPU that reaches the fatal
//!    path meanwhile halts forever, so reports never interleave.
//! 3. The reporter sends an NMI to all other CPUs; their NMI handler sees
//!    `FATAL` and halts, so nothing else prints while it reports.
//! 4. It prints through `serial::force_write`, which takes the console lock
//!    only if it can get it within a bounded time.
//! 5. It exits QEMU with failure.
//!
//! ## Page faults
//! A page fault first goes to the hook ([`set_page_fault_hook`]), which
//! returns a [`PageFaultVerdict`]: handled (it mapped the page; the faulting
//! instruction runs again), not its memory, or fatal with a diagnosis in its
//! own words. The hook is the goroutine stack arena's (`stack.rs`, installed
//! by `mod.rs`): it grows stacks, and names a goroutine stack overflow or a
//! touch of a freed stack.
//! A fault the hook leaves alone in the guard page of a CPU's boot or
//! interrupt stack is reported as a stack overflow; any other as the
//! exception it is.
//!
//! This file knows neither goroutine stacks nor goroutines: what a fault
//! in a goroutine stack means comes from the page-fault hook, and the dump
//! from the goroutine-dump hook, so it imports neither `stack` nor
//! `traceback` (the layering in `mod.rs`).
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use runtime::hook::Hook;
use x86_64::registers::control::Cr2;

use super::serial::{self, Console};
use super::trap::TrapFrame;
use super::{apic, backtrace, memory, percpu, qemu};

static FATAL: AtomicBool = AtomicBool::new(false);
static PAGE_FAULT_HOOK: Hook<PageFaultHook> = Hook::new();
static GOROUTINE_DUMP: Hook<fn(u64)> = Hook::new();

/// A page-fault hook: given the faulting address and error code, says what
/// the fault is.
pub type PageFaultHook = fn(fault_addr: u64, error_code: u64) -> PageFaultVerdict;

/// What the page-fault hook says of a fault.
pub enum PageFaultVerdict {
    /// Resolved (the page is mapped now): the faulting instruction runs again.
    Handled,
    /// Not in memory the hook manages: the fault handler goes on.
    NotMine,
    /// A fatal error: the report opens with `fatal error: {diagnosis}`.
    Fatal(Diagnosis),
}

/// A fatal diagnosis, formatted into a fixed buffer: the page-fault handler
/// runs on its own interrupt stack with interrupts off, where nothing
/// allocates. Text past [`Diagnosis::CAPACITY`] bytes is cut.
pub struct Diagnosis {
    text: [u8; Diagnosis::CAPACITY],
    len: usize,
}

impl Diagnosis {
    /// Bytes kept: room for the longest diagnosis today (a stack overflow
    /// with every number at its widest: 149 bytes), and small enough that a
    /// verdict stays a cheap return value (clippy's `large_enum_variant`).
    pub const CAPACITY: usize = 160;

    /// `what`, formatted.
    pub fn new(what: fmt::Arguments<'_>) -> Diagnosis {
        let mut d = Diagnosis { text: [0; Diagnosis::CAPACITY], len: 0 };
        let _ = d.write_fmt(what);
        d
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Always valid: `write_str` cuts at a character boundary.
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("?")
    }
}

impl Write for Diagnosis {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut n = s.len().min(Diagnosis::CAPACITY - self.len);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.text[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n == s.len() {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

/// Installs the page-fault hook.
pub fn set_page_fault_hook(hook: PageFaultHook) {
    PAGE_FAULT_HOOK.set(Some(hook));
}

/// Installs the goroutine dump that ends every fatal report: it prints to
/// the console, the reporting goroutine's trace starting at the frame
/// pointer it is given.
pub fn set_goroutine_dump(dump: fn(rbp: u64)) {
    GOROUTINE_DUMP.set(Some(dump));
}

fn goroutine_dump(rbp: u64) {
    if let Some(dump) = GOROUTINE_DUMP.get() {
        dump(rbp);
    }
}

const NAMES: [(&str, &str); 32] = [
    ("divide error", "#DE"),
    ("debug", "#DB"),
    ("non-maskable interrupt", "NMI"),
    ("breakpoint", "#BP"),
    ("overflow", "#OF"),
    ("bound range exceeded", "#BR"),
    ("invalid opcode", "#UD"),
    ("device not available", "#NM"),
    ("double fault", "#DF"),
    ("coprocessor segment overrun", "#MF"),
    ("invalid TSS", "#TS"),
    ("segment not present", "#NP"),
    ("stack-segment fault", "#SS"),
    ("general protection fault", "#GP"),
    ("page fault", "#PF"),
    ("reserved", "-"),
    ("x87 floating-point error", "#MF"),
    ("alignment check", "#AC"),
    ("machine check", "#MC"),
    ("SIMD floating-point error", "#XM"),
    ("virtualization exception", "#VE"),
    ("control protection", "#CP"),
    ("reserved", "-"),
    ("reserved", "-"),
    ("reserved", "-"),
    ("reserved", "-"),
    ("reserved", "-"),
    ("reserved", "-"),
    ("hypervisor injection", "#HV"),
    ("VMM communication", "#VC"),
    ("security exception", "#SX"),
    ("reserved", "-"),
];

/// Handles exception `frame.vector` (< 32), or an interrupt vector nothing
/// handles (the trap dispatcher sends those here too).
pub fn exception(frame: &mut TrapFrame) {
    let vector = frame.vector as usize;
    if vector >= NAMES.len() {
        fatal_trap(frame, format_args!("unexpected interrupt vector {vector}"));
    }
    if vector == 2 && FATAL.load(Ordering::Acquire) {
        halt_forever(); // Another CPU is reporting a fatal error.
    }
    if vector == 14 {
        let addr = Cr2::read_raw();
        match PAGE_FAULT_HOOK.get().map_or(PageFaultVerdict::NotMine, |hook| hook(addr, frame.error_code)) {
            PageFaultVerdict::Handled => return,
            PageFaultVerdict::Fatal(what) => fatal_trap(frame, format_args!("{}", what.as_str())),
            PageFaultVerdict::NotMine => {}
        }
        if memory::is_stack_guard(x86_64::VirtAddr::new_truncate(addr)) {
            fatal_trap(frame, format_args!("stack overflow (page fault in a guard page at {addr:#x})"));
        }
    }
    let (name, mnemonic) = NAMES[vector];
    fatal_trap(frame, format_args!("{name} ({mnemonic}, vector {vector})"));
}

/// Reports a fatal error in an interrupted context and exits.
pub fn fatal_trap(frame: &TrapFrame, what: fmt::Arguments<'_>) -> ! {
    begin_fatal();
    let out = &mut Console;
    let _ = writeln!(out, "fatal error: {what}");
    let _ = write!(out, "[cpu {}, error code {:#x}", percpu::cpu_id(), frame.error_code);
    if frame.vector == 14 {
        let _ = write!(out, " ({})", describe_pf(frame.error_code));
    }
    // CR2 only means something for #PF, but costs nothing to show: a fault
    // taken while handling another can leave a telling value in it.
    let _ = writeln!(out, ", cr2 {:#x}]", Cr2::read_raw());
    let _ = write!(out, "rip {:#x} ", frame.rip);
    backtrace::write_symbol(out, frame.rip);
    let _ = writeln!(out);
    write_registers(out, frame);
    // A jump or call to a bad address faults before any frame is pushed: the
    // caller's return address is then the word at RSP.
    if !backtrace::is_known(frame.rip) && memory::probe(frame.rsp) {
        // SAFETY: RSP was just found mapped.
        let ret = unsafe { *(frame.rsp as *const u64) };
        let _ = write!(out, "rip is in no kernel function; [rsp] {ret:#x} ");
        backtrace::write_symbol(out, ret.wrapping_sub(1));
        let _ = writeln!(out);
    }
    backtrace::print(out, Some(frame.rip), frame.rbp);
    goroutine_dump(frame.rbp);
    qemu::exit(qemu::ExitCode::Failure);
}

/// Reports a fatal error at the caller and exits (Go's `throw`). `rbp` is
/// where the backtrace starts (`backtrace::current_rbp()` at the caller).
pub fn fatal(what: fmt::Arguments<'_>, rbp: u64) -> ! {
    report(format_args!("fatal error: {what}"), None, rbp)
}

/// Reports a Rust panic (`panic: <message>` and where) and exits.
pub fn panic(info: &core::panic::PanicInfo<'_>, rbp: u64) -> ! {
    let loc = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    report(format_args!("panic: {}\n[at {}:{}]", info.message(), loc.0, loc.1), None, rbp)
}

fn report(header: fmt::Arguments<'_>, pc: Option<u64>, rbp: u64) -> ! {
    begin_fatal();
    let out = &mut Console;
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "[cpu {}]", percpu::cpu_id());
    backtrace::print(out, pc, rbp);
    goroutine_dump(rbp);
    qemu::exit(qemu::ExitCode::Failure);
}

fn begin_fatal() {
    x86_64::instructions::interrupts::disable();
    let me = percpu::this();
    if me.in_fatal.swap(true, Ordering::Relaxed) {
        serial::force_write(format_args!("\nfatal error: fault while reporting a fatal error\n"));
        qemu::exit(qemu::ExitCode::Failure);
    }
    if FATAL.swap(true, Ordering::AcqRel) {
        halt_forever();
    }
    apic::send_nmi_all_others();
}

fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

fn describe_pf(code: u64) -> &'static str {
    match (code & 1 != 0, code & 2 != 0, code & 16 != 0) {
        (_, _, true) => {
            if code & 1 != 0 {
                "protection violation, instruction fetch"
            } else {
                "not-present, instruction fetch"
            }
        }
        (false, false, _) => "not-present read",
        (false, true, _) => "not-present write",
        (true, false, _) => "protection violation, read",
        (true, true, _) => "protection violation, write",
    }
}

fn write_registers(out: &mut dyn Write, f: &TrapFrame) {
    let regs = [
        ("rax", f.rax),
        ("rbx", f.rbx),
        ("rcx", f.rcx),
        ("rdx", f.rdx),
        ("rsi", f.rsi),
        ("rdi", f.rdi),
        ("rbp", f.rbp),
        ("rsp", f.rsp),
        ("r8", f.r8),
        ("r9", f.r9),
        ("r10", f.r10),
        ("r11", f.r11),
        ("r12", f.r12),
        ("r13", f.r13),
        ("r14", f.r14),
        ("r15", f.r15),
        ("rflags", f.rflags),
        ("cs", f.cs),
        ("ss", f.ss),
    ];
    for (i, (name, v)) in regs.iter().enumerate() {
        let _ = write!(out, "{name:<6} {v:#018x}{}", if i % 4 == 3 { "\n" } else { "  " });
    }
    let _ = writeln!(out);
}
