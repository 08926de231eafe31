//! IOAPICs (device interrupts) and the legacy 8259 PICs (switched off).
//!
//! Device interrupts reach CPUs through the IOAPICs the MADT lists. At boot
//! every redirection entry is masked; a driver routes its line with [`route`]
//! (the virtio-net driver will, for the netpoller). ISA IRQs are remapped to
//! GSIs through the MADT's interrupt source overrides ([`isa_to_gsi`]).
//!
//! The 8259s are remapped to vectors 0x20–0x2F and then fully masked, so that
//! a spurious legacy IRQ 7 can never arrive as exception vector 15.
extern crate alloc;

use alloc::vec::Vec;
use spin::Once;
use x86_64::instructions::port::Port;

use super::acpi::{IoApicInfo, Override};
use super::memory;

struct IoApic {
    base: u64,
    gsi_base: u32,
    entries: u32,
}

static IOAPICS: Once<Vec<IoApic>> = Once::new();
static OVERRIDES: Once<Vec<Override>> = Once::new();

fn read(base: u64, reg: u32) -> u32 {
    // SAFETY: `base` is the uncached mapping of an IOAPIC's register window:
    // IOREGSEL at +0, IOWIN at +0x10. Callers serialize (boot, or `route`
    // under the caller's lock).
    unsafe {
        core::ptr::write_volatile(base as *mut u32, reg);
        core::ptr::read_volatile((base + 0x10) as *const u32)
    }
}

fn write(base: u64, reg: u32, value: u32) {
    // SAFETY: as in `read`.
    unsafe {
        core::ptr::write_volatile(base as *mut u32, reg);
        core::ptr::write_volatile((base + 0x10) as *mut u32, value);
    }
}

/// Masks the 8259s, maps every IOAPIC and masks all its entries. Boot CPU, once.
pub fn init(ioapics: &[IoApicInfo], overrides: &[Override]) {
    disable_legacy_pic();
    let list = ioapics
        .iter()
        .map(|info| {
            let base = memory::map_mmio(u64::from(info.address), 0x20).as_u64();
            let entries = ((read(base, 1) >> 16) & 0xff) + 1;
            for i in 0..entries {
                write(base, 0x10 + 2 * i, 1 << 16);
                write(base, 0x11 + 2 * i, 0);
            }
            log::info!(
                "ioapic: id {} at {:#x}, GSIs {}..{}",
                info.id,
                info.address,
                info.gsi_base,
                info.gsi_base + entries
            );
            IoApic { base, gsi_base: info.gsi_base, entries }
        })
        .collect();
    IOAPICS.call_once(|| list);
    OVERRIDES.call_once(|| overrides.to_vec());
}

/// The GSI an ISA IRQ arrives on, and whether it is active-low / level-triggered.
pub fn isa_to_gsi(irq: u8) -> (u32, bool, bool) {
    OVERRIDES
        .get()
        .and_then(|o| o.iter().find(|o| o.isa_irq == irq))
        .map_or((u32::from(irq), false, false), |o| (o.gsi, o.active_low, o.level))
}

/// Routes `gsi` to `vector` on the CPU with APIC id `dest`, unmasked.
pub fn route(gsi: u32, vector: u8, dest: u32, active_low: bool, level: bool) -> Result<(), &'static str> {
    let ioapic = IOAPICS
        .get()
        .and_then(|l| l.iter().find(|a| (a.gsi_base..a.gsi_base + a.entries).contains(&gsi)))
        .ok_or("no IOAPIC serves this GSI")?;
    let i = gsi - ioapic.gsi_base;
    let low = u32::from(vector) | (u32::from(active_low) << 13) | (u32::from(level) << 15);
    write(ioapic.base, 0x11 + 2 * i, dest << 24);
    write(ioapic.base, 0x10 + 2 * i, low);
    Ok(())
}

fn disable_legacy_pic() {
    // SAFETY: the standard 8259 initialization sequence on the master (0x20)
    // and slave (0xa0) PICs: ICW1..ICW4, then mask every line.
    unsafe {
        let (mut c1, mut d1, mut c2, mut d2) =
            (Port::<u8>::new(0x20), Port::<u8>::new(0x21), Port::<u8>::new(0xa0), Port::<u8>::new(0xa1));
        c1.write(0x11);
        c2.write(0x11);
        d1.write(0x20);
        d2.write(0x28);
        d1.write(4);
        d2.write(2);
        d1.write(1);
        d2.write(1);
        d1.write(0xff);
        d2.write(0xff);
    }
}
