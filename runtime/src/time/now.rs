//! Go's `time.Now` and the `time.Time` it returns: a wall clock reading and
//! a monotonic clock reading, taken together.
//!
//! ## What Go does
//! `time.Now()` asks the runtime's `time_now` for three numbers (wall
//! seconds, wall nanoseconds, monotonic nanoseconds; on linux/amd64 two
//! vDSO `clock_gettime` calls, `CLOCK_REALTIME` and `CLOCK_MONOTONIC`) and
//! packs them into a `Time` of two words: the wall clock for printing and
//! for `Unix`/`UnixNano`, the monotonic reading for measuring. `t.Sub(u)`,
//! `time.Since(u)`, `Before`, `After` and `Equal` use the monotonic
//! readings when both times have one, so a wall clock that is stepped (an
//! NTP correction, a settimeofday) never makes an elapsed time negative or
//! wrong. Times built from a calendar value (`time.Unix(sec, nsec)`) carry
//! no monotonic reading and compare by wall clock.
//!
//! ## Here
//! [`now`] takes both readings from [`machine::time_now`]: on the kernel one
//! TSC read, the wall clock being the monotonic clock plus the offset the
//! boot-time RTC reading fixed (there is no OS underneath to step it, so
//! one read serves both); on the host mock, the host's two clocks.
//! [`Time`] keeps them as two plain fields: the wall clock in nanoseconds
//! since the Unix epoch (Go's encoding spans billions of years, ours the
//! years 1678 to 2262, like Go's `UnixNano`), and the monotonic reading, if
//! any. Durations are `core::time::Duration`s, which cannot be negative:
//! where Go's `t.Sub(u)` would be negative, `t - u` is zero (as Rust's
//! `Instant`), and [`Time::before`]/[`Time::after`] say which came first.
use core::ops::{Add, Sub};
use core::time::Duration;

use crate::sched::machine;

/// Go's `time.Time`: an instant, as a wall clock reading and, for times
/// from [`now`], a monotonic clock reading.
///
/// ```ignore
/// let start = gort::time::now();
/// work();
/// println!("took {:?}, done at {} (Unix ns)", start.elapsed(), gort::time::now().unix_nano());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    /// Wall clock: nanoseconds since 1970-01-01 00:00:00 UTC.
    wall: i64,
    /// Monotonic clock (`nanotime`), for times from [`now`].
    mono: Option<u64>,
}

/// Go's `time.Now()`: the current wall clock and monotonic clock.
#[inline]
pub fn now() -> Time {
    let (wall, mono) = machine::time_now();
    Time { wall, mono: Some(mono) }
}

/// Go's `time.Since(t)`: how long ago `t` was (zero if it is in the future).
pub fn since(t: Time) -> Duration {
    now() - t
}

/// Nanoseconds in `d`, saturating (Go's durations end at 292 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Time {
    /// Go's `time.Unix(sec, nsec)`: a wall clock time with no monotonic
    /// reading. `nsec` may lie outside [0, 1e9).
    pub fn unix_time(sec: i64, nsec: i64) -> Time {
        Time { wall: sec.saturating_mul(1_000_000_000).saturating_add(nsec), mono: None }
    }

    /// Go's `t.UnixNano()`: nanoseconds since the Unix epoch.
    #[inline]
    pub fn unix_nano(&self) -> i64 {
        self.wall
    }

    /// Go's `t.Unix()`: whole seconds since the Unix epoch (rounded down).
    pub fn unix(&self) -> i64 {
        self.wall.div_euclid(1_000_000_000)
    }

    /// Whether the time carries a monotonic reading (Go keeps that bit in
    /// its `wall` word).
    pub fn has_monotonic(&self) -> bool {
        self.mono.is_some()
    }

    /// Go's `t.Round(0)`: the same instant without its monotonic reading.
    pub fn strip_monotonic(&self) -> Time {
        Time { wall: self.wall, mono: None }
    }

    /// Go's `t.Sub(u)` in signed nanoseconds: from the monotonic readings
    /// when both have one, else from the wall clocks; saturating, as Go's.
    fn sub_nanos(&self, u: Time) -> i64 {
        match (self.mono, u.mono) {
            (Some(t), Some(u)) => {
                let d = i128::from(t) - i128::from(u);
                d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
            }
            _ => self.wall.saturating_sub(u.wall),
        }
    }

    /// Go's `t.Add(d)` with a signed count: both readings move.
    fn add_nanos(&self, d: i64) -> Time {
        Time { wall: self.wall.saturating_add(d), mono: self.mono.map(|m| m.saturating_add_signed(d)) }
    }

    /// A time `late` before `wall`/`mono`: what a timer that fired `late`
    /// after its deadline sends (Go's `sendTime`).
    pub(crate) fn earlier_by(wall: i64, mono: u64, late: u64) -> Time {
        Time { wall, mono: Some(mono) }.add_nanos(-(late.min(i64::MAX as u64) as i64))
    }

    /// Go's `time.Since(t)` as a method: how long ago `t` was.
    pub fn elapsed(&self) -> Duration {
        since(*self)
    }

    /// Go's `t.Before(u)` (monotonic readings when both have one).
    pub fn before(&self, u: Time) -> bool {
        self.sub_nanos(u) < 0
    }

    /// Go's `t.After(u)` (monotonic readings when both have one).
    pub fn after(&self, u: Time) -> bool {
        self.sub_nanos(u) > 0
    }
}

/// Go's `t.Sub(u)`: from the monotonic readings when both have one, else
/// from the wall clocks; zero where Go's would be negative.
impl Sub for Time {
    type Output = Duration;

    fn sub(self, u: Time) -> Duration {
        Duration::from_nanos(self.sub_nanos(u).max(0) as u64)
    }
}

/// Go's `t.Add(d)`: both readings move by `d`.
impl Add<Duration> for Time {
    type Output = Time;

    fn add(self, d: Duration) -> Time {
        self.add_nanos(nanos(d).min(i64::MAX as u64) as i64)
    }
}

/// Go's `t.Add(-d)`.
impl Sub<Duration> for Time {
    type Output = Time;

    fn sub(self, d: Duration) -> Time {
        self.add_nanos(-(nanos(d).min(i64::MAX as u64) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn now_reads_both_clocks() {
        let t = now();
        let host = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
        assert!(t.has_monotonic());
        assert!((host - t.unix_nano()).abs() < 5_000_000_000, "wall clock is the host's: {t:?} vs {host}");
        assert_eq!(t.unix(), t.unix_nano().div_euclid(1_000_000_000));
        let u = now();
        assert!(!u.before(t), "monotonic: {t:?} then {u:?}");
        assert!(t.elapsed() >= u - t);
    }

    #[test]
    fn sub_uses_the_monotonic_readings_when_both_have_one() {
        // The wall clock was stepped back an hour between the two readings;
        // 5 ms passed on the monotonic clock.
        let t = Time { wall: 10_000_000_000_000, mono: Some(1_000_000) };
        let u = Time { wall: t.wall - 3_600_000_000_000, mono: Some(6_000_000) };
        assert_eq!(u - t, 5 * MS);
        assert!(u.after(t) && t.before(u));
        // Without a monotonic reading on either side, the wall clocks count:
        // u is an hour before t, so u - t is zero and t - u an hour.
        assert_eq!(u.strip_monotonic() - t, Duration::ZERO);
        assert_eq!(t - u.strip_monotonic(), Duration::from_secs(3600));
        assert!(u.strip_monotonic().before(t) && t.after(u.strip_monotonic()));
        assert!(!u.strip_monotonic().has_monotonic());
    }

    #[test]
    fn unix_times_and_arithmetic() {
        let t = Time::unix_time(1_700_000_000, 1_500_000_000);
        assert_eq!(t.unix_nano(), 1_700_000_001_500_000_000);
        assert_eq!(t.unix(), 1_700_000_001);
        assert_eq!(Time::unix_time(-1, 1).unix(), -1, "rounds down before the epoch");
        assert!(!t.has_monotonic());
        let later = t + Duration::from_micros(2);
        assert_eq!(later - t, Duration::from_micros(2));
        assert_eq!(later - Duration::from_micros(2), t);
        let m = Time { wall: 5, mono: Some(10) } - Duration::from_nanos(4);
        assert_eq!((m.wall, m.mono), (1, Some(6)));
        assert_eq!(Time::unix_time(i64::MAX, 0).unix_nano(), i64::MAX, "saturates");
        let (a, b) = (Time { wall: 0, mono: Some(u64::MAX) }, Time { wall: 0, mono: Some(0) });
        assert_eq!(a - b, Duration::from_nanos(i64::MAX as u64), "saturates as Go's Sub");
        let fired = Time::earlier_by(1_000, 5_000, 300);
        assert_eq!((fired.wall, fired.mono), (700, Some(4_700)), "the deadline, not the moment it ran");
    }
}
