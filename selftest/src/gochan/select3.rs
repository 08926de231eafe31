//! `$GOROOT/test/chan/select3.go`: "Test the semantics of the select
//! statement for basic empty/non-empty cases". Its must-panic checks are
//! boots of their own (in `gochan/mod.rs`).
//!
//! Go's two helpers:
//! - `testBlock(signal, f)` runs `f` in a goroutine that reports `never`
//!   (f did not block) when f returns, races it against a goroutine that
//!   reports `always` (f blocked) after a sleep, and requires the first
//!   report to be `signal`. The sleep is 10 ms when f should block, 10 s
//!   when it should not (so a slow machine cannot lose the race by
//!   accident). The losing goroutine blocks forever on the unbuffered
//!   report channel, and f's goroutine with it if f blocks: Go leaks them,
//!   and so does the port.
//! - `testPanic(signal, f)` calls f and uses `recover` to require that it
//!   panicked (`always`) or did not (`never`).
//!
//! ## Where the port differs
//! - There is no `recover`, and a panic ends the kernel. `testPanic(never,
//!   f)` calls f: a panic would end the boot with a failure, which is the
//!   check failing. `testPanic(always, f)` cannot run here at all; its two
//!   uses, a send on a closed channel and a select whose only case sends on
//!   a closed channel, are the boots `test=gochan_sendclosed` and
//!   `test=gochan_selectsendclosed`, whose integration tests require the
//!   kernel's `panic: send on closed channel` (at `chan/mod.rs` for the
//!   send, `chan/select.rs` for the select) and a failure exit. Two more
//!   boots check the `shouldPanic` cases of `$GOROOT/test/closedchan.go`,
//!   which Go's select3 does not have: `gochan_closenil` (`close of nil
//!   channel`) and `gochan_closeclosed` (`close of closed channel`).
//! - `unreachable()` (Go: `panic("control flow shouldn't reach here")`)
//!   runs inside testBlock's goroutines, where a panic would end the boot
//!   without saying which check it was: it is a failed check naming it.
//! - Go receives the zero value from a closed channel; the port checks for
//!   `None` and compares `unwrap_or(0)` with Go's 0.
use alloc::format;
use alloc::sync::Arc;

use runtime::chan::Chan;
use runtime::{sched, select};

use super::{Check, Outcome};

const ALWAYS: &str = "function did not";
const NEVER: &str = "function did";

/// Go's `async`: a buffered channel's capacity.
const ASYNC: usize = 1;

/// Go's `unreachable`, as a failed check naming the case.
fn unreachable(ck: &Check, case: &str) {
    ck.fail(format_args!("control flow shouldn't reach here: {case}"));
}

/// Go's `testBlock`: f always blocks (`ALWAYS`) or never does (`NEVER`).
fn test_block(ck: &Arc<Check>, signal: &'static str, case: &'static str, f: impl FnOnce(&Check) + Send + 'static) {
    let c = Chan::<&'static str>::new(0);
    let (done, ck2) = (c.clone(), ck.clone());
    sched::go(move || {
        f(&ck2);
        done.send(NEVER); // f didn't block
    });
    let timeout = c.clone();
    sched::go(move || {
        if signal == NEVER {
            // Wait a long time to make sure that we don't miss our window
            // by accident on a slow machine.
            sched::sleep(10_000_000_000);
        } else {
            // Wait as short a time as we can without false negatives.
            // 10ms should be long enough to catch most failures.
            sched::sleep(10_000_000);
        }
        timeout.send(ALWAYS); // f blocked always
    });
    let got = c.recv().unwrap_or("");
    if got != signal {
        ck.fail(format_args!("{signal} block: {case} (got {got:?})"));
    }
}

/// select3.go's `main`, but for its `testPanic(always, ..)` checks.
pub fn select3(ck: &Arc<Check>) -> Outcome {
    let nilch = Chan::<i32>::nil();
    let closedch = Chan::<i32>::new(0);
    closedch.close();
    let mut blocks = 0;
    let mut block = |signal, case, f: fn(&Check, Chan<i32>, Chan<i32>)| {
        let (n, c) = (nilch.clone(), closedch.clone());
        test_block(ck, signal, case, move |ck| f(ck, n, c));
        blocks += 1;
    };

    // Sending/receiving from a nil channel blocks.
    block(ALWAYS, "nilch <- 7", |_, nilch, _| nilch.send(7));
    block(ALWAYS, "<-nilch", |_, nilch, _| {
        nilch.recv();
    });

    // Sending/receiving from a nil channel inside a select is never selected.
    // testPanic(never, ..): these run here; a panic would end the boot.
    select! {
        send(nilch, 7) => unreachable(ck, "select { case nilch <- 7: default: }"),
        default => {},
    }
    select! {
        recv(nilch) -> _ => unreachable(ck, "select { case <-nilch: default: }"),
        default => {},
    }

    // Sending to an async channel with free buffer space never blocks.
    block(NEVER, "ch <- 7 with buffer space", |_, _, _| {
        let ch = Chan::new(ASYNC);
        ch.send(7);
    });

    // Receiving from a closed channel never blocks.
    block(NEVER, "<-closedch", |ck, _, closedch| {
        for _ in 0..10 {
            if closedch.recv().unwrap_or(0) != 0 {
                ck.fail(format_args!("expected zero value when reading from closed channel"));
            }
            let v = closedch.recv();
            if v.is_some() {
                ck.fail(format_args!("closedch: {v:?}: expected 0, false from closed channel"));
            }
        }
    });

    // Sending to a closed channel panics: testPanic(always, ..), the boot
    // test=gochan_sendclosed.

    // Receiving from a non-ready channel always blocks.
    block(ALWAYS, "<-ch on an empty channel", |_, _, _| {
        Chan::<i32>::new(0).recv();
    });

    // Empty selects always block.
    block(ALWAYS, "select {}", |_, _, _| select! {});

    // Selects with only nil channels always block.
    block(ALWAYS, "select { case <-nilch: }", |ck, nilch, _| {
        select! {
            recv(nilch) -> _ => unreachable(ck, "select { case <-nilch: }"),
        }
    });
    block(ALWAYS, "select { case nilch <- 7: }", |ck, nilch, _| {
        select! {
            send(nilch, 7) => unreachable(ck, "select { case nilch <- 7: }"),
        }
    });
    block(ALWAYS, "select { case <-nilch: case nilch <- 7: }", |ck, nilch, _| {
        select! {
            recv(nilch) -> _ => unreachable(ck, "select { case <-nilch: case nilch <- 7: } (receive)"),
            send(nilch, 7) => unreachable(ck, "select { case <-nilch: case nilch <- 7: } (send)"),
        }
    });

    // Selects with non-ready non-nil channels always block.
    block(ALWAYS, "select { case <-ch: }", |ck, _, _| {
        let ch = Chan::<i32>::new(0);
        select! {
            recv(ch) -> _ => unreachable(ck, "select { case <-ch: }"),
        }
    });

    // Selects with default cases don't block.
    block(NEVER, "select { default: }", |_, _, _| select! { default => {} });
    block(NEVER, "select { case <-nilch: default: }", |ck, nilch, _| {
        select! {
            recv(nilch) -> _ => unreachable(ck, "select { case <-nilch: default: }"),
            default => {},
        }
    });
    block(NEVER, "select { case nilch <- 7: default: }", |ck, nilch, _| {
        select! {
            send(nilch, 7) => unreachable(ck, "select { case nilch <- 7: default: }"),
            default => {},
        }
    });

    // Selects with ready channels don't block.
    block(NEVER, "select { case ch <- 7: default: }", |ck, _, _| {
        let ch = Chan::new(ASYNC);
        select! {
            send(ch, 7) => {},
            default => unreachable(ck, "select { case ch <- 7: default: }"),
        }
    });
    block(NEVER, "select { case <-ch: default: } with a value", |ck, _, _| {
        let ch = Chan::new(ASYNC);
        ch.send(7);
        select! {
            recv(ch) -> _ => {},
            default => unreachable(ck, "select { case <-ch: default: }"),
        }
    });

    // Selects with closed channels behave like ordinary operations.
    block(NEVER, "select { case <-closedch: }", |_, _, closedch| {
        select! {
            recv(closedch) -> _ => {},
        }
    });
    block(NEVER, "select { case x := (<-closedch): }", |_, _, closedch| {
        select! {
            recv(closedch) -> x => {
                let _ = x.unwrap_or(0);
            },
        }
    });
    block(NEVER, "select { case x, ok := (<-closedch): }", |_, _, closedch| {
        select! {
            recv(closedch) -> x => {
                let (_x, _ok) = (x.unwrap_or(0), x.is_some());
            },
        }
    });
    // select { case closedch <- 7: } panics: the boot test=gochan_selectsendclosed.

    // Select should not get confused if it sees itself.
    block(ALWAYS, "select { case c <- 1: case <-c: }", |_, _, _| {
        let c = Chan::<i32>::new(0);
        select! {
            send(c, 1) => {},
            recv(c) -> _ => {},
        }
    });
    Ok(format!("{blocks} block checks, 2 nil-case selects; 2 must-panic checks are boots of their own"))
}
