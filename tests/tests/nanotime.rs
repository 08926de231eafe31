//! `nanotime()` agrees with the host's wall clock within 5% over 2 s.
//!
//! The kernel prints "mark 0", sleeps until `nanotime()` has advanced 2 s
//! (halting on its one-shot timer, so this also proves the CPU is tickless:
//! a handful of interrupts, not one per tick), and prints "mark 1". The host
//! time-stamps both lines as they arrive. This file is its own test binary so
//! no other QEMU competes for the host's cores while it measures.
use tests::*;

#[test]
fn nanotime_tracks_host_clock() {
    let out = boot(1, Firmware::Bios, "test=nanotime");
    expect_verdict(&out, Verdict::Pass);
    let t0 = out.line_time("nanotime: mark 0").expect("mark 0");
    let t1 = out.line_time("nanotime: mark 1").expect("mark 1");
    let host = (t1 - t0).as_secs_f64();
    let error = (host - 2.0).abs() / 2.0;
    println!("kernel 2.000 s = host {host:.4} s ({:.2}% off)", error * 100.0);
    assert!(error < 0.05, "host measured {host:.4} s for the kernel's 2 s; console:\n{}", out.output);
    let slept = find_line(&out, "nanotime: slept").unwrap();
    assert!(slept.contains("timer interrupt(s)"), "{slept}");
}
