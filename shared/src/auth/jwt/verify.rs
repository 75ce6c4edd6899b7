//! A token taken apart and verified: its shape, its header, the key and
//! its signature, then its claims. Apart as the one entry point, so the
//! order of the checks reads in one place.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::AuthConfig;
use super::claims::{check_claims, principal};
use super::jwk::{Key, find_key};
use super::{MAX_TOKEN, alg_name, b64, printable, refused};
use crate::auth::Principal;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, Records};

/// The members of a JOSE header that matter here.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

/// Verifies `token` as a JWT of the configured provider.
pub async fn verify<S: KeyValue, T: Transport>(
    config: &AuthConfig,
    records: Records<'_, S>,
    transport: &T,
    token: &str,
    now: u64,
) -> Result<Principal, Problem> {
    if token.len() > MAX_TOKEN {
        return Err(refused(format!("it is longer than {MAX_TOKEN} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 5 {
        return Err(refused("encrypted tokens (JWE) are not accepted"));
    }
    let shaped = parts.len() == 3
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !shaped {
        return Err(refused(
            "it is neither a pi1 token nor a JWT (header.payload.signature, base64url)",
        ));
    }
    let header: Header = b64(parts[0])
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| refused("its header is not base64url JSON"))?;
    let alg = header
        .alg
        .as_deref()
        .ok_or_else(|| refused("its header names no algorithm (alg)"))?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(refused("unsigned tokens (alg none) are not accepted"));
    }
    if header.crit.is_some() {
        return Err(refused(
            "its header lists critical extensions (crit), which are not supported",
        ));
    }
    if parts[2].is_empty() {
        return Err(refused("it has no signature"));
    }
    let key = if alg == "HS256" {
        let secret = config.hs256_secret.as_ref().ok_or_else(|| {
            refused("HS256 tokens are not accepted: no shared secret is configured")
        })?;
        Key {
            kid: None,
            alg: Algorithm::HS256,
            decoding: DecodingKey::from_secret(&secret.0),
        }
    } else {
        find_key(config, records, transport, header.kid.as_deref(), now).await?
    };
    if alg != alg_name(key.alg) {
        return Err(refused(format!(
            "its header's alg {} does not fit its key, which is for {}",
            printable(alg),
            alg_name(key.alg)
        )));
    }
    // The signature with the key's algorithm, through jsonwebtoken's
    // verification entry point (its `decode` would parse the header again,
    // with every JOSE member, and check claims against the system clock).
    crate::auth::verifiers::install();
    let signed = &token[..parts[0].len() + 1 + parts[1].len()];
    if !jsonwebtoken::crypto::verify(parts[2], signed.as_bytes(), &key.decoding, key.alg)
        .unwrap_or(false)
    {
        return Err(refused("its signature does not verify"));
    }
    let claims: Map<String, Value> = b64(parts[1])
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(|| refused("its payload is not a JSON object of claims"))?;
    check_claims(config, &claims, now)?;
    principal(&config.claims, &claims).map_err(refused)
}
