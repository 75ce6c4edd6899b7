//! Time, injected so that expiry can be tested without waiting.

#[cfg(any(test, feature = "testing"))]
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Serialize, Serializer};

/// Unix time in whole seconds.
pub trait Clock {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;

    /// Milliseconds since the Unix epoch, for how long things take.
    fn now_ms(&self) -> u64 {
        self.now() * 1000
    }
}

/// The wall clock (WASI `wall-clock` inside a component).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

#[cfg(any(test, feature = "testing"))]
/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

#[cfg(any(test, feature = "testing"))]
impl ManualClock {
    /// A clock standing at `now`.
    pub fn at(now: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now))
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "testing"))]
impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }

    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// An instant (Unix seconds) that JSON answers write as RFC 3339 and pages
/// as [`readable`]: the medium picks the form, so nothing parses it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(self.0))
    }
}

/// A UTC instant split into calendar fields.
#[derive(Debug, Clone, Copy)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    second_of_day: u64,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Civil {
    /// Civil-from-days (H. Hinnant): the proleptic Gregorian calendar.
    fn from_unix(unix: u64) -> Civil {
        let days = (unix / 86_400) as i64;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            second_of_day: unix % 86_400,
        }
    }

    /// RFC 3339 through `core::fmt`, for years of any width.
    fn rfc3339_with_fmt(self) -> String {
        let s = self.second_of_day;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-22T12:00:00Z`).
///
/// Every list item carries a few of these, so four-digit years (all a
/// record can hold) are written digit by digit rather than through
/// `core::fmt`, which took about 3% of a customers page.
pub fn rfc3339(unix: u64) -> String {
    let c = Civil::from_unix(unix);
    let s = c.second_of_day;
    let Ok(year @ 0..=9999) = u64::try_from(c.year) else {
        return c.rfc3339_with_fmt();
    };
    let mut out = String::with_capacity(20);
    let fields = [
        (year, 4, '-'),
        (c.month.unsigned_abs(), 2, '-'),
        (c.day.unsigned_abs(), 2, 'T'),
        (s / 3600, 2, ':'),
        (s / 60 % 60, 2, ':'),
        (s % 60, 2, 'Z'),
    ];
    for (value, width, separator) in fields {
        for place in (0..width).rev() {
            let digit = value / 10u64.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.push(separator);
    }
    out
}

/// Unix seconds for people: `22 November 2026, 12:00 UTC`.
pub fn readable(unix: u64) -> String {
    let c = Civil::from_unix(unix);
    let s = c.second_of_day;
    let month = usize::try_from(c.month - 1)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("?");
    format!(
        "{} {month} {}, {:02}:{:02} UTC",
        c.day,
        c.year,
        s / 3600,
        s / 60 % 60
    )
}

/// A UTC instant's calendar date and time of day, for writing it in a
/// language (`messages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarTime {
    /// The year (proleptic Gregorian).
    pub year: i64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
}

/// Unix seconds as a UTC calendar date and time of day.
pub fn calendar(unix: u64) -> CalendarTime {
    let c = Civil::from_unix(unix);
    let s = c.second_of_day;
    // Every field is within its range by construction.
    let small = |v: u64| u8::try_from(v).unwrap_or(u8::MAX);
    CalendarTime {
        year: c.year,
        month: small(c.month.unsigned_abs()),
        day: small(c.day.unsigned_abs()),
        hour: small(s / 3600),
        minute: small(s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        assert_eq!(
            calendar(1_795_305_600 + 9 * 86_400 + 13 * 3600 + 5 * 60 + 59),
            CalendarTime {
                year: 2026,
                month: 12,
                day: 1,
                hour: 13,
                minute: 5
            }
        );
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn digit_by_digit_matches_core_fmt() {
        let reference = |unix: u64| Civil::from_unix(unix).rfc3339_with_fmt();
        // Every day from 1970 to past 9999, at a time that moves through the day.
        let last = 253_402_300_799 + 86_400 * 400;
        for unix in (0..last).step_by(86_400 * 7 + 3_601) {
            assert_eq!(rfc3339(unix), reference(unix), "{unix}");
        }
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
    }

    #[test]
    fn timestamps_serialize_as_rfc3339() {
        assert_eq!(
            serde_json::to_string(&Timestamp(1_795_305_600)).expect("json"),
            "\"2026-11-22T00:00:00Z\""
        );
    }

    #[test]
    fn readable_for_people() {
        assert_eq!(
            readable(1_795_305_600 + 12 * 3600),
            "22 November 2026, 12:00 UTC"
        );
        assert_eq!(readable(951_782_400 + 59), "29 February 2000, 00:00 UTC");
    }
}
