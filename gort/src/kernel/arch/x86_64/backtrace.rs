//! Symbolized backtraces: a frame-pointer walk plus the kernel's own symbol table.
//!
//! The kernel (and, through `-C force-frame-pointers=yes` in .cargo/config.toml,
//! every crate it links) keeps RBP as a frame pointer: each frame starts with
//! `push rbp; mov rbp, rsp`, so `[rbp]` is the caller's RBP and `[rbp + 8]` the
//! return address. The walk stops at RBP = 0 (every CPU zeroes RBP before its
//! first Rust frame), at a misaligned or non-canonical RBP, at one that does not
//! grow towards the stack's top, at an unmapped page, or after `MAX_FRAMES`.
//! Each step checks the page is mapped with a lock-free page-table probe, so a
//! corrupt chain ends the trace instead of faulting inside the fault report.
//!
//! Names come from the `runtime::symtab` blob the bootloader loaded as our
//! ramdisk (written by `boot/build.rs` from the ELF's `.symtab`), demangled with
//! `rustc-demangle`. A return address points after the `call`, so we look up
//! `ret - 1` to name the calling function even when the call is its last
//! instruction.
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::symtab::Table;
use rustc_demangle::Demangle;

use super::memory;

pub const MAX_FRAMES: usize = 64;

static SYMTAB_ADDR: AtomicU64 = AtomicU64::new(0);
static SYMTAB_LEN: AtomicU64 = AtomicU64::new(0);

/// Installs the symbol table found in the ramdisk; returns the symbol count.
pub fn init(ramdisk: &'static [u8]) -> Option<usize> {
    let table = Table::parse(ramdisk)?;
    SYMTAB_ADDR.store(ramdisk.as_ptr() as u64, Ordering::Relaxed);
    SYMTAB_LEN.store(ramdisk.len() as u64, Ordering::Release);
    Some(table.len())
}

fn table() -> Option<Table<'static>> {
    let len = SYMTAB_LEN.load(Ordering::Acquire);
    if len == 0 {
        return None;
    }
    // SAFETY: set once in `init` from a 'static slice that was validated.
    let bytes = unsafe { core::slice::from_raw_parts(SYMTAB_ADDR.load(Ordering::Relaxed) as *const u8, len as usize) };
    Table::parse(bytes)
}

/// The function containing `pc`: its name (print it with `{:#}`, which
/// leaves out the hash) and `pc`'s offset in it.
pub fn symbol(pc: u64) -> Option<(Demangle<'static>, u64)> {
    table().and_then(|t| t.lookup(pc)).map(|loc| (rustc_demangle::demangle(loc.name), loc.offset))
}

/// Writes `pc` symbolized: `name+0xoff`, or `?` if unknown.
pub fn write_symbol(out: &mut dyn Write, pc: u64) {
    let _ = match symbol(pc) {
        Some((name, offset)) => write!(out, "{name:#}+{offset:#x}"),
        None => out.write_str("?"),
    };
}

/// Writes the demangled name of the function containing `pc`, or `?`.
pub fn write_function(out: &mut dyn Write, pc: u64) {
    let _ = match symbol(pc) {
        Some((name, _)) => write!(out, "{name:#}"),
        None => out.write_str("?"),
    };
}

/// The start address of the function containing `pc` (`pc` itself if unknown).
pub fn function_start(pc: u64) -> u64 {
    symbol(pc).map_or(pc, |(_, offset)| pc - offset)
}

/// True if `pc` lies inside a known kernel function.
pub fn is_known(pc: u64) -> bool {
    symbol(pc).is_some()
}

/// The return addresses on the frame-pointer chain starting at `rbp`.
pub fn walk(rbp: u64, each: impl FnMut(u64)) {
    walk_some(rbp, MAX_FRAMES, each)
}

/// Like [`walk`], at most `frames` return addresses.
pub fn walk_some(rbp: u64, frames: usize, each: impl FnMut(u64)) {
    walk_reading(rbp, frames, read_mapped, each)
}

/// The word at `addr` if it is mapped (racy: diagnostics only).
pub fn read_mapped(addr: u64) -> Option<u64> {
    if !memory::probe(addr) || !memory::probe(addr + 7) {
        return None;
    }
    // SAFETY: both ends were just found mapped.
    Some(unsafe { core::ptr::read_unaligned(addr as *const u64) })
}

/// Like [`walk_some`], reading the stack through `read` (a goroutine dump
/// reads released stacks from their buffers).
pub fn walk_reading(mut rbp: u64, frames: usize, read: impl Fn(u64) -> Option<u64>, mut each: impl FnMut(u64)) {
    for _ in 0..frames {
        if rbp == 0 || !rbp.is_multiple_of(8) {
            return;
        }
        let (Some(next), Some(ret)) = (read(rbp), read(rbp + 8)) else { return };
        if ret == 0 {
            return;
        }
        each(ret);
        if next <= rbp {
            return;
        }
        rbp = next;
    }
}

/// Prints a backtrace: `pc` first (if the trace starts at an interrupted
/// instruction), then the chain from `rbp`. Runs of the same return address
/// (deep recursion) are folded into one line and a count.
pub fn print(out: &mut dyn Write, pc: Option<u64>, rbp: u64) {
    let _ = writeln!(out, "backtrace:");
    let line = |out: &mut dyn Write, addr: u64, lookup: u64| {
        let _ = write!(out, "  {addr:#018x} ");
        write_symbol(out, lookup);
        let _ = writeln!(out);
    };
    if let Some(pc) = pc {
        line(out, pc, pc);
    }
    let (mut last, mut repeats) = (0, 0u64);
    let fold = |out: &mut dyn Write, repeats: u64| {
        if repeats > 0 {
            let _ = writeln!(out, "  ...the frame above {repeats} more time(s)");
        }
    };
    walk(rbp, |ret| {
        if ret == last {
            repeats += 1;
            return;
        }
        fold(out, repeats);
        repeats = 0;
        last = ret;
        line(out, ret, ret - 1);
    });
    fold(out, repeats);
}

/// The caller's frame pointer (the start of a trace from here).
#[inline(always)]
pub fn current_rbp() -> u64 {
    let rbp: u64;
    // SAFETY: reads a register.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    rbp
}
