//! Bearer JWTs of the vendor's OpenID Connect provider (Auth0, Keycloak,
//! Entra ID, Okta), next to the product's own `pi1` tokens.
//!
//! # What is accepted
//!
//! - **Keys come from configuration, and each key fixes its algorithm.** A
//!   key set (JWKS) given inline (`auth_jwks`) or fetched from
//!   `auth_jwks_url`; a JWK is usable when it is a signature key (`use` absent
//!   or `sig`, `key_ops` absent or with `verify`) of one of three kinds:
//!   `kty: RSA` (at least 2048 bits) verifies **RS256**, `kty: EC` with
//!   `crv: P-256` verifies **ES256**, `kty: OKP` with `crv: Ed25519`
//!   verifies **EdDSA**. A JWK whose own `alg` names another algorithm is not
//!   used, and symmetric (`kty: oct`) keys are never taken from a key set.
//!   The optional shared secret (`auth_hs256_secret`) verifies **HS256**
//!   and nothing else.
//! - **The header's `alg` only has to agree.** The key is found by the
//!   header's `kid` (a token without one is accepted only when the set has a
//!   single key); its algorithm is the key's, and a header `alg` that differs
//!   is refused. `alg: none` is refused; `HS256` is verified with the shared
//!   secret only, so a token MACed with a public key is refused (with no
//!   secret configured, every HS256 token is). Header members that point at
//!   keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored; `crit` is refused.
//! - **Claims.** `iss` must equal `auth_issuer` and `aud` (a string or an
//!   array) must contain `auth_audience`; `exp` is required and `nbf`
//!   honoured, each with [`LEEWAY`] seconds of leeway, against the app's
//!   clock. The role, the partner id, the organization id, and the
//!   organization's name and the admin's email claimed for an organization
//!   admin are read from claims whose names are configuration
//!   ([`ClaimNames`]); `sub` becomes the principal's user. Ids must pass
//!   [`is_id`](crate::validation::is_id), as in `pi1` tokens.
//!
//! Every refusal is a 401 problem whose detail says what is wrong with the
//! token, never a key or the secret.
//!
//! # The key set cache
//!
//! A key set fetched from `auth_jwks_url` is kept in the key-value store
//! ([`keys::jwks_cache`](crate::store::keys::jwks_cache), a [`JwksCache`])
//! for [`JWKS_TTL`] seconds, and fetched again sooner when a token names a
//! `kid` the cached set lacks (a key rotation). The URL is requested at
//! most once every [`JWKS_RETRY`] seconds, failed attempts included, so
//! tokens with made-up key ids cannot make the app hammer the provider. An
//! expired set is not used. The cache is written unconditionally (instances
//! racing to refresh it write the same kind of value) and it is the only
//! thing a rejected request may write.
//!
//! # Where it is
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the limits, and the helpers every part shares |
//! | `config.rs` | the settings: variables, claim names, the HS256 secret |
//! | `verify.rs` | a token taken apart and verified: header, signature, then claims |
//! | `jwk.rs` | JWKs: which keys are usable, and the key a token names |
//! | `jwks_cache.rs` | the key set fetched from `auth_jwks_url`, cached in the store |
//! | `claims.rs` | the claims: `iss`, `aud`, times, and the principal they name |

mod claims;
mod config;
mod jwk;
mod jwks_cache;
mod verify;

pub use config::{AuthConfig, ClaimNames, SharedSecret, VARIABLES};
pub use jwks_cache::JwksCache;
pub use verify::verify;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;

use crate::problem::{Problem, ProblemKind};

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 60;

/// How long a fetched key set is used, in seconds.
pub const JWKS_TTL: u64 = 600;

/// The shortest time between two requests of `auth_jwks_url`, in seconds.
pub const JWKS_RETRY: u64 = 60;

/// The longest token looked at, in bytes.
pub const MAX_TOKEN: usize = 8 * 1024;

/// The largest key set read from `auth_jwks_url`, in bytes.
pub const MAX_JWKS: usize = 64 * 1024;

/// The shortest HS256 secret accepted, in bytes.
pub const MIN_SECRET: usize = 32;

/// The longest subject (`sub`) accepted, in characters.
pub const MAX_SUBJECT: usize = 255;

fn refused(why: impl std::fmt::Display) -> Problem {
    Problem::new(
        ProblemKind::Unauthenticated,
        format!("the bearer JWT is not accepted: {why}"),
    )
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::HS256 => "HS256",
        _ => "another algorithm",
    }
}

fn b64(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).ok()
}

/// A claim's value as text for a detail: short, and with no control characters.
fn printable(value: &str) -> String {
    let shown: String = value.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("{shown:?}")
}
