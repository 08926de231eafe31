//! Channels, select, sync and channel timers (issue 5), booted in QEMU: Go's
//! memory-model rules, a producer/consumer stress under 1 ms and 100 µs
//! slices, timer lateness under load, misuse errors, and the demos.
use tests::*;

#[test]
fn memory_model_rules_hold_on_4_cpus() {
    let out = boot(4, Firmware::Bios, "test=memmodel");
    expect_verdict(&out, Verdict::Pass);
    let lines: Vec<&str> = out.output.lines().filter(|l| l.starts_with("memmodel: ")).collect();
    assert_eq!(lines.len(), 6, "one line per rule:\n{}", out.output);
    for line in lines {
        let verdict = line.rsplit(": ").next().unwrap();
        assert!(verdict.starts_with("0 violations in "), "{line}");
    }
}

fn stress(slice_us: u32) {
    let out = boot(4, Firmware::Bios, &format!("test=chanstress timeslice={slice_us}"));
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "chanstress: ").unwrap();
    for key in [" missing", " duplicated", " out of order", " goroutines leaked"] {
        let at = line.find(key).unwrap_or_else(|| panic!("{key:?} not in {line}"));
        let n: i64 = line[..at].rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(n, 0, "{key}: {line}");
    }
    assert!(line.contains("counter 24000 of 24000"), "{line}");
}

#[test]
fn producers_and_consumers_under_a_1ms_slice() {
    stress(1000);
}

#[test]
fn producers_and_consumers_under_a_100us_slice() {
    stress(100);
}

#[test]
fn timers_fire_never_early_under_load() {
    let out = boot(4, Firmware::Bios, "test=timerlate");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "timerlate: ").unwrap();
    assert!(line.contains("; 0 early; "), "{line}");
}

#[test]
fn sync_misuse_is_reported_as_go_does() {
    for (test, message) in [
        ("mutexmisuse", "fatal error: sync: unlock of unlocked mutex"),
        ("rwmisuse", "fatal error: sync: RUnlock of unlocked RWMutex"),
        ("wgnegative", "panic: sync: negative WaitGroup counter"),
    ] {
        let out = boot(2, Firmware::Bios, &format!("test={test}"));
        expect_verdict(&out, Verdict::Fail);
        expect_line(&out, message);
        expect_line(&out, "goroutine 1 [running]:");
    }
}

#[test]
fn sieve_prints_the_first_100_primes() {
    let out = boot_program("sieve", 2, "");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "   2    3    5    7   11   13   17   19   23   29");
    expect_line(&out, "the last is 541");
}

#[test]
fn prodcons_consumes_every_job() {
    let out = boot_program("prodcons", 2, "");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "prodcons: 60 of 60 jobs consumed, checksum ok");
    expect_line(&out, "tick: ");
    expect_line(&out, "no job for 30 ms");
}
