//! The context switch and goroutine stacks (the machine side of issue 4):
//! callee-saved state survives 200,000 switches; a stack that starts with one
//! page grows past 1 MiB on demand and gives every grown page back when freed
//! (after a TLB shootdown); past its reservation it is the clean fatal error,
//! and so is touching a freed stack.
use tests::*;

#[test]
fn context_switch_preserves_registers() {
    let out = boot(2, Firmware::Bios, "test=switch");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "switch: 200000 round trips,");
    expect_line(&out, "registers intact");
    expect_line(&out, "switch: freeing an ungrown stack took no shootdown");
}

#[test]
fn goroutine_stack_grows_to_1_mib_and_returns_its_pages() {
    let out = boot(2, Firmware::Bios, "test=stackgrow");
    expect_verdict(&out, Verdict::Pass);
    let line = find_line(&out, "stackgrow: grew to ").unwrap();
    let kib: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(kib >= 1024, "{line}");
    assert!(line.contains("1 TLB shootdown(s)"), "two CPUs: the free must shoot down: {line}");
}

#[test]
fn goroutine_stack_overflow_is_a_clean_fatal_error() {
    let out = boot(2, Firmware::Bios, "test=gstackoverflow stackreserve=256k");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: stack overflow (goroutine stack slot 0 exceeded its 256 KiB reservation at 0x");
    expect_line(&out, "selftest::stacks::recurse+0x");
}

#[test]
fn use_of_a_freed_stack_is_reported() {
    let out = boot(1, Firmware::Bios, "test=freedstack");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: use of freed goroutine stack (slot 0) at 0x");
    let rip = find_line(&out, "rip 0x").unwrap();
    assert!(rip.contains("selftest::stacks::freedstack+0x"), "{rip}");
}

#[test]
fn stack_reservation_is_validated() {
    let out = boot(1, Firmware::Bios, "stackreserve=4k");
    expect_verdict(&out, Verdict::Fail);
    expect_line(
        &out,
        "fatal error: bad value \"4k\" for boot parameter stackreserve: want an integer in 16384..=1073741824",
    );
}

/// Interrupts never land on a goroutine stack: two CPUs start goroutines that
/// grow 1 MiB stacks by page faults and give the pages back at exit (a TLB
/// shootdown IPI to the other CPU each time). When interrupts were delivered
/// on the interrupted stack, an IPI arriving while the stack pointer stood
/// over a page not yet mapped faulted in the CPU's own push of the interrupt
/// frame and was lost, still in service at the APIC: both CPUs then waited
/// forever in each other's shootdown (a timeout here, within a second or two).
#[test]
fn no_interrupt_is_lost_while_stacks_grow() {
    let out = boot_program("bench", 2, "bench=StackGrowthDeepNewG benchtime=500x GOMAXPROCS=2");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "BenchmarkStackGrowthDeepNewG-2\t     500\t");
}
