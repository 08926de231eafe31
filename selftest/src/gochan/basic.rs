//! Four small programs of `$GOROOT/test/chan/`: `fifo.go`, `goroutines.go`,
//! `zerosize.go` and `select4.go`.
//!
//! ## fifo.go: "Test that unbuffered channels act as pure fifos."
//! `AsynchFifo` fills a channel of capacity 10 with 0..9 and reads them back
//! in order. `SynchFifo` threads ten goroutines into a daisy chain: each
//! waits for its turn on `in`, takes one value from the shared unbuffered
//! channel `ch`, which must be its own index, and passes the turn on `out`;
//! `main` sends 0..9 on `ch`, so the values reach the waiting receivers in
//! the order they queued.
//!
//! Differs from Go: `AsynchFifo`'s `os.Exit(1)` after "bad receive" and
//! `Chain`'s `panic(val)` become failed checks (see the module docs of
//! `gochan`); a `Chain` whose value was wrong still passes the turn on.
//!
//! ## goroutines.go: "make a lot of goroutines, threaded together. tear them down cleanly."
//! 10,000 goroutines `f(left, right)` each forward one value from their right
//! channel to their left; one more sends 1 into the rightmost channel and
//! `main` receives it from the leftmost. Go's count comes from `os.Args`
//! (default 10000); here it is Go's default. Go checks only that the value
//! arrives; the port also checks that it is the 1 that was sent, and prints
//! how many goroutines were alive at the peak.
//!
//! ## zerosize.go: "Test making channels of a zero-sized type."
//! Go makes unbuffered and buffered channels of `[0]byte` and `struct{}` and
//! checks only that this compiles and runs. The port makes the same four
//! (`[u8; 0]` and `()`), and, since making them is all Go asks, also sends
//! and receives through each (with a goroutine for the unbuffered ones):
//! zero-sized elements have no buffer memory at all, which is a path of its
//! own in `HChan::new`.
//!
//! ## select4.go: "Test that a select statement proceeds when a value is ready."
//! Of `case *f() = <-c1` (never ready) and `case x.a = <-c` (42 buffered),
//! the second must run, and `f`, which Go evaluates only for the chosen
//! case, must never be called. Here the assignment is the case's body, so
//! `*f() = v` runs only if that case is chosen: the same rule.
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use runtime::chan::Chan;
use runtime::{sched, select};

use super::{Check, Outcome};

/// fifo.go's `N`.
const N: i64 = 10;

/// Go's `AsynchFifo`.
fn asynch_fifo() -> Result<(), String> {
    let ch = Chan::new(N as usize);
    for i in 0..N {
        ch.send(i);
    }
    for i in 0..N {
        let v = ch.recv();
        if v != Some(i) {
            return Err(format!("bad receive: AsynchFifo got {v:?}, want {i}"));
        }
    }
    Ok(())
}

/// Go's `Chain`: waits for the turn, checks its value, passes the turn on.
fn chain(ck: Arc<Check>, ch: Chan<i64>, val: i64, input: Chan<i64>, out: Chan<i64>) {
    input.recv();
    let v = ch.recv();
    if v != Some(val) {
        ck.fail(format_args!("SynchFifo: Chain {val} received {v:?}"));
    }
    out.send(1);
}

/// Go's `SynchFifo`: thread together a daisy chain to read the elements in
/// sequence.
fn synch_fifo(ck: &Arc<Check>) {
    let ch = Chan::new(0);
    let mut input = Chan::new(0);
    let start = input.clone();
    for i in 0..N {
        let out = Chan::new(0);
        let (ck, ch, inp, o) = (ck.clone(), ch.clone(), input, out.clone());
        sched::go(move || chain(ck, ch, i, inp, o));
        input = out;
    }
    start.send(0);
    for i in 0..N {
        ch.send(i);
    }
    input.recv();
}

/// fifo.go's `main`.
pub fn fifo(ck: &Arc<Check>) -> Outcome {
    asynch_fifo()?;
    synch_fifo(ck);
    Ok(format!("{N} values through a buffer and through a chain of {N} goroutines"))
}

/// goroutines.go's `f`.
fn f(left: Chan<i64>, right: Chan<i64>) {
    if let Some(v) = right.recv() {
        left.send(v);
    }
}

/// goroutines.go's `main`, with its default `n`.
pub fn goroutines(_: &Arc<Check>) -> Outcome {
    let n = 10_000;
    let leftmost = Chan::new(0);
    let mut right = leftmost.clone();
    let mut left = leftmost.clone();
    for _ in 0..n {
        right = Chan::new(0);
        let (l, r) = (left, right.clone());
        sched::go(move || f(l, r));
        left = right.clone();
    }
    let peak = sched::num_goroutine();
    let c = right;
    sched::go(move || c.send(1));
    match leftmost.recv() {
        Some(1) => Ok(format!("{n} goroutines threaded together, {peak} alive at the peak")),
        other => Err(format!("the leftmost channel gave {other:?}, want Some(1)")),
    }
}

/// One zero-sized element type: unbuffered and buffered channels, made as
/// in Go, then a value through each.
fn zero_sized<T: Send + Copy + PartialEq + core::fmt::Debug + 'static>(v: T, what: &str) -> Result<(), String> {
    let unbuffered = Chan::<T>::new(0);
    let buffered = Chan::<T>::new(1);
    buffered.send(v);
    if buffered.len() != 1 || buffered.cap() != 1 {
        return Err(format!("chan {what} with capacity 1: len {} cap {} after a send", buffered.len(), buffered.cap()));
    }
    if buffered.recv() != Some(v) {
        return Err(format!("chan {what} with capacity 1 lost its value"));
    }
    let tx = unbuffered.clone();
    sched::go(move || tx.send(v));
    if unbuffered.recv() != Some(v) {
        return Err(format!("unbuffered chan {what} lost its value"));
    }
    Ok(())
}

/// zerosize.go's `main`.
pub fn zerosize(_: &Arc<Check>) -> Outcome {
    zero_sized([0u8; 0], "[0]byte")?;
    zero_sized((), "struct{}")?;
    Ok(String::from("chan [0]byte and chan struct{}, unbuffered and buffered"))
}

/// select4.go's `main`.
pub fn select4(ck: &Arc<Check>) -> Outcome {
    let f = || -> alloc::boxed::Box<i64> {
        ck.fail(format_args!("BUG: called f"));
        alloc::boxed::Box::new(0)
    };
    struct X {
        a: i64,
    }
    let mut x = X { a: 0 };
    let c = Chan::new(1);
    let c1 = Chan::new(0);
    c.send(42);
    select! {
        recv(c1) -> v => *f() = v.unwrap_or(0),
        recv(c) -> v => {
            x.a = v.unwrap_or(0);
            if x.a != 42 {
                return Err(format!("BUG: {}", x.a));
            }
        },
    }
    Ok(String::from("the ready case ran; f was not called"))
}
