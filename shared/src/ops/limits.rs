//! Rate limits: fixed one-minute windows in a fixed set of counters.
//!
//! Only requests that write are counted, so a read never writes: the link
//! POSTs (redemption, a decision by link) per client address and per
//! verified link, the API's writes per partner. Page views and API reads
//! are left to the edge in front of Spin (README, Rate limits). A link that
//! does not verify is not counted: its request is refused without writing.
//!
//! A counted request costs at most one store write a scope, an increment,
//! and usually none: a limit only has to be exact near itself. Below half
//! its limit a counter counts in strides ([`stride`]): a request adds the
//! stride with a chance of one in the stride and writes nothing otherwise,
//! so the count stays right on average (its spread at half the limit is
//! about a tenth of the limit) while a write is spent on one request in a
//! stride. From half the limit on, every request adds one. With the default
//! limits that is one write in 156 API writes and about one in 11
//! redemptions, instead of one and two.
//!
//! Addresses and links are hashed into [`BUCKETS`] counters per scope,
//! partners each have their own (one busy partner must not spend another's
//! quota), and a counter is reused window after window: its value carries
//! the window it counts (`Counter`), and the first request of a new window
//! moves it on with the same one increment. So no traffic, however many addresses or
//! links it comes from, adds keys beyond `2 * BUCKETS` and one per partner.
//!
//! The count is read first, and a request over a limit is refused with a
//! 429 without writing anything; one under it adds one. Of requests that
//! arrive together a few more than the limit may get through, which is what
//! a limit is for.

use sha2::{Digest, Sha256};

use super::App;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, keys, record};
use crate::token::Purpose;

/// The length of a window, in seconds.
pub const WINDOW: u64 = 60;

/// Counters per hashed scope (addresses, links): subjects sharing one share
/// its quota, one chance in this many for any two.
pub const BUCKETS: u64 = 4096;

/// Below half its limit, a counter moves in about `STRIDES / 2` strides.
pub const STRIDES: u64 = 64;

/// How many requests a counted request stands for while its counter is
/// below half the limit: 1 (every request counted) for limits under
/// [`STRIDES`] times 2.
pub fn stride(limit: u32) -> u64 {
    (u64::from(limit) / STRIDES).max(1)
}

/// How many requests a window allows, per scope; 0 turns a scope off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Link POSTs (redemption, decisions by link token), per client address.
    pub link_per_address: u32,
    /// The same, per verified link (the invite or request it names).
    pub link_per_token: u32,
    /// The API's writes, per partner.
    pub partner: u32,
}

impl Default for Limits {
    /// 3,000 link POSTs a minute per client address, 1,000 per link, 10,000
    /// API writes a minute per partner: far above what people and
    /// well-behaved systems send, low enough to stop a flood. Operators
    /// tighten them with the `rate_limit_*` variables.
    fn default() -> Self {
        Limits {
            link_per_address: 3000,
            link_per_token: 1000,
            partner: 10_000,
        }
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A client address, on the link POSTs.
    Address,
    /// A verified link, by the record it names.
    Token,
    /// A partner, on the API's writes.
    Partner,
}

impl Scope {
    /// The policy's name in the `RateLimit` headers.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Address => "per-address",
            Scope::Token => "per-token",
            Scope::Partner => "per-partner",
        }
    }

    /// The counter `subject` is counted in.
    fn key(self, subject: &str) -> String {
        match self {
            Scope::Partner => keys::rate(self.name(), subject),
            _ => keys::rate(self.name(), &bucket(subject).to_string()),
        }
    }
}

/// A counter's value: the window it counts and its count in one integer,
/// `2 * window * SPAN + count`, so that one atomic increment either adds
/// to the count (same window) or moves it to a new window with a count
/// (by the difference). Windows are two spans apart: two requests that move
/// the same counter at once overshoot into an odd span, which no window
/// owns, so the next request moves it again instead of reading a count
/// that was never made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counter(i64);

/// Room for a window's count (limits are far below it).
const SPAN: i64 = 1 << 32;

impl Counter {
    /// `count` requests in `window`.
    fn at(window: u64, count: u64) -> Counter {
        let start = i64::try_from(window).unwrap_or(i64::MAX / SPAN / 4) * 2 * SPAN;
        Counter(start + i64::try_from(count).unwrap_or(SPAN - 1).min(SPAN - 1))
    }

    /// The count in `window`, or `None` if it counts another window.
    fn count_in(self, window: u64) -> Option<u64> {
        let start = Counter::at(window, 0).0;
        (start..start + SPAN)
            .contains(&self.0)
            .then(|| (self.0 - start) as u64)
    }

    /// Reads a counter as the store keeps it ([`record::counter`]); nothing,
    /// or what is not a counter, is a counter at zero.
    fn read(bytes: Option<&[u8]>) -> Counter {
        Counter(bytes.and_then(record::counter).unwrap_or(0))
    }
}

/// Where one scope stands after a request was counted: for the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The scope.
    pub scope: Scope,
    /// Requests a window allows.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset: u64,
}

impl Quota {
    /// `RateLimit-Policy` and `RateLimit` (IETF draft
    /// draft-ietf-httpapi-ratelimit-headers), and `Retry-After` once none
    /// is left.
    pub fn headers(&self) -> Vec<(String, String)> {
        let name = self.scope.name();
        let mut headers = vec![
            (
                "ratelimit-policy".to_string(),
                format!("\"{name}\";q={};w={WINDOW}", self.limit),
            ),
            (
                "ratelimit".to_string(),
                format!("\"{name}\";r={};t={}", self.remaining, self.reset),
            ),
        ];
        if self.remaining == 0 {
            headers.push(("retry-after".to_string(), self.reset.to_string()));
        }
        headers
    }
}

/// Rate limits.
pub struct Limiter<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Limiter<'_, S, T> {
    /// Counts a link POST carrying `token` (an invite link's for
    /// `Purpose::Invite`, an approval link's for `Purpose::Connect`) per
    /// client `address` and per the record the token names. A token that
    /// does not verify is not counted: the operation refuses it, and a
    /// refused request writes nothing.
    pub async fn count_link(
        &self,
        address: &str,
        token: &str,
        purpose: Purpose,
    ) -> Result<Vec<Quota>, Problem> {
        let Ok(claims) = self.app.keys.verify(token.trim(), purpose, self.app.now()) else {
            return Ok(Vec::new());
        };
        let link = format!("{purpose:?}/{}", claims.record_id);
        self.count(&[(Scope::Address, address), (Scope::Token, &link)])
            .await
    }

    /// Counts one request against each `(scope, subject)` (a subject is an
    /// address, a link's record or a partner id): the quotas as they stand,
    /// or a 429 naming the first limit reached, with its headers. A refused
    /// request writes nothing; a counted one writes at most one increment a
    /// scope (none, mostly, below half a limit: [`stride`]).
    pub async fn count(&self, subjects: &[(Scope, &str)]) -> Result<Vec<Quota>, Problem> {
        let limits = self.app.config.limits;
        let now = self.app.now();
        let window = now / WINDOW;
        let reset = (window + 1) * WINDOW - now;
        // Each counted scope with its limit and its counter; a scope turned
        // off is not counted.
        let counted: Vec<(Scope, u32, String)> = subjects
            .iter()
            .filter_map(|(scope, subject)| {
                let limit = match scope {
                    Scope::Address => limits.link_per_address,
                    Scope::Token => limits.link_per_token,
                    Scope::Partner => limits.partner,
                };
                (limit > 0).then(|| (*scope, limit, scope.key(subject)))
            })
            .collect();
        if counted.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = counted.iter().map(|(_, _, key)| key.clone()).collect();
        let records = self.app.records();
        let found = records.read_many(&keys).await?;
        let mut steps = Vec::with_capacity(counted.len());
        for ((scope, limit, _), value) in counted.iter().zip(&found) {
            let current = Counter::read(value.as_deref());
            let in_window = current.count_in(window);
            let used = in_window.unwrap_or(0);
            if used >= u64::from(*limit) {
                let quota = Quota {
                    scope: *scope,
                    limit: *limit,
                    remaining: 0,
                    reset,
                };
                return Err(Problem::new(
                    ProblemKind::TooManyRequests,
                    format!(
                        "too many requests ({} a minute {}); retry in {reset} seconds",
                        limit,
                        scope.name().replace('-', " ")
                    ),
                )
                .with_headers(quota.headers()));
            }
            // Below half the limit, one request in a stride adds the
            // stride; from half on, each adds one.
            let stride = stride(*limit);
            let weight = if 2 * (used + stride) <= u64::from(*limit) {
                stride
            } else {
                1
            };
            let step = if weight > 1 && !self.app.random.u64().is_multiple_of(weight) {
                None
            } else if in_window.is_some() {
                Some(weight as i64)
            } else {
                // Moves the counter to this window, at the weight.
                Some(Counter::at(window, weight).0.saturating_sub(current.0))
            };
            steps.push((used, weight, step));
        }
        let mut answer = Vec::with_capacity(counted.len());
        for ((scope, limit, key), (used, weight, step)) in counted.into_iter().zip(steps) {
            let used = match step {
                None => used,
                Some(step) => {
                    let after = Counter(records.kv().increment(&key, step).await?);
                    // A counter two requests moved at once reads as the
                    // count this one made.
                    after.count_in(window).unwrap_or(used + weight)
                }
            };
            answer.push(Quota {
                scope,
                limit,
                remaining: u32::try_from(u64::from(limit).saturating_sub(used)).unwrap_or(0),
                reset,
            });
        }
        Ok(answer)
    }
}

/// The bucket of a hashed scope `subject` falls in.
fn bucket(subject: &str) -> u64 {
    let digest = Sha256::digest(subject.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(head) % BUCKETS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_moved_twice_at_once_is_moved_again_not_read() {
        let old = Counter(Counter::at(100, 1).0 + 41);
        assert_eq!(old.count_in(100), Some(42));
        let step = Counter::at(101, 1).0 - old.0;
        assert_eq!(Counter(old.0 + step).count_in(101), Some(1));
        let twice = Counter(old.0 + 2 * step);
        assert_eq!(twice.count_in(101), None, "no window owns it");
        let three = Counter(old.0 + 3 * step);
        assert_eq!(three.count_in(101), None);
        // Two requests move it back at once: below the window, not in it.
        let back = Counter(twice.0 + 2 * (Counter::at(101, 1).0 - twice.0));
        assert_eq!(back.count_in(101), None);
        assert_eq!(
            Counter(twice.0 + Counter::at(101, 1).0 - twice.0).count_in(101),
            Some(1)
        );
    }

    #[test]
    fn counters_read_as_either_store_keeps_them() {
        assert_eq!(Counter::read(None), Counter(0));
        assert_eq!(Counter::read(Some(b"12")), Counter(12));
        let sqlite = Counter::at(29_000_000, 1).0 + 7;
        assert_eq!(Counter::read(Some(&sqlite.to_le_bytes())), Counter(sqlite));
        assert_eq!(Counter::read(Some(b"not a number")), Counter(0));
    }

    #[test]
    fn headers_follow_the_ietf_draft() {
        let q = Quota {
            scope: Scope::Token,
            limit: 30,
            remaining: 0,
            reset: 12,
        };
        assert_eq!(
            q.headers(),
            [
                (
                    "ratelimit-policy".to_string(),
                    "\"per-token\";q=30;w=60".to_string()
                ),
                (
                    "ratelimit".to_string(),
                    "\"per-token\";r=0;t=12".to_string()
                ),
                ("retry-after".to_string(), "12".to_string()),
            ]
        );
    }
}
