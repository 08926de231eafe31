//! The machine layer's per-CPU functions inline into the runtime in the
//! built kernels: no `call` to them is left anywhere.
//!
//! The runtime reaches the CPU through link-time functions
//! (`machine_acquirem` is one `inc` of the CPU's `m.locks`); every lock,
//! channel operation and allocation uses several. A call instead costs a
//! return, which the emulator looks up in a hash table: when a kernel was
//! once linked with 402 such calls (ThinLTO imported them into the
//! runtime's code or not depending on how unrelated code was split into
//! codegen units), Malloc8 and ChanSync took twice the time. The programs
//! are built with whole-program LTO for that (`gort/program.toml`); this
//! checks the result, in the images the tests boot and the one the
//! benchmarks boot.
use boot::program::{build, direct_calls, functions_named, Profile};

/// The functions of the machine contract on the runtime's hot paths.
const PER_CPU: [&str; 6] = [
    "machine_cpu",
    "machine_acquirem",
    "machine_releasem",
    "machine_mlocks",
    "machine_request_preempt",
    "machine_take_preempt_request",
];

fn calls_left(program: &str, profile: Profile) -> Vec<(String, String)> {
    let built = build(program, profile).unwrap_or_else(|e| panic!("building {program}: {e}"));
    direct_calls(&built.elf, &PER_CPU).unwrap_or_else(|e| panic!("reading {}: {e}", built.elf.display()))
}

#[test]
fn per_cpu_functions_inline_into_the_selftest_kernel() {
    let calls = calls_left("selftest", Profile::Dev);
    assert!(calls.is_empty(), "{} calls left, e.g. {:?}", calls.len(), &calls[..calls.len().min(5)]);
}

#[test]
fn per_cpu_functions_inline_into_the_benchmark_kernel() {
    let calls = calls_left("bench", Profile::Release);
    assert!(calls.is_empty(), "{} calls left, e.g. {:?}", calls.len(), &calls[..calls.len().min(5)]);
}

/// The channel's send and receive and the scheduler's `execute`,
/// `#[rustc_align]`ed so that none straddles a page of the benchmark kernel: TCG chains jumps only within a
/// page, so a hot path that crosses one pays a jump-cache lookup at every
/// crossing (README, "What made it fast under TCG"). A function that
/// outgrows its alignment fails here, instead of in a benchmark row.
#[test]
fn hot_paths_each_fit_in_one_page_of_the_benchmark_kernel() {
    let built = build("bench", Profile::Release).unwrap_or_else(|e| panic!("building bench: {e}"));
    let wanted = ["7runtime4chan8chansend", "7runtime4chan8chanrecv", "7runtime5sched4proc7execute"];
    let found = functions_named(&built.elf, &wanted).unwrap_or_else(|e| panic!("reading {}: {e}", built.elf.display()));
    assert_eq!(found.len(), wanted.len(), "found {found:?}");
    for (name, addr, size) in found {
        assert!(size > 0 && addr >> 12 == (addr + size - 1) >> 12, "{name} at {addr:#x}, {size} bytes, crosses a page");
    }
}
