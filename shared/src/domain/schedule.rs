//! When an outbox item is tried again: the redelivery schedule and what an
//! answer means for it. Pure, so the schedule is tested with plain numbers.

use std::fmt;

/// How long a `Retry-After` may postpone an attempt (a day): longer answers
/// are taken as this, so a misconfigured receiver cannot park an item forever.
pub const MAX_RETRY_AFTER: u64 = 24 * 3600;

/// The waits between attempts: the first attempt is made at once, the n-th
/// retry waits `delays[n - 1]` (with jitter), and after the last the item has
/// failed. The default is Standard Webhooks' recommendation, about a day in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    delays: Vec<u64>,
}

/// The default schedule, as `delivery_schedule` writes it.
pub const DEFAULT_SCHEDULE: &str = "5s 5m 30m 2h 5h 10h 10h";

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            delays: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
        }
    }
}

impl Schedule {
    /// At most this many retries.
    pub const MAX_RETRIES: usize = 20;

    /// Parses waits such as `5s 5m 30m 2h 5h 10h 10h` (separated by spaces
    /// or commas; units `s`, `m`, `h`, `d`; a bare number is seconds). An
    /// empty schedule means no retries.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let mut delays = Vec::new();
        for part in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
        {
            let (number, unit) = match part.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                Some((i, _)) => part.split_at(i),
                None => (part, "s"),
            };
            let scale = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86400,
                _ => return Err(format!("{part}: the unit must be s, m, h or d")),
            };
            let seconds = number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(scale))
                .filter(|s| (1..=7 * 86400).contains(s))
                .ok_or_else(|| format!("{part}: each wait must be from 1s to 7d"))?;
            delays.push(seconds);
        }
        if delays.len() > Self::MAX_RETRIES {
            return Err(format!("at most {} retries", Self::MAX_RETRIES));
        }
        Ok(Schedule { delays })
    }

    /// How many attempts an item gets in all.
    pub fn attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// When the attempt after `made` failed ones is due, or `None` when the
    /// schedule is over. `jitter` (any random number) moves the wait by up
    /// to a tenth either way, so that items failed together are not retried
    /// together; a `Retry-After` (seconds) later than that wins, up to
    /// [`MAX_RETRY_AFTER`].
    pub fn next(
        &self,
        made: usize,
        now: u64,
        retry_after: Option<u64>,
        jitter: u64,
    ) -> Option<u64> {
        let wait = *self.delays.get(made.checked_sub(1)?)?;
        let spread = wait / 10;
        let jittered = wait - spread + jitter % (2 * spread + 1);
        let asked = retry_after.map_or(0, |s| s.min(MAX_RETRY_AFTER));
        Some(now + jittered.max(asked).max(1))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .delays
            .iter()
            .map(|&s| match s {
                s if s % 86400 == 0 => format!("{}d", s / 86400),
                s if s % 3600 == 0 => format!("{}h", s / 3600),
                s if s % 60 == 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            })
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// What an attempt's answer means for the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: done.
    Delivered,
    /// 410 Gone: the receiver wants no more; the endpoint is disabled.
    Gone,
    /// Anything else (another status, or no answer): try again on schedule.
    Retry,
}

impl Verdict {
    /// The verdict on an HTTP status, or on no answer.
    pub fn of(status: Option<u16>) -> Verdict {
        match status {
            Some(200..=299) => Verdict::Delivered,
            Some(410) => Verdict::Gone,
            _ => Verdict::Retry,
        }
    }
}

/// A `Retry-After` value as seconds from `now`: delay-seconds or an HTTP
/// date (RFC 9110 §10.2.3). Unreadable values are ignored.
pub fn retry_after(value: &str, now: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(at.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_standard_webhooks_schedule() {
        let s = Schedule::default();
        assert_eq!(s.to_string(), DEFAULT_SCHEDULE);
        assert_eq!(Schedule::parse(DEFAULT_SCHEDULE), Ok(s.clone()));
        assert_eq!(s.attempts(), 8);
        // Without jitter (the middle of the spread), the waits in order.
        let mid = |wait: u64| wait / 10;
        let mut at = 1_000;
        for (made, wait) in [
            (1, 5),
            (2, 300),
            (3, 1800),
            (4, 7200),
            (5, 18000),
            (6, 36000),
            (7, 36000),
        ] {
            let next = s.next(made, at, None, mid(wait)).expect("scheduled");
            assert_eq!(next - at, wait, "after {made} attempts");
            at = next;
        }
        assert_eq!(s.next(8, at, None, 0), None, "eight attempts, then failed");
        assert_eq!(
            s.next(0, at, None, 0),
            None,
            "the first attempt is not scheduled"
        );
    }

    #[test]
    fn jitter_stays_within_a_tenth_and_retry_after_wins_when_later() {
        let s = Schedule::default();
        for jitter in [0, 1, 29, 30, 59, 60, 61, u64::MAX] {
            let wait = s.next(2, 0, None, jitter).expect("scheduled");
            assert!((270..=330).contains(&wait), "{jitter}: {wait}");
        }
        assert_eq!(
            s.next(1, 0, Some(120), 0),
            Some(120),
            "later than 5s: Retry-After"
        );
        assert_eq!(
            s.next(2, 0, Some(1), 30),
            Some(300),
            "earlier: the schedule"
        );
        assert_eq!(
            s.next(1, 0, Some(u64::MAX), 0),
            Some(MAX_RETRY_AFTER),
            "capped"
        );
    }

    #[test]
    fn schedules_parse_with_units_and_refuse_nonsense() {
        assert_eq!(
            Schedule::parse("1,2s 1m 1h 1d").map(|s| s.to_string()),
            Ok("1s 2s 1m 1h 1d".into())
        );
        assert_eq!(Schedule::parse("").map(|s| s.attempts()), Ok(1));
        for bad in ["5x", "0s", "8d", "-1", "s", &"1s ".repeat(21)] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_decide_what_follows() {
        assert_eq!(Verdict::of(Some(200)), Verdict::Delivered);
        assert_eq!(Verdict::of(Some(204)), Verdict::Delivered);
        assert_eq!(Verdict::of(Some(410)), Verdict::Gone);
        for retry in [
            Some(301),
            Some(400),
            Some(404),
            Some(408),
            Some(429),
            Some(500),
            Some(503),
            None,
        ] {
            assert_eq!(Verdict::of(retry), Verdict::Retry, "{retry:?}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("120", 0), Some(120));
        assert_eq!(retry_after(" 7 ", 0), Some(7));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_677),
            Some(100)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_999),
            Some(0)
        );
        assert_eq!(retry_after("soon", 0), None);
    }
}
