//! `GODEBUG=schedtrace=MS`: every MS milliseconds, Go's `SCHED` line
//! (gomaxprocs, idle Ps, Ms, spinning Ms, idle Ms, the global queue and every
//! P's local queue) and a line of per-P counters (goroutines run, stolen,
//! preempted), printed by a system goroutine that sleeps between lines.
//!
//! Go prints these from sysmon; here a goroutine does it, which is excluded
//! from `num_goroutine` like Go's system goroutines. While it runs, a
//! deadlocked program is not detected (its timer is always pending).
use alloc::string::String;

use runtime::sched;

/// Starts the printer (before the main goroutine, on the boot CPU's P).
pub fn start(ms: u64) {
    sched::go(move || {
        sched::proc::mark_system_goroutine();
        loop {
            sched::sleep(ms * 1_000_000);
            let mut lines = String::new();
            let _ = sched::proc::write_schedtrace(&mut lines, super::arch::nanotime() / 1_000_000);
            crate::print!("{lines}");
        }
    });
}
