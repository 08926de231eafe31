//! Civil time to Unix time, for the kernel's wall clock.
//!
//! The kernel reads the CMOS real-time clock once at boot (year, month, day,
//! hour, minute, second, UTC) and from then on adds `nanotime()`, as Linux does
//! with its boot-time RTC read; this converts the RTC's reading.
//!
//! `days_from_civil` is the proleptic-Gregorian algorithm of Howard Hinnant's
//! "chrono-compatible low-level date algorithms": eras of 400 years, with
//! March as the first month so the leap day ends the year.

/// Days from 1970-01-01 to `year-month-day` (month 1..=12, day 1..=31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the Unix epoch for a UTC civil time, or `None` if a field is
/// out of range (a CMOS clock that was never set can read garbage).
pub fn unix_seconds(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + min * 60 + sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(unix_seconds(2000, 1, 1, 0, 0, 0), Some(946_684_800));
        assert_eq!(unix_seconds(2026, 11, 23, 8, 0, 0), Some(1_795_420_800));
        assert_eq!(unix_seconds(2024, 2, 29, 12, 0, 0), Some(1_709_208_000), "leap day");
    }

    #[test]
    fn consecutive_days_are_consecutive() {
        let mut prev = days_from_civil(1899, 12, 31);
        for year in 1900..2101 {
            for month in 1..=12u32 {
                let days = match month {
                    2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for day in 1..=days {
                    let d = days_from_civil(year, month, day);
                    assert_eq!(d, prev + 1, "{year}-{month}-{day}");
                    prev = d;
                }
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(unix_seconds(2026, 13, 1, 0, 0, 0), None);
        assert_eq!(unix_seconds(2026, 0, 1, 0, 0, 0), None);
        assert_eq!(unix_seconds(2026, 1, 1, 24, 0, 0), None);
        assert_eq!(unix_seconds(2026, 1, 0, 0, 0, 0), None);
    }
}
