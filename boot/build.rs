//! Builds the disk images at compile time of the `boot` crate.
//!
//! 1. Cargo builds the kernel for `x86_64-unknown-none` (an artifact dependency)
//!    and hands us its ELF path in `CARGO_BIN_FILE_KERNEL_kernel`.
//! 2. We read the ELF's function symbols and write them as a `runtime::symtab`
//!    blob; it rides along as the bootloader's ramdisk so the kernel can symbolize
//!    its own backtraces.
//! 3. `bootloader` writes a BIOS (MBR) and a UEFI (GPT) image.
//! 4. The paths reach the runner as `env!` constants.
use std::path::PathBuf;

use object::{Object, ObjectSymbol, SymbolKind};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let kernel = PathBuf::from(std::env::var_os("CARGO_BIN_FILE_KERNEL_kernel").unwrap());

    let elf = std::fs::read(&kernel).expect("read kernel ELF");
    let file = object::File::parse(&*elf).expect("parse kernel ELF");
    let symbols: Vec<runtime::symtab::Symbol<'_>> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| {
            Some(runtime::symtab::Symbol {
                addr: s.address(),
                size: u32::try_from(s.size()).ok()?,
                name: s.name().ok()?,
            })
        })
        .collect();
    let symtab = out.join("kernel.sym");
    std::fs::write(&symtab, runtime::symtab::encode(&symbols)).unwrap();

    let mut config = bootloader::BootConfig::default();
    config.serial_logging = false;
    config.frame_buffer_logging = false;

    let bios = out.join("bios.img");
    bootloader::BiosBoot::new(&kernel)
        .set_ramdisk(&symtab)
        .set_boot_config(&config)
        .create_disk_image(&bios)
        .expect("create BIOS image");
    let uefi = out.join("uefi.img");
    bootloader::UefiBoot::new(&kernel)
        .set_ramdisk(&symtab)
        .set_boot_config(&config)
        .create_disk_image(&uefi)
        .expect("create UEFI image");

    println!("cargo:rustc-env=BIOS_IMAGE={}", bios.display());
    println!("cargo:rustc-env=UEFI_IMAGE={}", uefi.display());
    println!("cargo:rustc-env=KERNEL_ELF={}", kernel.display());
}
