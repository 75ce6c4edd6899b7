//! Rate limits: fixed windows counted with the store's atomic increment.
//!
//! A request is counted against each limit that applies to it: a link
//! endpoint per client address and per token, the partner API per partner.
//! The count is read first, and a request over a limit is refused with a
//! 429 without writing anything; one under it adds one. Of requests that
//! arrive together a few more than the limit may get through, which is what
//! a limit is for.

use sha2::{Digest, Sha256};

use super::App;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, keys, record};

/// The length of a window, in seconds.
pub const WINDOW: u64 = 60;

/// How many requests a window allows, per scope; 0 turns a scope off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Link endpoints (`/invite/:token`, `/connect/:token`, redemption,
    /// decisions by link token), per client address.
    pub link_per_address: u32,
    /// The same, per link token.
    pub link_per_token: u32,
    /// The API, per partner.
    pub partner: u32,
}

impl Default for Limits {
    /// 3,000 link requests a minute per client address, 1,000 per token,
    /// 10,000 API requests a minute per partner: far above what people and
    /// well-behaved systems send, low enough to stop a flood or a guessing
    /// run. Operators tighten them with the `rate_limit_*` variables.
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
    /// A client address, on the link endpoints.
    Address,
    /// A link token.
    Token,
    /// A partner, on the API.
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
    /// Counts one request against each `(scope, subject)` (a subject is an
    /// address, a token or a partner id): the quotas as they stand, or a 429
    /// naming the first limit reached, with its headers. A refused request
    /// writes nothing.
    pub async fn count(&self, subjects: &[(Scope, &str)]) -> Result<Vec<Quota>, Problem> {
        let limits = self.app.config.limits;
        let now = self.app.now();
        let window = now - now % WINDOW;
        let reset = window + WINDOW - now;
        // Each counted scope with its limit and its subject's digest; a scope
        // turned off is not counted.
        let counted: Vec<(Scope, u32, String)> = subjects
            .iter()
            .filter_map(|(scope, subject)| {
                let limit = match scope {
                    Scope::Address => limits.link_per_address,
                    Scope::Token => limits.link_per_token,
                    Scope::Partner => limits.partner,
                };
                (limit > 0).then(|| (*scope, limit, digest(subject)))
            })
            .collect();
        if counted.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = counted
            .iter()
            .map(|(scope, _, subject)| keys::rate(scope.name(), subject, window))
            .collect();
        let records = self.app.records();
        let found = records.read_many(&keys).await?;
        let mut stale = Vec::new();
        for ((scope, limit, subject), value) in counted.iter().zip(&found) {
            // What is not a counter counts as spent.
            let used = record::counter_value(value.as_deref());
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
            // The first request of a window deletes its scope's counter of
            // the window before, so counters do not pile up.
            if used == 0 {
                let before = window.saturating_sub(WINDOW);
                stale.push(keys::rate(scope.name(), subject, before));
            }
        }
        let mut answer = Vec::with_capacity(counted.len());
        for ((scope, limit, _), key) in counted.into_iter().zip(&keys) {
            let used = u64::try_from(records.kv().increment(key, 1).await?).unwrap_or(u64::MAX);
            answer.push(Quota {
                scope,
                limit,
                remaining: u32::try_from(u64::from(limit).saturating_sub(used)).unwrap_or(0),
                reset,
            });
        }
        records.release(&stale).await?;
        Ok(answer)
    }
}

/// A short, fixed-length name for a subject in a key: no token or address
/// is stored as it is.
fn digest(subject: &str) -> String {
    Sha256::digest(subject.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
