//! ACPI: which CPUs and IOAPICs the machine has, from the MADT.
//!
//! The `acpi` crate parses the tables; we supply the mapping callback. ACPI
//! tables live in RAM, which the bootloader maps at the physical-memory
//! offset; a table outside that mapping is mapped on demand in the MMIO area.
//! The result is a plain [`Platform`] so the rest of the kernel never sees the
//! crate's types.
extern crate alloc;

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::platform::interrupt::{InterruptModel, Polarity, TriggerMode};
use acpi::platform::ProcessorState;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

use super::memory;

/// One IOAPIC.
#[derive(Clone, Copy, Debug)]
pub struct IoApicInfo {
    pub id: u8,
    pub address: u32,
    pub gsi_base: u32,
}

/// An ISA IRQ that arrives on a different GSI or with non-ISA polarity/trigger.
#[derive(Clone, Copy, Debug)]
pub struct Override {
    pub isa_irq: u8,
    pub gsi: u32,
    pub active_low: bool,
    pub level: bool,
}

/// What the MADT says.
#[derive(Debug)]
pub struct Platform {
    /// Local APIC ids of usable CPUs, boot CPU first.
    pub apic_ids: Vec<u32>,
    pub lapic_address: u64,
    pub ioapics: Vec<IoApicInfo>,
    pub overrides: Vec<Override>,
}

#[derive(Clone, Copy)]
struct Handler;

impl AcpiHandler for Handler {
    unsafe fn map_physical_region<T>(&self, pa: usize, size: usize) -> PhysicalMapping<Self, T> {
        let mut va = memory::phys_to_virt(pa as u64);
        if !memory::probe(va.as_u64()) || !memory::probe(va.as_u64() + size as u64 - 1) {
            va = memory::map_mmio(pa as u64, size as u64);
        }
        // SAFETY: `va` maps `size` bytes at `pa` (checked or just mapped), and the
        // mapping lives forever (we never unmap ACPI tables).
        unsafe { PhysicalMapping::new(pa, NonNull::new(va.as_mut_ptr()).unwrap(), size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Reads the MADT through the RSDP at physical address `rsdp`.
pub fn discover(rsdp: u64) -> Result<Platform, &'static str> {
    // SAFETY: the bootloader found the RSDP at this physical address.
    let tables = unsafe { AcpiTables::from_rsdp(Handler, rsdp as usize) }.map_err(|_| "bad ACPI tables")?;
    let info = tables.platform_info().map_err(|_| "no usable MADT")?;
    let apic = match info.interrupt_model {
        InterruptModel::Apic(apic) => apic,
        _ => return Err("the MADT describes no APIC"),
    };
    let processors = info.processor_info.ok_or("the MADT lists no processors")?;
    let mut apic_ids = Vec::new();
    apic_ids.push(processors.boot_processor.local_apic_id);
    for p in processors.application_processors.iter() {
        if p.state != ProcessorState::Disabled {
            apic_ids.push(p.local_apic_id);
        }
    }
    let ioapics = apic
        .io_apics
        .iter()
        .map(|a| IoApicInfo { id: a.id, address: a.address, gsi_base: a.global_system_interrupt_base })
        .collect();
    let overrides = apic
        .interrupt_source_overrides
        .iter()
        .map(|o| Override {
            isa_irq: o.isa_source,
            gsi: o.global_system_interrupt,
            active_low: matches!(o.polarity, Polarity::ActiveLow),
            level: matches!(o.trigger_mode, TriggerMode::Level),
        })
        .collect();
    Ok(Platform { apic_ids, lapic_address: apic.local_apic_address, ioapics, overrides })
}
