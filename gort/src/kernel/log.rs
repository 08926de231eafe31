//! The kernel's `log` backend: every line says when and on which CPU.
//!
//! ```text
//! [    1.234567] cpu2 INFO  smp: cpu2 online, apic id 2
//! ```
//! Time is `nanotime()` (0 until the TSC is calibrated). The level comes from
//! the `loglevel=` boot parameter (default `info`).
use log::{Level, LevelFilter, Metadata, Record};

use super::arch;

struct Logger;

static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = arch::nanotime();
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        crate::println!(
            "[{:5}.{:06}] cpu{} {level} {}",
            ns / 1_000_000_000,
            ns / 1000 % 1_000_000,
            arch::cpu_id(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger at `level`.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// The filter for a `loglevel=` word (validated by the parameter table).
pub fn parse_level(word: &str) -> LevelFilter {
    match word {
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Info,
    }
}
