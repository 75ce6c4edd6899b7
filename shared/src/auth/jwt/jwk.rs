//! JWKs: which keys of a set are usable (each fixes its algorithm), and the
//! key a token names, from `auth_jwks` or the fetched set. Apart from the
//! verification that uses them.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::AuthConfig;
use super::jwks_cache::fetched_keys;
use super::{alg_name, b64, printable, refused};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, Records};

/// RSA moduli from 2048 to 4096 bits.
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=512;

/// A key this app verifies with, and the one algorithm it verifies.
#[derive(Clone)]
pub(super) struct Key {
    pub(super) kid: Option<String>,
    pub(super) alg: Algorithm,
    pub(super) decoding: DecodingKey,
}

/// The members of a JWK that matter here.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The `keys` of a key set document.
pub(super) fn key_set(json: &[u8]) -> Result<Vec<Value>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    serde_json::from_slice::<Set>(json)
        .map(|s| s.keys)
        .map_err(|e| format!("not a key set ({{\"keys\": [...]}}): {e}"))
}

/// The key a JWK describes, if this app verifies with it: the algorithm
/// follows from `kty` and `crv`, and a JWK `alg` must agree.
pub(super) fn usable(value: &Value) -> Option<Key> {
    let jwk = Jwk::deserialize(value).ok()?;
    if jwk.usage.as_deref().is_some_and(|u| u != "sig")
        || jwk
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return None;
    }
    let (alg, decoding) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let n = b64(jwk.n.as_deref()?)?;
            let e = b64(jwk.e.as_deref()?)?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if !RSA_MODULUS_BYTES.contains(&significant) || e.is_empty() || e.len() > 8 {
                return None;
            }
            (
                Algorithm::RS256,
                DecodingKey::from_rsa_raw_components(&n, &e),
            )
        }
        ("EC", Some("P-256")) => {
            let x = b64(jwk.x.as_deref()?)?;
            let y = b64(jwk.y.as_deref()?)?;
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let point = [&[0x04][..], &x, &y].concat();
            (Algorithm::ES256, DecodingKey::from_ec_der(&point))
        }
        ("OKP", Some("Ed25519")) => {
            let x = b64(jwk.x.as_deref()?)?;
            if x.len() != 32 {
                return None;
            }
            (Algorithm::EdDSA, DecodingKey::from_ed_der(&x))
        }
        _ => return None,
    };
    if jwk.alg.as_deref().is_some_and(|a| a != alg_name(alg)) {
        return None;
    }
    Some(Key {
        kid: jwk.kid,
        alg,
        decoding,
    })
}

pub(super) fn usable_keys(values: &[Value]) -> Vec<Key> {
    values.iter().filter_map(usable).collect()
}

/// The key `kid` names in `keys`; without a `kid`, the only key.
pub(super) fn find(keys: &[Key], kid: Option<&str>) -> Option<Key> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

/// The key for a token that names `kid`: from `auth_jwks`, else from the
/// set at `auth_jwks_url`.
pub(super) async fn find_key<S: KeyValue, T: Transport>(
    config: &AuthConfig,
    records: Records<'_, S>,
    transport: &T,
    kid: Option<&str>,
    now: u64,
) -> Result<Key, Problem> {
    let mut keys = match &config.jwks {
        Some(json) => key_set(json.as_bytes())
            .map(|set| usable_keys(&set))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if kid.is_some()
        && let Some(key) = find(&keys, kid)
    {
        return Ok(key);
    }
    if let Some(url) = &config.jwks_url {
        keys.extend(fetched_keys(url, records, transport, kid, now).await?);
    }
    find(&keys, kid).ok_or_else(|| match kid {
        Some(kid) => refused(format!(
            "its key id (kid) {} is not in the identity provider's key set",
            printable(kid)
        )),
        None => refused(format!(
            "its header names no key (kid), and the key set has {} keys",
            keys.len()
        )),
    })
}
