//! Go's own channel tests (`$GOROOT/test/chan/*.go`), ported to
//! [`runtime::chan`], `select!`, [`runtime::sched`] and [`runtime::time`]
//! with the same structure, sizes and checks, and run by `test=gochan` one
//! after the other in the main goroutine. Each prints one line,
//! `gochan <file>.go: PASS (<ms> ms; <numbers>)` or
//! `gochan <file>.go: FAIL: <what differed>`, then `gochan: N of 14 programs
//! passed`; the boot's verdict is pass only if all of them did.
//!
//! | file | Go program | what it checks |
//! |------|------------|----------------|
//! | [`basic`] | `fifo.go`, `goroutines.go`, `zerosize.go`, `select4.go` | channels are FIFOs; 10,000 goroutines in a chain; zero-sized elements; a select runs the ready case only |
//! | [`sieve`] | `sieve1.go`, `sieve2.go` | the two prime sieves (a chain of filters; Eratosthenes on merged channels of multiples) |
//! | [`nonblock`] | `nonblock.go` | non-blocking sends and receives (select with default) of four element types, unbuffered and buffered |
//! | [`select`] | `select.go`, `select2.go`, `select6.go`, `select7.go`, `doubleselect.go` | select's send values, nil cases, default; no heap growth over 100,000 selects; queue hygiene; no two cases firing |
//! | [`select3`] | `select3.go` | what blocks and what does not; the must-panic checks as separate boots |
//! | [`powser1`] | `powser1.go` | McIlroy's power series on demand channels: rationals, about 200 goroutines |
//!
//! ## Where all of them differ from Go
//! - **No `recover`, and a panic ends the kernel.** Where Go panics on a
//!   failed check in `main`, the port returns the difference as an error (the
//!   FAIL line); a failed check in another goroutine is recorded with
//!   [`Check::fail`] (printed at once) and the goroutine carries on with the
//!   program's protocol, so a wrong value does not also hang the run. Go's
//!   "this must panic" checks cannot share a boot with anything: they are the
//!   separate tests `gochan_sendclosed` and `gochan_selectsendclosed`
//!   (select3.go), `gochan_closenil` and `gochan_closeclosed` (the
//!   `shouldPanic` checks of `$GOROOT/test/closedchan.go`), each expecting the
//!   kernel's `panic: <Go's message>` and a failure exit.
//! - **Values, not zero values.** A receive returns `Option<T>` (`None`:
//!   closed); where Go reads the zero value of a closed channel the port uses
//!   `unwrap_or` the zero value, so the comparison is Go's.
//! - **Leaked goroutines stay.** Like Go's `main`, a program returns while
//!   goroutines of it still block (sieve generators, power-series stages,
//!   select3's losers); here they stay parked until the kernel exits, behind
//!   the programs that follow.
//! - Time is nanoseconds (`runtime::time`, `runtime::sched::sleep`).
//! - Sizes are Go's: none needed scaling for TCG (all fourteen take about
//!   2 s with GOMAXPROCS=1 or 4; doubleselect's and select2's 100,000
//!   rounds and goroutines.go's 10,000 goroutines are most of it).
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use runtime::chan::Chan;
use runtime::select;

use crate::arch;
use crate::println;

mod basic;
mod nonblock;
mod powser1;
mod select;
mod select3;
mod sieve;

/// A program's verdict on its own checks: `Ok(notes)` (the numbers worth
/// printing), or `Err(what differed)` for a failed check in `main`, which
/// ends the program as Go's `panic` does.
pub type Outcome = Result<String, String>;

/// One ported program: `(Go file, entry)`.
type Program = (&'static str, fn(&Arc<Check>) -> Outcome);

/// Every port, in the order they run: the short and the self-contained
/// first, select3 (which leaves ten-second sleepers behind) last.
const PROGRAMS: &[Program] = &[
    ("fifo.go", basic::fifo),
    ("goroutines.go", basic::goroutines),
    ("zerosize.go", basic::zerosize),
    ("sieve1.go", sieve::sieve1),
    ("sieve2.go", sieve::sieve2),
    ("select.go", select::select),
    ("select2.go", select::select2),
    ("select4.go", basic::select4),
    ("select6.go", select::select6),
    ("select7.go", select::select7),
    ("doubleselect.go", select::doubleselect),
    ("nonblock.go", nonblock::nonblock),
    ("powser1.go", powser1::powser1),
    ("select3.go", select3::select3),
];

/// Failed checks of one program, shared with its goroutines (Go's `panic`
/// in a goroutine other than `main`).
pub struct Check {
    file: &'static str,
    failures: AtomicUsize,
}

impl Check {
    /// Records and prints a failed check; the caller carries on.
    pub fn fail(&self, what: fmt::Arguments<'_>) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        println!("gochan {}: FAIL: {}", self.file, what);
    }

    fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }
}

/// `test=gochan`: every program in turn; true if all passed.
pub fn all() -> bool {
    let t0 = arch::nanotime();
    let mut passed = 0;
    for &(file, program) in PROGRAMS {
        let check = Arc::new(Check { file, failures: AtomicUsize::new(0) });
        let start = arch::nanotime();
        let outcome = program(&check);
        let ms = (arch::nanotime() - start) / 1_000_000;
        match outcome {
            Ok(notes) if check.failures() == 0 => {
                passed += 1;
                println!("gochan {file}: PASS ({ms} ms; {notes})");
            }
            Ok(_) => println!("gochan {file}: FAIL ({} failed check(s) in goroutines, {ms} ms)", check.failures()),
            Err(what) => println!("gochan {file}: FAIL: {what} ({ms} ms)"),
        }
    }
    println!(
        "gochan: {passed} of {} programs passed in {} ms with GOMAXPROCS={}, {} goroutines left",
        PROGRAMS.len(),
        (arch::nanotime() - t0) / 1_000_000,
        runtime::sched::gomaxprocs_now(),
        runtime::sched::num_goroutine()
    );
    passed == PROGRAMS.len()
}

// The must-panic checks, one boot each: each prints what it does, then the
// kernel's panic report ends the boot with a failure; returning is the
// failure the integration test looks for.

/// select3.go: `testPanic(always, func() { closedch <- 7 })`.
pub fn send_on_closed() -> bool {
    let closedch = Chan::<i32>::new(0);
    closedch.close();
    println!("gochan_sendclosed: closedch <- 7 (select3.go) must panic");
    closedch.send(7);
    println!("gochan_sendclosed: FAIL: the send returned");
    false
}

/// select3.go: `testPanic(always, func() { select { case closedch <- 7: } })`.
pub fn select_send_on_closed() -> bool {
    let closedch = Chan::<i32>::new(0);
    closedch.close();
    println!("gochan_selectsendclosed: select {{ case closedch <- 7: }} (select3.go) must panic");
    select! {
        send(closedch, 7) => {},
    }
    println!("gochan_selectsendclosed: FAIL: the select returned");
    false
}

/// closedchan.go: `shouldPanic(func() { close(ch) })` with `var ch chan int`.
pub fn close_nil() -> bool {
    let ch = Chan::<i32>::nil();
    println!("gochan_closenil: close(nil channel) (closedchan.go) must panic");
    ch.close();
    println!("gochan_closenil: FAIL: close returned");
    false
}

/// closedchan.go: `close(ch); shouldPanic(func() { close(ch) })`.
pub fn close_closed() -> bool {
    let ch = Chan::<i32>::new(0);
    ch.close();
    println!("gochan_closeclosed: close(closed channel) (closedchan.go) must panic");
    ch.close();
    println!("gochan_closeclosed: FAIL: close returned");
    false
}
