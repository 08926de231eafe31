//! Go's own channel tests (`$GOROOT/test/chan/*.go`), ported in
//! `selftest/src/gochan/`: `test=gochan` runs all fourteen in one
//! boot, with GOMAXPROCS=1 (on 2 CPUs) and GOMAXPROCS=4 (on 4), and each
//! must print its PASS line. Go's must-panic checks (select3.go's sends on a
//! closed channel, closedchan.go's closes of nil and closed channels) are
//! boots of their own that must end in the kernel's `panic: <Go's message>`
//! and a failure exit.
use tests::*;

/// The ported programs, by Go file name, as the kernel prints them.
const PROGRAMS: [&str; 14] = [
    "fifo.go",
    "goroutines.go",
    "zerosize.go",
    "sieve1.go",
    "sieve2.go",
    "select.go",
    "select2.go",
    "select4.go",
    "select6.go",
    "select7.go",
    "doubleselect.go",
    "nonblock.go",
    "powser1.go",
    "select3.go",
];

fn all_programs_pass(cpus: u32, procs: u32) {
    let out = boot(cpus, Firmware::Bios, &format!("test=gochan GOMAXPROCS={procs}"));
    for line in out.output.lines() {
        assert!(!line.contains("FAIL"), "{line}\nconsole:\n{}", out.output);
    }
    for program in PROGRAMS {
        expect_line(&out, &format!("gochan {program}: PASS ("));
    }
    expect_line(&out, "gochan: 14 of 14 programs passed in ");
    expect_line(&out, &format!(" ms with GOMAXPROCS={procs}, "));
    expect_verdict(&out, Verdict::Pass);
}

#[test]
fn go_chan_tests_pass_with_gomaxprocs_1() {
    all_programs_pass(2, 1);
}

#[test]
fn go_chan_tests_pass_with_gomaxprocs_4() {
    all_programs_pass(4, 4);
}

/// `test` must end in Go's panic `message`, raised at `at`, and fail.
fn must_panic(test: &str, message: &str, at: &str) {
    let out = boot(2, Firmware::Bios, &format!("test={test}"));
    expect_line(&out, &format!("{test}: "));
    expect_line(&out, &format!("panic: {message}"));
    expect_line(&out, &format!("[at {at}:"));
    expect_line(&out, "goroutine 1 [running]:"); // reported with the goroutine's stack
    assert!(find_line(&out, "FAIL").is_none(), "the operation returned:\n{}", out.output);
    expect_verdict(&out, Verdict::Fail);
}

#[test]
fn send_on_a_closed_channel_panics() {
    must_panic("gochan_sendclosed", "send on closed channel", "runtime/src/chan/mod.rs");
}

#[test]
fn select_send_on_a_closed_channel_panics() {
    must_panic("gochan_selectsendclosed", "send on closed channel", "runtime/src/chan/select.rs");
}

#[test]
fn close_of_a_nil_channel_panics() {
    must_panic("gochan_closenil", "close of nil channel", "runtime/src/chan/mod.rs");
}

#[test]
fn close_of_a_closed_channel_panics() {
    must_panic("gochan_closeclosed", "close of closed channel", "runtime/src/chan/mod.rs");
}
