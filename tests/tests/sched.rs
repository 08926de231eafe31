//! The scheduler (issue 4), booted in QEMU: goroutines on every core, work
//! stealing, sleeping, preemption of `loop {}` hogs, FPU/SSE state across
//! preemption, runtime locks under a 100 µs slice, stack growth and overflow,
//! deadlock detection and the goroutine dump (also on Ctrl+\).
use std::time::Duration;

use tests::*;

#[test]
fn hundred_thousand_goroutines_on_4_cpus() {
    let out = boot(4, Firmware::Bios, "test=goroutines");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "goroutines: 100000 of 100000 completed");
    expect_line(&out, "every P ran some: true");
    expect_line(&out, "goroutines: results match");
    let line = find_line(&out, "steals, every P").unwrap();
    assert!(number_after(line, "ms, ") > 0, "no steals: {line}");
}

#[test]
fn hundred_thousand_goroutines_on_one_p() {
    let out = boot(2, Firmware::Bios, "test=goroutines GOMAXPROCS=1");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "goroutines: P0 ran ");
    assert!(find_line(&out, "goroutines: P1").is_none(), "GOMAXPROCS=1 has one P");
}

#[test]
fn ten_thousand_sleepers_wake_none_early() {
    let out = boot(4, Firmware::Bios, "test=sleep");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "sleep: 10000 of 10000 sleepers woke, 0 early");
}

/// With a 10 ms slice, a goroutine next to `loop {}` hogs waits about one
/// slice; 200 ms leaves room for TCG's late timer interrupts on a busy host.
fn hog_test(cpus: u32) {
    let out = boot(cpus, Firmware::Bios, "test=hog");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "hog: ").unwrap();
    assert!(line.contains(&format!("{cpus} hog(s) on {cpus} P(s)")), "{line}");
    let wait_us = number_after(line, "longest wait ");
    assert!(wait_us < 200_000, "main waited {wait_us} us for the CPU: {line}");
}

#[test]
fn a_hog_on_one_cpu_is_preempted() {
    hog_test(1);
}

#[test]
fn a_hog_on_every_p_is_preempted() {
    hog_test(4);
}

#[test]
fn fpu_and_sse_state_survive_preemption() {
    let out = boot(4, Firmware::Bios, "test=fpu timeslice=100");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "fpu: 1000 goroutines").unwrap();
    assert!(line.ends_with(" 0 results differ from the sequential run"), "{line}");
    assert!(number_after(line, "goroutines, ") > 0, "nothing was preempted: {line}");
}

#[test]
fn runtime_locks_under_a_100us_slice_never_deadlock() {
    let out = boot(2, Firmware::Bios, "test=locks GOMAXPROCS=1 timeslice=100");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "no deadlock");
}

#[test]
fn a_goroutine_stack_grows_past_1_mib_and_gives_its_pages_back() {
    let out = boot(2, Firmware::Bios, "test=deepstack");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "deepstack: grew to ").unwrap();
    assert!(number_after(line, "grew to ") >= 1024, "{line}");
}

#[test]
fn goroutine_stack_overflow_names_the_goroutine() {
    let out = boot(2, Firmware::Bios, "test=goverflow stackreserve=256k");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: stack overflow (goroutine 2: stack slot");
    expect_line(&out, "exceeded its 256 KiB reservation");
    expect_line(&out, "goroutine 1 ["); // main: waiting, or not yet there
    expect_line(&out, "selftest::sched::recurse(...)");
}

#[test]
fn deadlock_is_reported_with_a_goroutine_dump() {
    let out = boot(2, Firmware::Bios, "test=deadlock");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: all goroutines are asleep - deadlock!");
    expect_line(&out, "goroutine 1 [sync.WaitGroup.Wait]:");
    expect_line(&out, "goroutine 2 [sync.WaitGroup.Wait]:");
    expect_line(&out, "selftest::sched::deadlock");
    expect_line(&out, "created by goroutine 1");
    // Goroutines 3..=10002 sleep identically: the first is printed, the
    // rest folded into one line.
    expect_line(&out, "goroutine 3 [chan receive]:");
    expect_line(
        &out,
        "... 9999 more goroutines (ids 4 to 10002) [chan receive] with the stack and creator of goroutine 3",
    );
    let paragraphs = out.output.lines().filter(|l| l.starts_with("goroutine ")).count();
    assert_eq!(paragraphs, 3, "only goroutines 1, 2 and 3 printed in full");
}

#[test]
fn ctrl_backslash_prints_a_goroutine_dump() {
    let mut config = config(2, Firmware::Bios, "test=ctrlquit");
    config.input.push(("ctrlquit: ready".into(), vec![0x1c]));
    let out = boot_with(&config);
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "SIGQUIT: goroutine dump (Ctrl+\\)");
    expect_line(&out, "goroutine 1 [sleep]:");
    expect_line(&out, "goroutine 2 [sync.WaitGroup.Wait]:");
    expect_line(&out, "goroutine 3 [sleep]:");
    expect_line(&out, "ctrlquit: dump printed, still running");
}

#[test]
fn bad_scheduler_parameters_are_refused() {
    let out = boot(1, Firmware::Bios, "timeslice=10");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "bad value \"10\" for boot parameter timeslice");
    let out = boot(1, Firmware::Bios, "GODEBUG=gctrace=1");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "bad GODEBUG setting \"gctrace=1\"");
}

#[test]
fn tasks_interleave_and_complete() {
    let out = boot_program("tasks", 2, "");
    expect_verdict(&out, Verdict::Pass);
    let lines: Vec<&str> = out.output.lines().filter(|l| l.starts_with("Task ")).collect();
    assert_eq!(lines.len(), 10, "{}", out.output);
    assert!(lines[..2].contains(&"Task 1 running 0") && lines[..2].contains(&"Task 2 running 0"), "{lines:?}");
    let last_task = out.output.lines().position(|l| l.starts_with("Task ")).unwrap();
    let done = out.output.lines().position(|l| l == "All tasks completed!").expect("no completion line");
    assert!(done > last_task);
}

#[test]
fn hog_keeps_ticking_and_steal_shows_schedtrace() {
    let out = boot_program("hog", 1, "");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "tick 10 at ");
    let out = boot_program("steal", 4, "GODEBUG=schedtrace=100");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "SCHED ");
    expect_line(&out, "gomaxprocs=4 idleprocs=");
    let last = out.output.lines().rfind(|l| l.contains("per-P run=")).expect("no per-P line");
    let stolen = &last[last.find("stolen=[").unwrap() + 8..];
    let stolen: u64 = stolen[..stolen.find(']').unwrap()].split(' ').map(|n| n.parse::<u64>().unwrap()).sum();
    assert!(stolen > 0, "{last}");
}

#[test]
fn gomaxprocs_changes_while_goroutines_run() {
    let out = boot(4, Firmware::Bios, "test=gomaxprocs");
    expect_verdict(&out, Verdict::Pass);
    for n in [1, 4, 2, 3] {
        expect_line(&out, &format!("gomaxprocs: now {n} (asked {n}), stop-the-world took"));
    }
    for line in out.output.lines().filter(|l| l.contains("by removed Ps ")) {
        assert!(line.ends_with("by removed Ps 0"), "a P beyond GOMAXPROCS ran goroutines: {line}");
    }
    let last = find_line(&out, "goroutines spawned").unwrap();
    let spawned = number_after(last, "gomaxprocs: ");
    assert_eq!(spawned, number_after(last, "spawned, "), "goroutines lost: {last}");
    assert!(last.contains("every worker ran: true"), "{last}");
}

/// Blocks allocated on every CPU and freed on others for 10 s, with a
/// 100 µs slice preempting goroutines inside the heap's fast paths: none
/// lost or corrupted, live bytes back to where they were.
#[test]
fn blocks_allocated_everywhere_and_freed_elsewhere_survive() {
    let out = boot(8, Firmware::Bios, "test=heapstress timeslice=100");
    let line = find_line(&out, "heapstress: ").unwrap_or_else(|| panic!("no report: {}", out.output));
    expect_verdict(&out, Verdict::Pass);
    assert!(line.contains(" 0 corrupted"), "{line}");
    assert_eq!(number_after(line, "sent, "), number_after(line, "producers and consumers: "), "{line}");
}

/// The heap grows past 1 GiB in a 2 GiB guest and, dropped, gives its
/// frames back to the frame allocator through free_os_memory.
#[test]
fn the_heap_grows_past_a_gib_and_gives_the_frames_back() {
    let out = boot_with(&Config { memory_mib: 2048, ..config(1, Firmware::Bios, "test=heapgrow") });
    let line = find_line(&out, "heapgrow: ").unwrap_or_else(|| panic!("no report: {}", out.output));
    expect_verdict(&out, Verdict::Pass);
    assert!(number_after(line, "frames taken, ") >= number_after(line, "; ") * 99 / 100, "{line}");
    assert!(number_after(line, "grown to ") > 1 << 30, "{line}");
}

#[test]
fn the_caches_of_ps_taken_away_give_their_spans_back() {
    let out = boot(4, Firmware::Bios, "test=heapresize");
    let line = find_line(&out, "heapresize: ").unwrap_or_else(|| panic!("no report: {}", out.output));
    expect_verdict(&out, Verdict::Pass);
    assert!(number_after(line, "heapresize: ") >= 2, "several Ps' caches held spans: {line}");
    assert_eq!(number_after(line, "the dead Ps hold "), 0, "{line}");
}

#[test]
fn idle_cpus_give_long_free_heap_pages_back() {
    let out = boot_with(&Config { memory_mib: 1024, ..config(2, Firmware::Bios, "test=bgscavenge") });
    let line = find_line(&out, "bgscavenge: ").unwrap_or_else(|| panic!("no report: {}", out.output));
    expect_verdict(&out, Verdict::Pass);
    let used = number_after(line, "bgscavenge: ");
    assert!(number_after(line, "idle (") * 2 >= used, "the scavenger released the pages: {line}");
}

/// Issue 13's million goroutines: under TCG (debug build, 2 vCPUs) about
/// 14 s to park them and 12 s to wake them.
#[test]
fn a_million_parked_goroutines_fit_in_4_gib() {
    let config =
        Config { memory_mib: 4096, timeout: Duration::from_secs(300), ..config(2, Firmware::Bios, "test=million") };
    let out = boot_with(&config);
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "million: ").unwrap_or_else(|| panic!("no report: {}", out.output));
    assert!(number_after(line, "million: ") >= 1_000_000, "{line}");
    assert!(number_after(line, "ms; ") < 2750, "below Go's 2.75 KB per parked goroutine: {line}");
    expect_line(&out, "million: all woken and done");
}

#[test]
fn parked_goroutines_memory_is_measured_and_given_back() {
    let out = boot(2, Firmware::Bios, "test=parked");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "parked: 20000 goroutines blocked on a channel: ").unwrap();
    let before = number_after(line, "channel: ");
    assert!(before < 64 * 1024, "{line}");
    // Released: the stacks' bytes in exact buffers, pages and tables returned.
    let line = find_line(&out, "parked: after free_os_memory").unwrap();
    assert!(number_after(line, "; ") >= 20000, "every parked stack released: {line}");
    let after = number_after(line, "): ");
    assert!(after < 2750 && after < before, "below Go's 2.75 KB per parked goroutine: {line}");
    let line = find_line(&out, "parked: woken by direct handoff").unwrap();
    assert!(line.contains("20000 of 20000 intact"), "{line}");
}

#[test]
fn memory_pressure_releases_parked_stacks() {
    // 128 MiB: more goroutines park than their unreleased stacks could fit in.
    // A 100 µs slice preempts goroutines around the releases (a releaser
    // descheduled while others skipped the check once let the frames run out).
    for params in ["test=pressure", "test=pressure timeslice=100"] {
        let out = boot_with(&Config { memory_mib: 128, ..config(2, Firmware::Bios, params) });
        expect_verdict(&out, Verdict::Pass);
        let line = find_line(&out, "pressure: ").unwrap();
        let (n, free) = (number_after(line, "pressure: "), number_after(line, "parked with "));
        assert!(2 * n > free, "the test must need more frames than are free: {line}");
        assert!(number_after(line, "); ") >= 1, "{line}");
        let line = find_line(&out, "pressure: all woken at once").unwrap();
        assert!(number_after(line, "values sum ") == number_after(line, "(want "), "{line}");
    }
}

#[test]
fn a_released_stack_loses_no_write() {
    for params in ["test=stackrelease GOMAXPROCS=1", "test=stackrelease"] {
        let cpus = if params.contains("GOMAXPROCS") { 2 } else { 4 };
        let out = boot(cpus, Firmware::Bios, params);
        expect_verdict(&out, Verdict::Pass);
        for want in [
            "the stack holds the last value written",
            "a write in the window put the frame back: true; a write after the copy refilled it: true",
            "the dump shows the released stack's frames, still released: true",
            "the parked goroutine woke to 1000002",
        ] {
            assert!(find_line(&out, want).is_some(), "{params}: no line with {want:?}");
        }
        assert!(find_line(&out, "the stack holds the last value written").unwrap().ends_with(": true"));
    }
}

#[test]
fn a_blocking_calls_p_is_taken_over_by_a_spare_core() {
    let out = boot(2, Firmware::Bios, "test=blocking GOMAXPROCS=1");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "blocking: while a goroutine was blocked 300 ms").unwrap();
    assert!(line.contains("never on that CPU: true"), "{line}");
    assert!(number_after(line, "main ran ") >= 10, "{line}");
}

/// The first `lockosthread:` summary line, checked for the wiring.
fn lockosthread_test(args: &str) -> String {
    let out = boot(4, Firmware::Bios, args);
    let line = find_line(&out, "lockosthread: locked on cpu").unwrap().to_string();
    assert!(line.contains("ran only there: true"), "the locked goroutine moved: {line}");
    assert!(line.contains(" meanwhile: 0;"), "another goroutine ran on the locked CPU: {line}");
    assert!(number_after(&line, "preempted ") > 0, "the locked goroutine was never preempted: {line}");
    let after = find_line(&out, "lockosthread: after unlock").unwrap();
    assert!(number_after(after, "the world stopped ") > 0, "{after}");
    expect_verdict(&out, Verdict::Pass);
    line
}

#[test]
fn a_locked_goroutine_runs_only_on_its_cpu_and_alone() {
    let line = lockosthread_test("test=lockosthread timeslice=2000");
    // Workers ran on each of the three other CPUs while the lock was held.
    let per_cpu = &line[line.find("workers per CPU meanwhile: [").unwrap() + 28..];
    let per_cpu: Vec<u64> = per_cpu[..per_cpu.find(']').unwrap()].split(", ").map(|n| n.parse().unwrap()).collect();
    assert_eq!(per_cpu.iter().filter(|&&n| n > 0).count(), 3, "{line}");
}

#[test]
fn a_locked_goroutine_with_one_p_hands_the_p_to_other_cpus() {
    lockosthread_test("test=lockosthread timeslice=2000 GOMAXPROCS=1");
}

#[test]
fn deadlock_is_reported_with_locked_goroutines() {
    let out = boot(4, Firmware::Bios, "test=lockdeadlock");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: all goroutines are asleep - deadlock!");
    expect_line(&out, "goroutine 1 [sync.WaitGroup.Wait]:");
    expect_line(&out, "goroutine 2 [force gc (idle)]:");
    expect_line(&out, "goroutine 3 [sync.WaitGroup.Wait]:");
}

#[test]
fn sysmon_forces_a_gc_once_per_period() {
    let out = boot(4, Firmware::Bios, "test=forcegc");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "forcegc: period 50 ms, goroutines ran ").unwrap();
    assert_eq!(number_after(line, "hook ran "), 6, "{line}");
    assert!(number_after(line, "times, ") >= 50, "a forced GC came sooner than the period: {line}");
    assert!(line.ends_with("parked as \"force gc (idle)\": true; counted in num_goroutine: false"), "{line}");
}
