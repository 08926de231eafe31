//! `nanotime()` agrees with the host's wall clock within 5% over 2 s.
//!
//! The kernel prints "mark 0 at T0 ns", sleeps until `nanotime()` has advanced
//! at least 2 s (halting on its one-shot timer, so this also shows the CPU is
//! tickless: a handful of interrupts, not one per tick), and prints "mark 1 at
//! T1 ns". The host time-stamps both lines as they arrive and compares its own
//! interval with the kernel's `T1 - T0`. (Not with 2 s: on a loaded host the
//! timer interrupt can arrive late, which makes the sleep longer but says
//! nothing about the clock.) This file is its own test binary so no other QEMU
//! competes for the host's cores while it measures.
use tests::*;

fn mark_ns(out: &Outcome, mark: &str) -> f64 {
    let line = find_line(out, mark).unwrap_or_else(|| panic!("no {mark:?}:\n{}", out.output));
    line.rsplit(' ').nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn nanotime_tracks_host_clock() {
    let out = boot(1, Firmware::Bios, "test=nanotime");
    expect_verdict(&out, Verdict::Pass);
    let kernel = (mark_ns(&out, "nanotime: mark 1 at ") - mark_ns(&out, "nanotime: mark 0 at ")) / 1e9;
    let t0 = out.line_time("nanotime: mark 0").expect("mark 0");
    let t1 = out.line_time("nanotime: mark 1").expect("mark 1");
    let host = (t1 - t0).as_secs_f64();
    let error = (host - kernel).abs() / kernel;
    println!("kernel {kernel:.4} s = host {host:.4} s ({:.2}% off)", error * 100.0);
    assert!(kernel >= 2.0, "the kernel slept less than 2 s by its own clock: {kernel}");
    assert!(error < 0.05, "host measured {host:.4} s for the kernel's {kernel:.4} s; console:\n{}", out.output);
    let slept = find_line(&out, "nanotime: slept").unwrap();
    assert!(slept.contains("timer interrupt(s)"), "{slept}");
}
