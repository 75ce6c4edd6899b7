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
//!   [`is_id`], as in `pi1` tokens.
//!
//! Every refusal is a 401 problem whose detail says what is wrong with the
//! token, never a key or the secret.
//!
//! # The key set cache
//!
//! A key set fetched from `auth_jwks_url` is kept in the key-value store
//! ([`keys::jwks_cache`], a [`JwksCache`]) for [`JWKS_TTL`] seconds, and
//! fetched again sooner when a token names a `kid` the cached set lacks (a
//! key rotation). The URL is requested at most once every [`JWKS_RETRY`]
//! seconds, failed attempts included, so tokens with made-up key ids cannot
//! make the app hammer the provider. An expired set is not used. The cache is
//! written unconditionally (instances racing to refresh it write the same
//! kind of value) and it is the only thing a rejected request may write.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ClaimedOrganization, Principal};
use crate::clock::rfc3339;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Records, keys};
use crate::validation::{MAX_EMAIL, MAX_TEXT, Report, is_id};

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

/// RSA moduli from 2048 to 4096 bits.
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=512;

/// The Spin variables JWT verification reads ([`AuthConfig::from_variables`]).
pub const VARIABLES: [&str; 10] = [
    "auth_issuer",
    "auth_audience",
    "auth_jwks",
    "auth_jwks_url",
    "auth_hs256_secret",
    "auth_role_claim",
    "auth_partner_claim",
    "auth_organization_claim",
    "auth_organization_name_claim",
    "auth_email_claim",
];

/// How JWTs are verified. The default verifies none: only `pi1` tokens are
/// accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// The `iss` every token must carry (`auth_issuer`), exactly as the
    /// provider writes it.
    pub issuer: Option<String>,
    /// The value `aud` must contain (`auth_audience`).
    pub audience: Option<String>,
    /// A key set, as JSON (`auth_jwks`).
    pub jwks: Option<String>,
    /// Where the key set is fetched (`auth_jwks_url`).
    pub jwks_url: Option<String>,
    /// The HS256 secret (`auth_hs256_secret`).
    pub hs256_secret: Option<SharedSecret>,
    /// Which claims say what.
    pub claims: ClaimNames,
}

/// Which claims carry the role, the ids, and what an organization admin's
/// token says of the organization. A name is looked up as a top-level claim
/// first (`https://example.com/role` is one name); failing that, a name with
/// dots is a path into nested objects (`realm_access.roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// `partner`, `customer_admin` or `operator`, as a string or in an array
    /// of strings (`auth_role_claim`, default `role`).
    pub role: String,
    /// The partner's id (`auth_partner_claim`, default `partner_id`).
    pub partner_id: String,
    /// The organization's id (`auth_organization_claim`, default `organization_id`).
    pub organization_id: String,
    /// The organization's name (`auth_organization_name_claim`, default `organization_name`).
    pub organization_name: String,
    /// The admin's email (`auth_email_claim`, default `email`).
    pub email: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            role: "role".into(),
            partner_id: "partner_id".into(),
            organization_id: "organization_id".into(),
            organization_name: "organization_name".into(),
            email: "email".into(),
        }
    }
}

/// The HS256 secret: its bytes, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// A secret of these bytes (the variable's UTF-8 text).
    pub fn new(bytes: impl Into<Vec<u8>>) -> SharedSecret {
        SharedSecret(bytes.into())
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

impl AuthConfig {
    /// The configuration from variables (`get` answers `None` for an unset
    /// or empty one), checked with [`AuthConfig::check`].
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let defaults = ClaimNames::default();
        let config = AuthConfig {
            issuer: get("auth_issuer"),
            audience: get("auth_audience"),
            jwks: get("auth_jwks"),
            jwks_url: get("auth_jwks_url"),
            hs256_secret: get("auth_hs256_secret").map(SharedSecret::new),
            claims: ClaimNames {
                role: get("auth_role_claim").unwrap_or(defaults.role),
                partner_id: get("auth_partner_claim").unwrap_or(defaults.partner_id),
                organization_id: get("auth_organization_claim").unwrap_or(defaults.organization_id),
                organization_name: get("auth_organization_name_claim")
                    .unwrap_or(defaults.organization_name),
                email: get("auth_email_claim").unwrap_or(defaults.email),
            },
        };
        config.check()?;
        Ok(config)
    }

    /// Whether JWTs are verified at all: some key is configured.
    pub fn enabled(&self) -> bool {
        self.jwks.is_some() || self.jwks_url.is_some() || self.hs256_secret.is_some()
    }

    /// Whether the settings fit together; the error names the variable and
    /// never shows a secret.
    pub fn check(&self) -> Result<(), String> {
        if !self.enabled() {
            if self.issuer.is_some() || self.audience.is_some() {
                return Err(
                    "auth_issuer or auth_audience is set, but no key to verify JWTs \
                     with: set auth_jwks, auth_jwks_url or auth_hs256_secret"
                        .into(),
                );
            }
            return Ok(());
        }
        if self.issuer.is_none() {
            return Err("JWT keys are configured without auth_issuer".into());
        }
        if self.audience.is_none() {
            return Err("JWT keys are configured without auth_audience".into());
        }
        if let Some(jwks) = &self.jwks {
            let set = key_set(jwks.as_bytes()).map_err(|e| format!("auth_jwks: {e}"))?;
            if set.iter().all(|k| usable(k).is_none()) {
                return Err(
                    "auth_jwks holds no key this app verifies with (RSA of 2048 \
                     bits or more, EC P-256 or Ed25519 signature keys)"
                        .into(),
                );
            }
        }
        // Not `url::Url::parse`: its IDNA tables would cost most components
        // about 190 KB; the transport refuses a URL it cannot send to.
        if let Some(url) = &self.jwks_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                return Err("auth_jwks_url must be an https:// (or http://) URL".into());
            }
        }
        if self
            .hs256_secret
            .as_ref()
            .is_some_and(|s| s.0.len() < MIN_SECRET)
        {
            return Err(format!(
                "auth_hs256_secret must be at least {MIN_SECRET} bytes"
            ));
        }
        Ok(())
    }
}

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

/// A key this app verifies with, and the one algorithm it verifies.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    alg: Algorithm,
    decoding: DecodingKey,
}

/// The members of a JOSE header that matter here.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
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

/// The `keys` of a key set document.
fn key_set(json: &[u8]) -> Result<Vec<Value>, String> {
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
fn usable(value: &Value) -> Option<Key> {
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

fn usable_keys(values: &[Value]) -> Vec<Key> {
    values.iter().filter_map(usable).collect()
}

/// The key `kid` names in `keys`; without a `kid`, the only key.
fn find(keys: &[Key], kid: Option<&str>) -> Option<Key> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
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
    super::verifiers::install();
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

/// The key for a token that names `kid`: from `auth_jwks`, else from the
/// set at `auth_jwks_url`.
async fn find_key<S: KeyValue, T: Transport>(
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

/// The usable keys of the set at `url`: the cached set while it is fresh and
/// knows `kid`, else a fetched one (at most once per [`JWKS_RETRY`]).
async fn fetched_keys<S: KeyValue, T: Transport>(
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

/// `iss`, `aud`, `exp` and `nbf`.
fn check_claims(config: &AuthConfig, claims: &Map<String, Value>, now: u64) -> Result<(), Problem> {
    let issuer = config.issuer.as_deref().unwrap_or_default();
    match claims.get("iss") {
        None => return Err(refused("it names no issuer (iss)")),
        Some(Value::String(iss)) if iss == issuer => {}
        Some(_) => {
            return Err(refused(
                "its issuer (iss) is not the configured identity provider",
            ));
        }
    }
    let audience = config.audience.as_deref().unwrap_or_default();
    let fits = match claims.get("aud") {
        None => return Err(refused("it names no audience (aud)")),
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
    };
    if !fits {
        return Err(refused("its audience (aud) is not this app"));
    }
    let time = |name: &str| -> Result<Option<u64>, Problem> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| refused(format!("its {name} is not a time in seconds"))),
        }
    };
    let exp = time("exp")?.ok_or_else(|| refused("it has no expiry (exp)"))?;
    if now > exp.saturating_add(LEEWAY) {
        return Err(refused(format!("it expired at {}", rfc3339(exp))));
    }
    if let Some(nbf) = time("nbf")?
        && now.saturating_add(LEEWAY) < nbf
    {
        return Err(refused(format!("it is not valid before {}", rfc3339(nbf))));
    }
    Ok(())
}

/// The claim `name`: a top-level claim of that name, else (for a name with
/// dots) the path through nested objects.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    let mut parts = name.split('.');
    let first = claims.get(parts.next()?)?;
    parts.try_fold(first, |v, part| v.get(part))
}

/// A claim's value as text for a detail: short, and with no control characters.
fn printable(value: &str) -> String {
    let shown: String = value.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("{shown:?}")
}

/// The principal the claims name.
fn principal(names: &ClaimNames, claims: &Map<String, Value>) -> Result<Principal, String> {
    let user = match claims.get("sub") {
        None => None,
        Some(Value::String(sub))
            if !sub.is_empty()
                && sub.chars().count() <= MAX_SUBJECT
                && !sub.chars().any(char::is_control) =>
        {
            Some(sub.clone())
        }
        Some(_) => {
            return Err(format!(
                "its subject (sub) is not a string of 1 to {MAX_SUBJECT} characters"
            ));
        }
    };
    let role = role(names, claims)?;
    let id = |name: &str| -> Result<String, String> {
        claim(claims, name)
            .and_then(Value::as_str)
            .filter(|id| is_id(id))
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "its role needs an id in claim {}: 1 to 64 letters, digits, '_' or '-'",
                    printable(name)
                )
            })
    };
    match role {
        "partner" => Ok(Principal::Partner {
            partner_id: id(&names.partner_id)?,
            user,
        }),
        "customer_admin" => {
            let organization_id = id(&names.organization_id)?;
            let text = |name: &str| -> Result<Option<&str>, String> {
                match claim(claims, name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(format!("its claim {} is not a string", printable(name))),
                }
            };
            let mut report = Report::new();
            let name = report.optional_text(
                &names.organization_name,
                text(&names.organization_name)?,
                MAX_TEXT,
            );
            if !report.is_empty() {
                return Err(format!(
                    "its claim {} is not a name of at most {MAX_TEXT} characters",
                    printable(&names.organization_name)
                ));
            }
            let email = report.optional_email(&names.email, text(&names.email)?);
            if !report.is_empty() {
                return Err(format!(
                    "its claim {} is not an email address of at most {MAX_EMAIL} characters",
                    printable(&names.email)
                ));
            }
            Ok(Principal::CustomerAdmin {
                organization_id,
                user,
                claimed: ClaimedOrganization { name, email },
            })
        }
        _ => Ok(Principal::Operator { user }),
    }
}

/// The one role the role claim names.
fn role<'a>(names: &ClaimNames, claims: &'a Map<String, Value>) -> Result<&'a str, String> {
    const ROLES: [&str; 3] = ["partner", "customer_admin", "operator"];
    let none = || {
        format!(
            "its claim {} names none of the roles partner, customer_admin, operator",
            printable(&names.role)
        )
    };
    let found: Vec<&str> = match claim(claims, &names.role) {
        None => return Err(format!("it has no role claim {}", printable(&names.role))),
        Some(Value::String(role)) => vec![role.as_str()],
        Some(Value::Array(roles)) => roles.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(none()),
    };
    let known: Vec<&str> = found.into_iter().filter(|r| ROLES.contains(r)).collect();
    match known.as_slice() {
        [one] => Ok(one),
        [] => Err(none()),
        _ => Err(format!(
            "its claim {} names more than one role",
            printable(&names.role)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_shown() {
        let config = AuthConfig {
            hs256_secret: Some(SharedSecret::new("a secret of thirty-two bytes or more!")),
            ..AuthConfig::default()
        };
        assert!(!format!("{config:?}").contains("thirty-two"));
    }

    #[test]
    fn variables_give_defaults_and_are_checked() {
        let none = AuthConfig::from_variables(|_| None).expect("no JWTs");
        assert!(!none.enabled());
        assert_eq!(none.claims, ClaimNames::default());
        let issuer_only = AuthConfig::from_variables(|n| {
            (n == "auth_issuer").then(|| "https://idp.example/".to_string())
        });
        assert!(issuer_only.is_err(), "an issuer without keys is a mistake");
        let short = AuthConfig::from_variables(|n| match n {
            "auth_issuer" => Some("i".into()),
            "auth_audience" => Some("a".into()),
            "auth_hs256_secret" => Some("short".into()),
            _ => None,
        });
        let e = short.expect_err("short secret");
        assert!(e.contains("32 bytes") && !e.contains("short\""), "{e}");
        let bad_set = AuthConfig::from_variables(|n| match n {
            "auth_issuer" => Some("i".into()),
            "auth_audience" => Some("a".into()),
            "auth_jwks" => Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into()),
            _ => None,
        });
        assert!(bad_set.expect_err("no usable key").contains("no key"));
    }

    #[test]
    fn claims_are_found_by_name_then_by_path() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "https://example.com/role": "partner",
            "realm_access": {"roles": ["offline_access", "operator"]},
        }))
        .expect("object");
        assert_eq!(
            claim(&claims, "https://example.com/role"),
            Some(&Value::from("partner"))
        );
        let names = ClaimNames {
            role: "realm_access.roles".into(),
            ..ClaimNames::default()
        };
        assert_eq!(role(&names, &claims), Ok("operator"));
    }
}
