//! `boot`: build a program, boot it in QEMU; or make a new program.
//!
//! ```text
//! boot [PROGRAM] [--cpus N] [--mem MIB] [--bios|--uefi] [--kvm] [--gdb]
//!      [--timeout SECS] [--release] [--dry-run] [KEY=VALUE ...]
//! boot --list
//! boot new PATH
//! ```
//! Serial output goes to stdout; the exit status mirrors the program's
//! verdict (0 pass, 1 fail, 2 QEMU ended without a verdict, 3 timeout, 64
//! bad usage).
use std::path::PathBuf;
use std::time::Duration;

use boot::{program, Accel, Config, Firmware, Profile, Verdict};
use lexopt::prelude::*;

const MIN_MEM_MIB: u64 = 64;

const USAGE: &str = "usage: boot [PROGRAM] [--cpus N] [--mem MIB] [--bios|--uefi] [--kvm] [--gdb] \
[--timeout SECS] [--release] [--dry-run] [KEY=VALUE ...]
       boot --list
       boot new PATH
  PROGRAM         a repo program (see --list): a demo in programs/, `selftest` (the
                  self-test scenarios, test=NAME; the default) or `bench` (Go's
                  benchmark mirrors, bench=NAME); or the path of a program crate
  --cpus N        vCPUs (1..=64, default 1)
  --mem MIB       guest memory in MiB, at least 64 (default 512)
  --bios|--uefi   firmware (default BIOS; UEFI uses OVMF)
  --kvm           use KVM instead of TCG (broken under nested virtualization; never automatic)
  --gdb           wait for gdb on :1234 before the first instruction; no timeout
  --timeout SECS  kill QEMU after SECS seconds (default 60); exit status 3
  --release       build without debug assertions and overflow checks (as ./x bench)
  --dry-run       build, print the QEMU command and exit
  --list          list the repo programs: the demos, then selftest and bench
  new PATH        create a program crate at PATH, ready to boot with `./x run PATH`
  KEY=VALUE       boot parameters (e.g. GOMAXPROCS=2); a bad one lists the valid keys";

/// What the command line asks for.
#[derive(Debug)]
enum Action {
    Boot { config: Box<Config>, dry_run: bool },
    List,
    New(PathBuf),
    Help,
}

fn parse_args(args: Vec<String>) -> Result<Action, String> {
    let mut config = Config::default();
    let (mut dry_run, mut program, mut words) = (false, None, Vec::new());
    let mut parser = lexopt::Parser::from_args(args);
    let e = |e: lexopt::Error| e.to_string();
    while let Some(arg) = parser.next().map_err(e)? {
        match arg {
            Long("cpus") => {
                config.cpus = number(&mut parser, "--cpus")? as u32;
                if !(1..=64).contains(&config.cpus) {
                    return Err("--cpus: want 1..=64".into());
                }
            }
            Long("mem") => {
                let mib = number(&mut parser, "--mem")?;
                // Below this the firmware or the bootloader stalls before the
                // kernel runs, and the kernel wants a 32 MiB heap besides.
                if !(MIN_MEM_MIB..=1 << 20).contains(&mib) {
                    return Err(format!("--mem: want {MIN_MEM_MIB}..=1048576 MiB"));
                }
                config.memory_mib = mib as u32;
            }
            Long("timeout") => config.timeout = Duration::from_secs(number(&mut parser, "--timeout")?),
            Long("bios") => config.firmware = Firmware::Bios,
            Long("uefi") => config.firmware = Firmware::Uefi,
            Long("kvm") => config.accel = Accel::Kvm,
            Long("gdb") => config.gdb = true,
            Long("release") => config.profile = Profile::Release,
            Long("dry-run") => dry_run = true,
            Long("list") => return Ok(Action::List),
            Short('h') | Long("help") => return Ok(Action::Help),
            Value(v) => {
                let v = v.into_string().map_err(|v| format!("argument {v:?} is not UTF-8"))?;
                if v.contains('=') {
                    words.push(v);
                } else if v == "new" && program.is_none() && words.is_empty() {
                    let path = parser.value().map_err(|_| "new: which PATH?".to_string())?;
                    if let Some(extra) = parser.next().map_err(e)? {
                        return Err(format!("new takes one PATH; unexpected {}", extra.unexpected()));
                    }
                    return Ok(Action::New(path.into()));
                } else if program.is_none() && words.is_empty() {
                    program = Some(v);
                } else {
                    return Err(format!("unexpected argument {v:?}: boot parameters are KEY=VALUE"));
                }
            }
            Long(name) => return Err(format!("unknown argument {:?}", format!("--{name}"))),
            Short(c) => return Err(format!("unknown argument {:?}", format!("-{c}"))),
        }
    }
    if let Some(p) = program {
        config.program = p;
    }
    config.cmdline = words.join(" ");
    Ok(Action::Boot { config: Box::new(config), dry_run })
}

fn number(parser: &mut lexopt::Parser, name: &str) -> Result<u64, String> {
    let v = parser.value().map_err(|_| format!("{name} needs a value"))?;
    let v = v.to_string_lossy().into_owned();
    v.parse().map_err(|_| format!("{name}: {v:?} is not a number"))
}

fn usage_error(e: &str) -> ! {
    eprintln!("boot: {e}");
    eprintln!("{USAGE}");
    std::process::exit(64)
}

fn main() {
    let action = parse_args(std::env::args().skip(1).collect()).unwrap_or_else(|e| usage_error(&e));
    let (config, dry_run) = match action {
        Action::Help => {
            println!("{USAGE}");
            return;
        }
        Action::List => {
            for name in program::list() {
                println!("{name}");
            }
            return;
        }
        Action::New(path) => match boot::new::create(&path) {
            Ok(name) => {
                eprintln!(
                    "boot: created program {name} at {}; boot it with ./x run {}",
                    path.display(),
                    path.display()
                );
                return;
            }
            Err(e) => {
                eprintln!("boot: new: {e}");
                std::process::exit(1);
            }
        },
        Action::Boot { config, dry_run } => (config, dry_run),
    };
    if let Err(e) = program::locate(&config.program) {
        usage_error(&e);
    }
    if dry_run || config.gdb {
        let built = program::build(&config.program, config.profile).unwrap_or_else(|e| {
            eprintln!("boot: {e}");
            std::process::exit(2)
        });
        if dry_run {
            println!("{:?}", boot::qemu_command(&config, Some(built.image(config.firmware))));
            return;
        }
        eprintln!("boot: QEMU waits for gdb. In another terminal:");
        eprintln!("  gdb {} -ex 'target remote :1234'", built.elf.display());
        eprintln!("  (the kernel is linked at its run-time address: no add-symbol-file needed)");
    }
    if config.accel == Accel::Kvm {
        eprintln!("boot: KVM requested; on nested-virtualization hosts it crashes or runs ~30x slower than TCG");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Action, String> {
        parse_args(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn program_options_and_parameters() {
        let Ok(Action::Boot { config, dry_run }) =
            parse(&["hello", "--cpus", "4", "--uefi", "--release", "GOMAXPROCS=2", "loglevel=warn"])
        else {
            panic!("not a boot")
        };
        assert_eq!(config.program, "hello");
        assert_eq!((config.cpus, config.firmware, config.profile), (4, Firmware::Uefi, Profile::Release));
        assert_eq!(config.cmdline, "GOMAXPROCS=2 loglevel=warn");
        assert!(!dry_run);
        let Ok(Action::Boot { config, .. }) = parse(&["--cpus", "2", "test=boot"]) else { panic!("not a boot") };
        assert_eq!((config.program.as_str(), config.cmdline.as_str()), (program::DEFAULT_PROGRAM, "test=boot"));
    }

    #[test]
    fn new_list_and_bad_usage() {
        assert!(
            matches!(parse(&["new", "/tmp/x"]), Ok(Action::New(p)) if p.as_path() == std::path::Path::new("/tmp/x"))
        );
        assert!(matches!(parse(&["--list"]), Ok(Action::List)));
        assert_eq!(parse(&["new"]).unwrap_err(), "new: which PATH?");
        assert!(parse(&["new", "a", "b"]).unwrap_err().contains("one PATH"));
        assert_eq!(parse(&["--cpus", "0"]).unwrap_err(), "--cpus: want 1..=64");
        assert_eq!(parse(&["--cpus", "x"]).unwrap_err(), "--cpus: \"x\" is not a number");
        assert!(parse(&["hello", "world"]).unwrap_err().contains("KEY=VALUE"));
        assert!(parse(&["GOMAXPROCS=2", "hello"]).unwrap_err().contains("KEY=VALUE"));
        assert!(parse(&["--frobnicate"]).unwrap_err().contains("--frobnicate"));
    }
}
