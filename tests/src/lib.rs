//! Shared helpers for the QEMU integration tests in `tests/tests/`.
//!
//! Each test boots a program (the self-test program `selftest/` unless it
//! names another) through `boot::run` with a timeout, then asserts
//! on the verdict (the kernel's exit code through `isa-debug-exit`) and on what
//! the serial console printed. A failed assertion prints the whole console.
use std::time::Duration;

pub use boot::{Config, Firmware, Outcome, Verdict};

/// The configuration `boot` uses, for tests that change one more thing.
pub fn config(cpus: u32, firmware: Firmware, cmdline: &str) -> Config {
    Config {
        cpus,
        firmware,
        cmdline: cmdline.to_string(),
        // Generous: 8 vCPUs under TCG on a loaded 2-core machine are slow, and a
        // hang must still end the test.
        timeout: Duration::from_secs(120),
        ..Config::default()
    }
}

/// Boots with `cpus` vCPUs, `firmware` and boot parameters `cmdline`.
pub fn boot(cpus: u32, firmware: Firmware, cmdline: &str) -> Outcome {
    boot_with(&config(cpus, firmware, cmdline))
}

/// Boots program `program` (a repo program's name: a demo, or `bench`)
/// with `cpus` vCPUs, BIOS, and boot parameters `cmdline`.
pub fn boot_program(program: &str, cpus: u32, cmdline: &str) -> Outcome {
    boot_with(&Config { program: program.into(), ..config(cpus, Firmware::Bios, cmdline) })
}

/// Boots `config`.
pub fn boot_with(config: &Config) -> Outcome {
    boot::run(config, |_| {}).unwrap_or_else(|e| panic!("cannot run QEMU: {e}"))
}

/// Asserts the run ended with `verdict`.
pub fn expect_verdict(outcome: &Outcome, verdict: Verdict) {
    assert_eq!(outcome.verdict, verdict, "unexpected verdict; console:\n{}", outcome.output);
}

/// Asserts the console has a line containing `needle`.
pub fn expect_line(outcome: &Outcome, needle: &str) {
    assert!(
        outcome.output.lines().any(|l| l.contains(needle)),
        "no line contains {needle:?}; console:\n{}",
        outcome.output
    );
}

/// The first line containing `needle`, if any.
pub fn find_line<'a>(outcome: &'a Outcome, needle: &str) -> Option<&'a str> {
    outcome.output.lines().find(|l| l.contains(needle))
}

/// The number after `key` in `line` (`"... longest wait 123 us"` → 123).
pub fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("{key:?} not in {line:?}")) + key.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}
