//! Per-CPU GDT and TSS, with IST stacks for the faults that must not trust the
//! current stack.
//!
//! Every CPU gets its own GDT (code, data, TSS descriptors) and its own TSS,
//! because a TSS descriptor is marked busy once loaded and cannot be shared.
//! The TSS's interrupt stack table gives four exceptions and every interrupt
//! a known-good stack, each above an unmapped guard page:
//!
//! | IST | vector          | why                                                  |
//! |-----|-----------------|------------------------------------------------------|
//! | 1   | #DF double fault | the stack may be what faulted                        |
//! | 2   | NMI             | can arrive anywhere, even mid-stack-switch            |
//! | 3   | #MC machine check | same                                                |
//! | 4   | #PF page fault  | goroutine stacks grow on demand: the fault happens     |
//! |     |                 | exactly when the current stack has run out            |
//! | 5   | interrupts 32-255 | a goroutine stack may have no page under its stack  |
//! |     |                 | pointer: the CPU's own push of an interrupt frame would |
//! |     |                 | fault, and the interrupt would be lost (`trap.rs`)     |
//!
//! A fault *on* an IST stack while it is in use would overwrite it; the guard
//! page turns that into a double fault instead, which has its own stack.
extern crate alloc;

use alloc::boxed::Box;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

use super::memory;

/// IST slots (1-based in the IDT, 0-based in the TSS table).
pub const IST_DOUBLE_FAULT: u8 = 1;
pub const IST_NMI: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;
pub const IST_PAGE_FAULT: u8 = 4;
pub const IST_INTERRUPT: u8 = 5;

const IST_STACK_SIZE: u64 = 32 * 1024;
/// Interrupt handlers run here, the Ctrl+\ goroutine dump included.
pub const IST_INTERRUPT_STACK_SIZE: u64 = 64 * 1024;

/// Builds and loads this CPU's GDT and TSS.
pub fn init_cpu() {
    let mut tss = TaskStateSegment::new();
    for ist in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK, IST_PAGE_FAULT] {
        tss.interrupt_stack_table[usize::from(ist - 1)] = memory::alloc_stack(IST_STACK_SIZE).top;
    }
    let irq_stack = memory::alloc_stack(IST_INTERRUPT_STACK_SIZE).top;
    tss.interrupt_stack_table[usize::from(IST_INTERRUPT - 1)] = irq_stack;
    super::percpu::this().irq_stack_top.store(irq_stack.as_u64(), core::sync::atomic::Ordering::Relaxed);
    let tss: &'static TaskStateSegment = Box::leak(Box::new(tss));
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_sel = gdt.append(Descriptor::tss_segment(tss));
    let gdt: &'static GlobalDescriptorTable = Box::leak(Box::new(gdt));
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which is
    // 'static. GS and FS are left alone: reloading GS would clear its base.
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_sel);
    }
}
