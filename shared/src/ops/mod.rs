//! The operations: every flow of the product, written against the store and
//! transport traits with an injected clock and randomness.
//!
//! Each operation either succeeds, or fails with a [`Problem`] before its
//! first write, so a rejected request leaves the store as it was.

mod connections;
mod invites;
mod lists;
mod notify;
mod partner;
mod redeem;

pub use connections::{ApprovalPreview, Authority, NewRequest};
pub use invites::CreateInvite;
pub use partner::{ProfileUpdate, ProfileView};
pub use redeem::{LabelledCapability, RedeemPreview, RedeemRequest, Redeemed};

use serde::de::DeserializeOwned;

pub use crate::view::Page;

use crate::clock::Clock;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::random::Entropy;
use crate::store::KeyValue;
use crate::token::KeyRing;

/// Deployment settings, from Spin variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where registration and approval pages are served (`https://invites.example.com`).
    pub public_base_url: String,
    /// The mail relay; without one, emails are recorded in the outbox.
    pub mail_relay_url: Option<String>,
    /// The vendor's name, shown where the vendor is the first contact.
    pub vendor_name: String,
}

/// Everything an operation needs.
pub struct App<S, T> {
    /// The key-value store.
    pub store: S,
    /// Outbound HTTP for email and webhooks.
    pub transport: T,
    /// Signing and verifying keys.
    pub keys: KeyRing,
    /// Time.
    pub clock: Box<dyn Clock + Send + Sync>,
    /// Randomness.
    pub random: Box<dyn Entropy + Send + Sync>,
    /// Settings.
    pub config: Config,
}

/// Largest page a list returns.
pub const MAX_PAGE: usize = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// Parses a JSON request body; a shape error is a 400 naming the problem.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            ProblemKind::Malformed,
            format!("request body is not valid JSON for this endpoint: {e}"),
        )
    })
}

/// Page size and starting point of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most.
    pub limit: usize,
    /// Start below this sequence number (from a previous `next_cursor`).
    pub before: Option<u64>,
}

impl PageRequest {
    /// Parses `limit` and `cursor` query values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, Problem> {
        let limit = match limit {
            None => DEFAULT_PAGE,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| {
                    Problem::new(
                        ProblemKind::Malformed,
                        format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                    )
                })?,
        };
        let before = match cursor {
            None | Some("") => None,
            Some(c) => Some(c.parse::<u64>().ok().filter(|c| *c >= 1).ok_or_else(|| {
                Problem::new(
                    ProblemKind::Malformed,
                    "cursor must be a value returned as next_cursor",
                )
            })?),
        };
        Ok(PageRequest { limit, before })
    }

    /// The slot numbers of this page, newest first, given the counter's value.
    pub fn slots(&self, top: u64) -> Vec<u64> {
        let start = self.before.map_or(top, |b| b.saturating_sub(1).min(top));
        (1..=start).rev().take(self.limit).collect()
    }
}

/// The sequence number inside an id of the form `<prefix>_<n>_<random>`.
pub fn sequence_of(id: &str, prefix: &str) -> Option<u64> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('_')?;
    let (n, random) = rest.split_once('_')?;
    let canonical =
        !n.starts_with('0') && random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit());
    canonical.then(|| n.parse().ok()).flatten()
}

impl<S: KeyValue, T: Transport> App<S, T> {
    /// Seconds since the epoch.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// A new id `<prefix>_<n>_<16 hex>` for sequence number `n`.
    fn sequenced_id(&self, prefix: &str, n: u64) -> String {
        format!("{prefix}_{n}_{}", self.random.hex(8))
    }

    /// A new random id `<prefix>_<24 hex>`.
    fn random_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.random.hex(12))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_down_from_the_top() {
        let p = PageRequest::parse(Some("3"), None).expect("valid");
        assert_eq!(p.slots(10), [10, 9, 8]);
        let next = PageRequest::parse(Some("3"), Some("8")).expect("valid");
        assert_eq!(next.slots(10), [7, 6, 5]);
        assert_eq!(
            PageRequest::parse(Some("3"), Some("2"))
                .expect("valid")
                .slots(10),
            [1]
        );
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("101"), None).is_err());
        assert!(PageRequest::parse(None, Some("x")).is_err());
    }

    #[test]
    fn sequence_numbers_come_from_canonical_ids_only() {
        assert_eq!(sequence_of("inv_42_0123456789abcdef", "inv"), Some(42));
        assert_eq!(sequence_of("inv_042_0123456789abcdef", "inv"), None);
        assert_eq!(sequence_of("con_42_0123456789abcdef", "inv"), None);
        assert_eq!(sequence_of("inv_42_short", "inv"), None);
        assert_eq!(sequence_of("inv_42", "inv"), None);
    }
}
