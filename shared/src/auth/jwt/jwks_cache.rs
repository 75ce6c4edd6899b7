//! The key set fetched from `auth_jwks_url`, kept in the store and fetched
//! again at most once per [`JWKS_RETRY`]. Apart as the only part that
//! writes, and the only one that goes out over HTTP.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jwk::{Key, find, key_set, usable_keys};
use super::{JWKS_RETRY, JWKS_TTL, MAX_JWKS, refused};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, Records, keys};

/// The key set fetched from `auth_jwks_url`, as cached in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JwksCache {
    /// The URL it came from; a cache of another URL is not used.
    pub url: String,
    /// When it was fetched (0: never successfully).
    pub fetched_at: u64,
    /// When the URL was last requested, successfully or not.
    pub attempted_at: u64,
    /// The set's `keys`, as fetched.
    pub keys: Vec<Value>,
}

/// The usable keys of the set at `url`: the cached set while it is fresh and
/// knows `kid`, else a fetched one (at most once per [`JWKS_RETRY`]).
pub(super) async fn fetched_keys<S: KeyValue, T: Transport>(
    url: &str,
    records: Records<'_, S>,
    transport: &T,
    kid: Option<&str>,
    now: u64,
) -> Result<Vec<Key>, Problem> {
    let key = keys::jwks_cache();
    let cached = records
        .get::<JwksCache>(&key)
        .await
        .ok()
        .flatten()
        .filter(|c| c.url == url);
    let fresh = cached
        .as_ref()
        .filter(|c| c.fetched_at > 0 && now < c.fetched_at.saturating_add(JWKS_TTL))
        .map(|c| usable_keys(&c.keys));
    if let Some(keys) = &fresh
        && (kid.is_none() || find(keys, kid).is_some())
    {
        return Ok(keys.clone());
    }
    let unavailable =
        || refused("the identity provider's key set cannot be had right now; retry in a minute");
    let may_fetch = cached
        .as_ref()
        .is_none_or(|c| now >= c.attempted_at.saturating_add(JWKS_RETRY));
    if !may_fetch {
        return fresh.ok_or_else(unavailable);
    }
    let fetched = fetch(url, transport).await;
    let got = fetched.is_ok();
    let record = match fetched {
        Ok(keys) => JwksCache {
            url: url.to_string(),
            fetched_at: now,
            attempted_at: now,
            keys,
        },
        Err(why) => {
            eprintln!("auth: the key set at auth_jwks_url could not be fetched: {why}");
            let mut record = cached.unwrap_or(JwksCache {
                url: url.to_string(),
                fetched_at: 0,
                attempted_at: 0,
                keys: Vec::new(),
            });
            record.attempted_at = now;
            record
        }
    };
    if let Err(e) = records.put(&key, &record).await {
        eprintln!("auth: the key set could not be cached: {e}");
    }
    if got {
        return Ok(usable_keys(&record.keys));
    }
    fresh.ok_or_else(unavailable)
}

/// GETs the key set at `url`.
async fn fetch<T: Transport>(url: &str, transport: &T) -> Result<Vec<Value>, String> {
    let headers = [("accept", "application/json".to_string())];
    let (status, body) = transport.get(url, &headers, MAX_JWKS).await?;
    if status != 200 {
        return Err(format!("the answer's status is {status}"));
    }
    key_set(&body)
}
