//! `boot`: build-time disk images in, a QEMU run out.
//!
//! ```text
//! cargo run -p boot -- [--cpus N] [--mem MIB] [--bios|--uefi] [--kvm] [--gdb]
//!                      [--timeout SECS] [--dry-run] [KEY=VALUE ...]
//! ```
//! Serial output goes to stdout; the exit status mirrors the kernel's verdict
//! (0 pass, 1 fail, 2 QEMU ended without a verdict, 3 timeout, 64 bad usage).
use std::time::Duration;

use boot::{Accel, Config, Firmware, Verdict};

const MIN_MEM_MIB: u64 = 64;

const USAGE: &str = "usage: boot [--cpus N] [--mem MIB] [--bios|--uefi] [--kvm] [--gdb] \
[--timeout SECS] [--dry-run] [KEY=VALUE ...]
  --cpus N        vCPUs (1..=64, default 1)
  --mem MIB       guest memory in MiB, at least 64 (default 512)
  --bios|--uefi   firmware (default BIOS; UEFI uses OVMF)
  --kvm           use KVM instead of TCG (broken under nested virtualization; never automatic)
  --gdb           wait for gdb on :1234 before the first instruction; no timeout
  --timeout SECS  kill QEMU after SECS seconds (default 60); exit status 3
  --dry-run       print the QEMU command and exit
  KEY=VALUE       boot parameters for the kernel (e.g. GOMAXPROCS=2 demo=hello)";

fn parse_args(args: &[String]) -> Result<(Config, bool), String> {
    let mut config = Config::default();
    let mut dry_run = false;
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        match arg.as_str() {
            "--cpus" => {
                config.cpus = value("--cpus")? as u32;
                if !(1..=64).contains(&config.cpus) {
                    return Err("--cpus: want 1..=64".into());
                }
            }
            "--mem" => {
                let mib = value("--mem")?;
                // Below this the firmware or the bootloader stalls before the kernel
                // runs, and the kernel wants a 32 MiB heap besides.
                if !(MIN_MEM_MIB..=1 << 20).contains(&mib) {
                    return Err(format!("--mem: want {MIN_MEM_MIB}..=1048576 MiB"));
                }
                config.memory_mib = mib as u32;
            }
            "--timeout" => config.timeout = Duration::from_secs(value("--timeout")?),
            "--bios" => config.firmware = Firmware::Bios,
            "--uefi" => config.firmware = Firmware::Uefi,
            "--kvm" => config.accel = Accel::Kvm,
            "--gdb" => config.gdb = true,
            "--dry-run" => dry_run = true,
            "-h" | "--help" => return Err(String::new()),
            w if w.contains('=') && !w.starts_with('-') => words.push(w.to_string()),
            w => return Err(format!("unknown argument {w:?}")),
        }
    }
    config.cmdline = words.join(" ");
    Ok((config, dry_run))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, dry_run) = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("boot: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 64 });
        }
    };
    if dry_run {
        let image = match config.firmware {
            Firmware::Bios => boot::BIOS_IMAGE,
            Firmware::Uefi => boot::UEFI_IMAGE,
        };
        println!("{:?}", boot::qemu_command(&config, std::path::Path::new(image)));
        return;
    }
    if config.accel == Accel::Kvm {
        eprintln!("boot: KVM requested; on nested-virtualization hosts it crashes or runs ~30x slower than TCG");
    }
    if config.gdb {
        eprintln!("boot: QEMU waits for gdb. In another terminal:");
        eprintln!("  gdb {} -ex 'target remote :1234'", boot::KERNEL_ELF);
        eprintln!("  (the kernel is linked at its run-time address: no add-symbol-file needed)");
    }
    let outcome = match boot::run(&config, |line| println!("{line}")) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("boot: {e}");
            std::process::exit(2);
        }
    };
    let ms = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{} ms", d.as_millis()));
    eprintln!(
        "boot: {:?}; kernel entry after {}, all CPUs online after {}, {} ms in all",
        outcome.verdict,
        ms(outcome.to_entry),
        ms(outcome.to_all_online),
        outcome.elapsed.as_millis()
    );
    if outcome.verdict == Verdict::Timeout {
        eprintln!("boot: timed out after {} s", config.timeout.as_secs());
    }
    std::process::exit(outcome.verdict.exit_code());
}
