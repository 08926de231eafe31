//! Fatal errors end the run with a report and the failure code: CPU exceptions
//! (and NX: data cannot be executed),
//! a panic (whose backtrace names the function), a stack overflow into a guard
//! page, and bad boot parameters (caught before the machine is even up).
use tests::*;

/// Boots `cmdline`, expects a failure exit and returns the console.
fn fails(cpus: u32, cmdline: &str) -> Outcome {
    let out = boot(cpus, Firmware::Bios, cmdline);
    expect_verdict(&out, Verdict::Fail);
    out
}

#[test]
fn page_fault_is_reported() {
    let out = fails(1, "test=pagefault");
    expect_line(&out, "fatal error: page fault (#PF, vector 14)");
    expect_line(&out, "[cpu 0, error code 0x2 (not-present write), cr2 0x7bad00000000]");
    expect_line(&out, "rip 0xffffffff");
    let rip = find_line(&out, "rip 0x").unwrap();
    assert!(rip.contains("selftest::machine::deliberate_page_fault+0x"), "{rip}");
    expect_line(&out, "rax    0x00007bad00000000");
    expect_line(&out, "gort::kernel::start+0x");
}

#[test]
fn divide_error_is_reported() {
    let out = fails(2, "test=divide");
    expect_line(&out, "fatal error: divide error (#DE, vector 0)");
    expect_line(&out, "[cpu 0, error code 0x0, cr2 0x");
    let rip = find_line(&out, "rip 0x").unwrap();
    assert!(rip.contains("selftest::machine::deliberate_divide_error+0x"), "{rip}");
}

#[test]
fn data_is_not_executable() {
    let out = fails(1, "test=nx");
    let addr = find_line(&out, "nx: calling into the heap at ").unwrap().rsplit(' ').next().unwrap().to_string();
    expect_line(&out, "fatal error: page fault (#PF, vector 14)");
    // Error code 0x11: the page is present; the fault is an instruction fetch.
    expect_line(&out, &format!("error code 0x11 (protection violation, instruction fetch), cr2 {addr}]"));
    assert!(!out.output.contains("the heap is executable"));
    expect_line(&out, "rip is in no kernel function; [rsp] 0xffffffff");
    let caller = find_line(&out, "[rsp]").unwrap();
    assert!(caller.contains("selftest::machine::execute_heap+0x"), "{caller}");
}

#[test]
fn panic_backtrace_names_the_function() {
    let out = fails(2, "test=panic");
    expect_line(&out, "panic: deliberate panic: answer was 41");
    expect_line(&out, "[at selftest/src/machine.rs:");
    let trace: Vec<&str> = out.output.lines().skip_while(|l| *l != "backtrace:").collect();
    assert!(trace.len() > 2, "no backtrace:\n{}", out.output);
    let names = trace.join("\n");
    assert!(names.contains("selftest::machine::deliberate_panic+0x"), "{names}");
    assert!(names.contains("gort::kernel::start+0x"), "{names}");
}

#[test]
fn stack_overflow_hits_the_guard_page() {
    let out = fails(2, "test=stackoverflow");
    expect_line(&out, "fatal error: stack overflow (page fault in a guard page at 0x");
    expect_line(&out, "[cpu 1, error code 0x2 (not-present write)");
    expect_line(&out, "selftest::machine::deliberate_stack_overflow+0x");
    expect_line(&out, "...the frame above");
}

#[test]
fn unknown_boot_parameter_is_refused() {
    let out = fails(1, "GOMAXPROC=2");
    expect_line(&out, "fatal error: unknown boot parameter \"GOMAXPROC\"");
    expect_line(&out, "valid boot parameters:");
    expect_line(&out, "  GOMAXPROCS=<an integer in 1..=256>");
    expect_line(&out, "  test=<one of boot|ipi|");
    assert!(out.to_all_online.is_none(), "the machine must not come up on a bad line");
}

#[test]
fn bad_boot_parameter_values_are_refused() {
    let out = fails(1, "GOMAXPROCS=0");
    expect_line(&out, "fatal error: bad value \"0\" for boot parameter GOMAXPROCS: want an integer in 1..=256");
    let out = fails(1, "test=nope");
    expect_line(&out, "fatal error: bad value \"nope\" for boot parameter test: want one of boot|ipi|");
    let out = fails(1, "loglevel");
    expect_line(&out, "fatal error: malformed boot parameter \"loglevel\": want KEY=VALUE");
}

#[test]
fn gomaxprocs_above_cpu_count_is_clamped() {
    let out = boot(2, Firmware::Bios, "GOMAXPROCS=64 test=boot");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "GOMAXPROCS=64 clamped to the 2 CPUs online");
    expect_line(&out, "GOMAXPROCS=2,");
}

/// Interrupt handlers never allocate; debug builds (every QEMU test's)
/// catch one that does.
#[test]
fn an_interrupt_handler_that_allocates_is_fatal() {
    let out = boot(1, Firmware::Bios, "test=irqalloc");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: allocation in an interrupt handler");
    expect_line(&out, "allocating_handler");
}

/// The heap grows until the guest's memory runs out, then says so: Go's
/// fatal error, the heap's figures, the failure exit; no hang, no triple
/// fault.
#[test]
fn an_exhausted_heap_is_a_clear_fatal_error() {
    let out = boot_with(&Config { memory_mib: 64, ..config(1, Firmware::Bios, "test=oom") });
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: runtime: out of memory");
    let line = find_line(&out, "runtime: cannot allocate ").unwrap();
    assert!(line.contains("bytes of heap in use") && line.contains("grown"), "the heap's figures: {line}");
    let mib = find_line(&out, "oom: ").map(|l| number_after(l, "oom: ")).unwrap_or(0);
    assert!(mib >= 16, "the heap grew into most of 64 MiB first (reached {mib} MiB)");
}
