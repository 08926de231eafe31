//! Go's `time` package: the clock, sleeping, timers and tickers.
//!
//! Durations are `core::time::Duration`. [`now`] returns a [`Time`] with a
//! wall clock reading (for printing, `unix_nano`) and a monotonic one (for
//! measuring: `t2 - t1`, [`since`], `elapsed`), as Go's `time.Now`. Timer and
//! ticker channels receive the `Time` the timer was due.
//!
//! ```ignore
//! use gort::time::{self, Duration};
//!
//! let start = time::now();
//! time::sleep(Duration::from_millis(20));
//! let ticker = time::Ticker::new(Duration::from_millis(5));
//! ticker.c.recv();
//! gort::println!("{:?} since start", time::since(start));
//! ```
pub use core::time::Duration;

pub use crate::kernel::runtime::time::{after, after_func, now, since, sleep, tick, Ticker, Time, Timer};

/// Rust's name for what Go calls a [`Time`]: an instant from [`now`].
pub type Instant = Time;
