//! Channels and `select` (Go's `chan T` and `select` statement).
//!
//! A [`Chan<T>`] is a handle like Go's channel value: clones refer to the
//! same channel, and it can be sent to goroutines and over other channels.
//! A receive returns `Some(v)`, or `None` once the channel is closed and
//! drained (Go's zero value with `ok == false`).
//!
//! ```ignore
//! use gort::chan::Chan;
//!
//! let jobs = Chan::new(10);
//! let results = Chan::new(10);
//! for _ in 0..3 {
//!     let (jobs, results) = (jobs.clone(), results.clone());
//!     gort::go(move || {
//!         for j in jobs.iter() {
//!             results.send(j * 2);
//!         }
//!     });
//! }
//! for j in 1..=5 {
//!     jobs.send(j);
//! }
//! jobs.close();
//! let sum: i32 = (0..5).map(|_| results.recv().unwrap()).sum();
//! assert_eq!(sum, 30);
//! ```
//!
//! `select!` waits on several operations at once, like Go's `select`:
//!
//! ```ignore
//! use gort::chan::{select, Chan};
//! use gort::time::{after, Duration};
//!
//! let c: Chan<u32> = Chan::new(0);
//! select! {
//!     recv(c) -> v => gort::println!("got {v:?}"),
//!     recv(after(Duration::from_millis(10))) -> _ => gort::println!("timeout"),
//! }
//! ```
pub use crate::kernel::runtime::chan::{Chan, Iter, TryRecvError};
pub use crate::kernel::runtime::select;
