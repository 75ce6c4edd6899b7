//! Time, injected so that expiry can be tested without waiting.

use std::sync::atomic::{AtomicU64, Ordering};

/// Unix time in whole seconds.
pub trait Clock {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The wall clock (WASI `wall-clock` inside a component).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

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

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A UTC instant split into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// Days-from-civil, the inverse of [`Civil::from_unix`]; `None` before 1970.
    fn to_unix(self) -> Option<u64> {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = (self.month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + self.day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        u64::try_from(days)
            .ok()
            .map(|d| d * 86_400 + self.second_of_day)
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-22T12:00:00Z`).
pub fn rfc3339(unix: u64) -> String {
    let c = Civil::from_unix(unix);
    let s = c.second_of_day;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year,
        c.month,
        c.day,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Reads back what [`rfc3339`] writes (UTC, whole seconds); `None` for
/// anything else.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let layout = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !layout {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        digits
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let civil = Civil {
        year,
        month,
        day,
        second_of_day: u64::try_from(hour * 3600 + minute * 60 + second).ok()?,
    };
    let unix = civil.to_unix()?;
    // Rejects days past the month's end, which would roll over.
    (Civil::from_unix(unix) == civil).then_some(unix)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn reads_back_what_it_writes() {
        for unix in [
            0,
            59,
            951_782_400,
            1_795_305_600,
            1_795_391_999,
            4_102_444_799,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339(unix)), Some(unix), "{unix}");
        }
        for day in 0..3_000u64 {
            let unix = day * 86_400 + day * 37 % 86_400;
            assert_eq!(parse_rfc3339(&rfc3339(unix)), Some(unix));
        }
    }

    #[test]
    fn reads_nothing_else() {
        for text in [
            "",
            "2026-11-22",
            "2026-11-22T12:00:00+01:00",
            "2026-11-22 12:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "20x6-11-22T12:00:00Z",
            "+026-11-22T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text:?}");
        }
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
