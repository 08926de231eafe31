//! The CMOS real-time clock, read once at boot to anchor the wall clock.
//!
//! `walltime()` = Unix time of the boot-time RTC reading + `nanotime()` since
//! that reading, as Linux keeps `CLOCK_REALTIME` from a boot-time RTC read and
//! a monotonic clock. The RTC has one-second resolution; that is the wall
//! clock's accuracy, while its rate is the TSC's.
//!
//! ## Reading the RTC (ports 0x70 index, 0x71 data)
//! 1. Wait until "update in progress" (status A bit 7) is clear.
//! 2. Read seconds, minutes, hours, day, month, year and century (0x32, which
//!    QEMU provides); read again until two readings agree, so an update that
//!    started in between cannot tear the value.
//! 3. Decode BCD unless status B bit 2 says binary; fold 12-hour mode (status
//!    B bit 1 clear) into 24 hours.
//! 4. Convert with `runtime::walltime::unix_seconds` (host-tested). A reading
//!    that makes no sense (an unset clock) leaves the wall clock at the epoch
//!    plus uptime, and the log says so.
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use x86_64::instructions::port::Port;

use super::time;

static BOOT_UNIX_NS: AtomicI64 = AtomicI64::new(0);
static READ_AT: AtomicU64 = AtomicU64::new(0);

fn cmos(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index/data pair; bit 7 of the index
    // (NMI disable) stays clear; only the boot CPU reads the RTC, once.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

fn reading() -> [u8; 7] {
    while cmos(0x0a) & 0x80 != 0 {
        core::hint::spin_loop();
    }
    [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32].map(cmos)
}

/// Reads the RTC and anchors the wall clock. Boot CPU, after TSC calibration.
pub fn init() {
    let mut r = reading();
    loop {
        let again = reading();
        if again == r {
            break;
        }
        r = again;
    }
    let status_b = cmos(0x0b);
    let bcd = |v: u8| if status_b & 0x04 != 0 { v } else { (v & 0x0f) + (v >> 4) * 10 };
    let [sec, min, hour_raw, day, month, year, century] = r;
    let mut hour = bcd(hour_raw & 0x7f);
    if status_b & 0x02 == 0 {
        let pm = hour_raw & 0x80 != 0;
        hour = (hour % 12) + if pm { 12 } else { 0 };
    }
    let century = match bcd(century) {
        c @ 19..=21 => i64::from(c),
        _ => 20,
    };
    let year = century * 100 + i64::from(bcd(year));
    let unix = runtime::walltime::unix_seconds(
        year,
        u32::from(bcd(month)),
        u32::from(bcd(day)),
        u32::from(hour),
        u32::from(bcd(min)),
        u32::from(bcd(sec)),
    );
    READ_AT.store(time::nanotime(), Ordering::Relaxed);
    match unix {
        Some(s) => {
            BOOT_UNIX_NS.store(s * 1_000_000_000, Ordering::Relaxed);
            log::info!("rtc: {year}-{:02}-{:02} {hour:02}:{:02}:{:02} UTC", bcd(month), bcd(day), bcd(min), bcd(sec));
        }
        None => log::warn!("rtc: unreadable date {r:02x?}; wall clock starts at the epoch"),
    }
}

/// Nanoseconds since the Unix epoch (Go's `walltime`).
#[inline]
pub fn walltime() -> i64 {
    time_now().0
}

/// Go's `time_now`: the wall clock (ns since the Unix epoch) and the
/// monotonic clock (`nanotime`) from one TSC read. Linux's vDSO answers
/// Go's `time.Now` with two clock reads, one per clock; here the wall clock
/// is the monotonic one plus the boot-time offset, so one read gives both.
#[inline]
pub fn time_now() -> (i64, u64) {
    let mono = time::nanotime();
    let since = mono - READ_AT.load(Ordering::Relaxed);
    (BOOT_UNIX_NS.load(Ordering::Relaxed) + since as i64, mono)
}
