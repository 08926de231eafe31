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

    // The disk gets a copy without DWARF: the BIOS stage reads the kernel file
    // through INT 13h, slow under TCG, and debug info is most of the file. gdb
    // and the symbol table above use the full ELF.
    let disk_kernel = strip_debug(&kernel, &out).unwrap_or_else(|why| {
        println!("cargo:warning=booting the unstripped kernel ({why})");
        kernel.clone()
    });

    let mut config = bootloader::BootConfig::default();
    config.serial_logging = false;
    config.frame_buffer_logging = false;

    for (name, env) in [("bios.img", "BIOS_IMAGE"), ("uefi.img", "UEFI_IMAGE")] {
        let image = out.join(name);
        let made = if name == "bios.img" {
            bootloader::BiosBoot::new(&disk_kernel)
                .set_ramdisk(&symtab)
                .set_boot_config(&config)
                .create_disk_image(&image)
        } else {
            bootloader::UefiBoot::new(&disk_kernel)
                .set_ramdisk(&symtab)
                .set_boot_config(&config)
                .create_disk_image(&image)
        };
        made.unwrap_or_else(|e| panic!("create {name}: {e}"));
        println!("cargo:rustc-env={env}={}", image.display());
    }
    println!("cargo:rustc-env=KERNEL_ELF={}", kernel.display());
}

/// Writes `kernel` without debug sections, using the toolchain's `llvm-objcopy`
/// (rustup component `llvm-tools-preview`, listed in rust-toolchain.toml).
fn strip_debug(kernel: &std::path::Path, out: &std::path::Path) -> Result<PathBuf, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let host = std::env::var("HOST").unwrap();
    let objcopy = PathBuf::from(sysroot).join("lib/rustlib").join(host).join("bin/llvm-objcopy");
    let stripped = out.join("kernel.stripped");
    let status = std::process::Command::new(&objcopy)
        .arg("--strip-debug")
        .arg(kernel)
        .arg(&stripped)
        .status()
        .map_err(|e| format!("{}: {e}", objcopy.display()))?;
    if !status.success() {
        return Err(format!("llvm-objcopy failed: {status}"));
    }
    Ok(stripped)
}
