//! The x86_64 machine layer: everything that knows it runs on a PC.
//!
//! One file per unit. The boot CPU runs [`init`], which brings the machine up
//! in this order (each step needs the ones before it):
//!
//! 1. per-CPU area for CPU 0 (the logger asks for the CPU id), console;
//! 2. IDT without IST stacks, with the exception handler (so even early
//!    faults are reported), and the symbol table from the ramdisk (so their
//!    backtraces have names);
//! 3. frame bitmap and page tables, the kernel heap, the goroutine stack
//!    arena (stacks grow through the page-fault hook), the goroutine dump
//!    of fatal reports;
//! 4. this CPU's GDT/TSS, and IST stacks for #DF, NMI, #MC, #PF;
//! 5. TSC calibration (`nanotime`), then the RTC (`walltime`);
//! 6. ACPI MADT → CPUs and IOAPICs; local APIC (x2APIC or xAPIC) and its timer;
//!    IOAPICs masked, legacy PICs off;
//! 7. interrupt handlers and the preemption entry, interrupts on;
//! 8. the application processors (`smp`).
//!
//! The portable runtime reaches the machine only through the scheduler's
//! machine interface, which `machine.rs` implements, and the goroutine
//! dump's `Unwinder`, which `traceback.rs` implements.
//!
//! ## Layers
//! A file imports only files in lower layers, plus the few imports within
//! a layer marked `→` below, so the imports have no cycles. Where a lower
//! file must call up (an exception into the fault handler, a page fault
//! into the stack arena, a fatal error into the goroutine dump, an
//! interrupt into its handler), it calls a hook (a `runtime::hook::Hook`)
//! that [`init`] installs:
//!
//! | layer | files |
//! |-------|-------|
//! | 5 | `machine`, `traceback` (goroutine dumps, Ctrl+\\) |
//! | 4 | `stack` (goroutine stacks, the page-fault verdict), `heap` |
//! | 3 | `fault` (exceptions, the fatal path), `smp` |
//! | 2 | `trap` (IDT, entry, dispatch to installed handlers), `tlb`, `profile` |
//! | 1 | `apic`, `ioapic` (→ `acpi`), `acpi`, `gdt`, `rtc`, `backtrace` |
//! | 0 | `memory` (→ `sync`), `serial` (→ `sync`), `time` (→ `cpuid`), `sync`, `cpuid`, `percpu`, `qemu`, `context` |
//!
//! So `trap` knows neither `fault` nor `machine` (its exception,
//! preemption and interrupt handlers are installed), `tlb` does not know
//! `trap` (its IPI handler is registered here), and `fault` knows neither
//! `stack` nor `traceback`: the stack arena's page-fault hook returns a
//! verdict carrying its own diagnosis, and the fatal path's goroutine dump
//! is a hook. This file sits above them all and wires them; `smp` calls
//! back only into [`enable_cpu_features`], the per-CPU part of the boot.
//! `tests/tests/layering.rs` reads these files and fails on any import
//! cycle, naming it.
pub mod acpi;
pub mod apic;
pub mod backtrace;
pub mod context;
pub mod cpuid;
pub mod fault;
pub mod gdt;
pub mod heap;
pub mod ioapic;
pub mod machine;
pub mod memory;
pub mod percpu;
pub mod profile;
pub mod qemu;
pub mod rtc;
pub mod serial;
pub mod smp;
pub mod stack;
pub mod sync;
pub mod time;
pub mod tlb;
pub mod traceback;
pub mod trap;

use core::sync::atomic::Ordering;

use bootloader_api::BootInfo;

pub use percpu::cpu_id;
pub use qemu::{exit, ExitCode};
pub use rtc::{time_now, walltime};
pub use time::nanotime;

/// What `init` found, for the boot log and the tests.
#[derive(Debug)]
pub struct Machine {
    pub cpus_found: usize,
    pub cpus_online: usize,
    pub symbols: usize,
}

/// Earliest steps: per-CPU area and console. Call before anything logs.
pub fn init_early() {
    percpu::init(0, 0);
    serial::init();
}

/// Brings the machine up (see the module essay). Boot CPU, once.
pub fn init(boot_info: &'static BootInfo, stack_reservation: u64) -> Machine {
    trap::init_idt();
    trap::set_exception_handler(fault::exception);
    let symbols = boot_info.ramdisk_addr.into_option().and_then(|addr| {
        // SAFETY: the bootloader mapped the ramdisk at `addr` for `ramdisk_len` bytes
        // and never reuses that memory.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, boot_info.ramdisk_len as usize) };
        backtrace::init(bytes)
    });
    if symbols.is_none() {
        log::warn!("backtrace: no symbol table in the ramdisk; backtraces print bare addresses");
    }

    let phys_offset =
        boot_info.physical_memory_offset.into_option().expect("bootloader gave no physical-memory mapping");
    memory::init(&boot_info.memory_regions, phys_offset);
    heap::init();
    stack::init(stack_reservation);
    fault::set_page_fault_hook(stack::on_page_fault);
    fault::set_goroutine_dump(|rbp| traceback::dump(&mut serial::Console, rbp));
    gdt::init_cpu();
    trap::enable_ist();
    enable_cpu_features();

    time::calibrate();
    rtc::init();
    let rsdp = boot_info.rsdp_addr.into_option().expect("bootloader found no ACPI RSDP");
    let platform = acpi::discover(rsdp).unwrap_or_else(|e| panic!("ACPI: {e}"));
    apic::init_bsp(platform.lapic_address);
    let bsp_id = apic::id();
    percpu::this().apic_id.store(bsp_id, Ordering::Relaxed);
    // The MADT lists the boot CPU first in practice; make sure of it.
    let mut apic_ids = platform.apic_ids.clone();
    if let Some(pos) = apic_ids.iter().position(|&id| id == bsp_id) {
        apic_ids.swap(0, pos);
    }
    if apic_ids.len() > percpu::MAX_CPUS {
        log::warn!("smp: {} CPUs found, using the first {}", apic_ids.len(), percpu::MAX_CPUS);
        apic_ids.truncate(percpu::MAX_CPUS);
    }
    ioapic::init(&platform.ioapics, &platform.overrides);

    trap::set_handler(apic::TIMER_VECTOR, machine::on_timer_interrupt);
    trap::set_preempt_handler(machine::preempt_here);
    trap::set_handler(apic::WAKE_VECTOR, machine::on_wake_interrupt);
    trap::set_handler(apic::CALL_VECTOR, |_| {});
    #[cfg(feature = "testing")]
    ping_pong_handlers();
    trap::set_handler(tlb::FLUSH_VECTOR, |_| tlb::on_flush_interrupt());
    trap::set_handler(apic::ERROR_VECTOR, |_| log::error!("apic: error interrupt"));
    traceback::init_console_interrupt();
    percpu::this().online.store(true, Ordering::Release);
    x86_64::instructions::interrupts::enable();

    let mut brand = [0u8; 48];
    log::info!("cpu: {}, {} CPUs in the MADT", cpuid::brand(&mut brand), apic_ids.len());
    log::info!("smp: cpu0 online, apic id {bsp_id}");
    let online = smp::start_aps(&apic_ids);
    Machine { cpus_found: apic_ids.len(), cpus_online: online, symbols: symbols.unwrap_or(0) }
}

/// IPI tests (`testing`): a ping is answered with a pong to the CPU named
/// in the receiver's `ping_from`; both sides count in their per-CPU areas.
#[cfg(feature = "testing")]
fn ping_pong_handlers() {
    trap::set_handler(apic::PING_VECTOR, |_| {
        let me = percpu::this();
        let from = me.ping_from.load(Ordering::Acquire) as usize;
        me.pings_answered.fetch_add(1, Ordering::Release);
        apic::send_ipi(percpu::get(from).apic_id.load(Ordering::Relaxed), apic::PONG_VECTOR);
    });
    trap::set_handler(apic::PONG_VECTOR, |_| {
        percpu::this().pongs.fetch_add(1, Ordering::Release);
    });
}

/// Per-CPU control-register features every CPU turns on.
pub fn enable_cpu_features() {
    memory::enable_nx();
    machine::enable_fpu();
    memory::grow_emulator_tlb();
}

/// Halts this CPU until the next interrupt (interrupts enabled).
pub fn halt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}
