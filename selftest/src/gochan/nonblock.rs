//! `$GOROOT/test/chan/nonblock.go`: "Test channel operations that test for
//! blocking. Use several sizes and types of operands."
//!
//! For an unbuffered and then a buffered (capacity 1) channel of each of
//! `int32`, `int64`, `bool` and `string`:
//! 1. a non-blocking receive (select with default) from the new, empty
//!    channel must take the default;
//! 2. a receiver goroutine is started, and a non-blocking send is retried,
//!    sleeping between tries, until it goes through (at most `maxTries`);
//!    the receiver checks the value and signals on `sync`;
//! 3. a sender goroutine is started (with a buffer, `main` first waits for
//!    it to have sent), and a non-blocking receive is retried the same way
//!    until it gets the sender's value, which must be the one sent.
//!
//! `sleep()` waits for two ticks of a 10 µs ticker and yields three times.
//!
//! ## Where the port differs
//! - Go writes each step out four times, once per element type; the port
//!   writes it once, generic over the element type, and calls it in Go's
//!   order (all four empty checks, then int32, int64, bool, string), with
//!   Go's values and Go's failure messages.
//! - Go's `var ticker = time.Tick(10 * 1000)` ticks from program start to
//!   exit. Here the ticker lives for this program only (dropping a
//!   `Ticker` stops it), so its 10 µs period does not tax the programs
//!   that run after it in the same boot.
//! - A receiver or sender goroutine's `panic("i32 value")` is a failed
//!   check; it still signals `sync`, so `main` does not hang.
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt::Debug;

use runtime::chan::Chan;
use runtime::time::{Ticker, Time};
use runtime::{sched, select};

use super::{Check, Outcome};

/// Up to 100 ms per test (at 10 µs a tick).
const MAX_TRIES: usize = 10000;

/// An element type of the test, with its values and Go's names for it.
struct Kind<T> {
    /// `i32`, `i64`, `b`, `s`: the prefix of Go's goroutine names.
    name: &'static str,
    /// What `main` sends to the receiver goroutine (Go: 123, 123456, true, "hello").
    to_receiver: T,
    /// What the sender goroutine sends to `main` (234, 234567, true, "hello again").
    from_sender: T,
}

/// Go's `i32receiver` and friends.
fn receiver<T: Send + PartialEq + Debug>(ck: Arc<Check>, c: Chan<T>, strobe: Chan<bool>, want: T, name: &str) {
    let v = c.recv();
    if v.as_ref() != Some(&want) {
        ck.fail(format_args!("{name} value: the receiver got {v:?}, want {want:?}"));
    }
    strobe.send(true);
}

/// Go's `i32sender` and friends.
fn sender<T: Send>(c: Chan<T>, strobe: Chan<bool>, v: T) {
    c.send(v);
    strobe.send(true);
}

/// Go's `sleep`.
fn sleep(ticker: &Chan<Time>) {
    ticker.recv();
    ticker.recv();
    sched::gosched();
    sched::gosched();
    sched::gosched();
}

/// Step 1: `select { case i32 = <-c32: panic("blocked i32sender"); default: }`.
fn expect_empty<T: Send>(c: &Chan<T>, name: &str) -> Result<(), String> {
    select! {
        recv(c) -> _ => Err(format!("blocked {name}sender")),
        default => Ok(()),
    }
}

/// Steps 2 and 3 for one element type.
fn exchange<T>(
    ck: &Arc<Check>,
    c: &Chan<T>,
    sync: &Chan<bool>,
    ticker: &Chan<Time>,
    buffer: usize,
    kind: Kind<T>,
) -> Result<(), String>
where
    T: Send + Clone + PartialEq + Debug + 'static,
{
    let name = kind.name;
    let (ck2, c2, s2, want) = (ck.clone(), c.clone(), sync.clone(), kind.to_receiver.clone());
    sched::go(move || receiver(ck2, c2, s2, want, name));
    let mut tries = 0;
    loop {
        select! {
            send(c, kind.to_receiver.clone()) => break,
            default => {
                tries += 1;
                if tries > MAX_TRIES {
                    return Err(format!("{name}receiver buffer= {buffer}"));
                }
                sleep(ticker);
            },
        }
    }
    sync.recv();

    let (c2, s2, v) = (c.clone(), sync.clone(), kind.from_sender.clone());
    sched::go(move || sender(c2, s2, v));
    if buffer > 0 {
        sync.recv();
    }
    let mut tries = 0;
    let got = loop {
        select! {
            recv(c) -> v => break v,
            default => {
                tries += 1;
                if tries > MAX_TRIES {
                    return Err(format!("{name}sender buffer= {buffer}"));
                }
                sleep(ticker);
            },
        }
    };
    if got.as_ref() != Some(&kind.from_sender) {
        return Err(format!("{name}sender value: got {got:?}, want {:?}", kind.from_sender));
    }
    if buffer == 0 {
        sync.recv();
    }
    Ok(())
}

/// nonblock.go's `main`.
pub fn nonblock(ck: &Arc<Check>) -> Outcome {
    let ticker = Ticker::new(core::time::Duration::from_micros(10));
    let tick = &ticker.c;
    let sync = Chan::new(0);
    for buffer in 0..2 {
        let c32 = Chan::<i32>::new(buffer);
        let c64 = Chan::<i64>::new(buffer);
        let cb = Chan::<bool>::new(buffer);
        let cs = Chan::<String>::new(buffer);

        expect_empty(&c32, "i32")?;
        expect_empty(&c64, "i64")?;
        expect_empty(&cb, "b")?;
        expect_empty(&cs, "s")?;

        exchange(ck, &c32, &sync, tick, buffer, Kind { name: "i32", to_receiver: 123, from_sender: 234 })?;
        exchange(ck, &c64, &sync, tick, buffer, Kind { name: "i64", to_receiver: 123456, from_sender: 234567 })?;
        exchange(ck, &cb, &sync, tick, buffer, Kind { name: "b", to_receiver: true, from_sender: true })?;
        let (hello, again) = (String::from("hello"), String::from("hello again"));
        exchange(ck, &cs, &sync, tick, buffer, Kind { name: "s", to_receiver: hello, from_sender: again })?;
    }
    Ok(String::from("int32, int64, bool and string; unbuffered and buffered"))
}
