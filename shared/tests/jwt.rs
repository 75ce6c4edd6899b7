//! Bearer JWTs of the identity provider, through `App::authenticate`: keys
//! of each kind generated per run (RSA 2048, EC P-256, Ed25519), tokens
//! signed with them directly, and every way a token can be wrong; the key
//! set given inline or fetched through the transport and cached; and the
//! product's own `pi1` tokens beside them.

mod support;

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use partner_invites::auth::jwt::{JWKS_RETRY, JWKS_TTL, JwksCache, LEEWAY};
use partner_invites::auth::{AuthConfig, ClaimNames, ClaimedOrganization, Principal, SharedSecret};
use partner_invites::problem::{Problem, ProblemKind};
use partner_invites::store::keys;
use partner_invites::token::{Claims, KeyRing, Purpose, Role};
use rand_core::OsRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use support::*;

const ISSUER: &str = "https://idp.example/realms/vendor/";
const AUDIENCE: &str = "partner-invites";
const URL: &str = "https://idp.example/realms/vendor/protocol/openid-connect/certs";
const SECRET: &str = "an HS256 secret of at least thirty-two bytes";
/// A symmetric key in the provider's set, which the app never uses.
const OCT: &[u8] = b"a symmetric key of the set, never to be used";

/// The test keys, generated once per run.
struct Keys {
    rsa: rsa::RsaPrivateKey,
    /// Another RSA key: an attacker's, or one the provider rotated to.
    rsa_other: rsa::RsaPrivateKey,
    ec: p256::ecdsa::SigningKey,
    ed: ed25519_dalek::SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa key"),
        rsa_other: rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa key"),
        ec: p256::ecdsa::SigningKey::random(&mut OsRng),
        ed: ed25519_dalek::SigningKey::generate(&mut OsRng),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_jwk(key: &rsa::RsaPrivateKey, kid: &str) -> Value {
    let public = key.to_public_key();
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
           "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())})
}

fn ec_jwk(kid: &str) -> Value {
    let point = keys().ec.verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid,
           "x": b64(point.x().expect("x")), "y": b64(point.y().expect("y"))})
}

fn ed_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
           "x": b64(&keys().ed.verifying_key().to_bytes())})
}

/// The provider's key set: one key of each kind, and an encryption key and
/// a symmetric key the app must not use.
fn jwks() -> Value {
    json!({"keys": [
        rsa_jwk(&keys().rsa, "rsa1"),
        ec_jwk("ec1"),
        ed_jwk("ed1"),
        {"kty": "RSA", "kid": "enc1", "use": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "oct", "kid": "oct1", "k": b64(OCT)},
    ]})
}

fn inline() -> AuthConfig {
    AuthConfig {
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        jwks: Some(jwks().to_string()),
        ..AuthConfig::default()
    }
}

fn from_url() -> AuthConfig {
    AuthConfig {
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        jwks_url: Some(URL.into()),
        ..AuthConfig::default()
    }
}

#[derive(Clone, Copy)]
enum By {
    Rsa,
    RsaOther,
    Ec,
    Ed,
    Hmac(&'static [u8]),
    Unsigned,
}

fn sign(by: By, message: &[u8]) -> Vec<u8> {
    let k = keys();
    match by {
        By::Rsa => rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(k.rsa.clone())
            .sign(message)
            .to_vec(),
        By::RsaOther => rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(k.rsa_other.clone())
            .sign(message)
            .to_vec(),
        By::Ec => {
            let signature: p256::ecdsa::Signature = k.ec.sign(message);
            signature.to_bytes().to_vec()
        }
        By::Ed => k.ed.sign(message).to_bytes().to_vec(),
        By::Hmac(secret) => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        By::Unsigned => Vec::new(),
    }
}

/// A compact JWS of `header` and `claims`, signed `by`.
fn jwt(header: Value, claims: &Value, by: By) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(by, message.as_bytes());
    format!("{message}.{}", b64(&signature))
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "kid": kid, "typ": "JWT"})
}

/// A partner's claims, valid now.
fn partner_claims() -> Value {
    json!({
        "iss": ISSUER, "aud": [AUDIENCE, "account"], "sub": "auth0|ada",
        "iat": START, "exp": START + 300,
        "role": "partner", "partner_id": "acme-partners",
    })
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("object") {
        if v.is_null() {
            claims.as_object_mut().expect("object").remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn acme() -> Principal {
    Principal::Partner {
        partner_id: "acme-partners".into(),
        user: Some("auth0|ada".into()),
    }
}

fn authenticate(w: &World, auth: &AuthConfig, token: &str) -> Result<Principal, Problem> {
    let mut app = w.app();
    app.config.auth = auth.clone();
    block_on(app.authenticate(Some(&format!("Bearer {token}"))))
}

/// Asserts a 401 problem whose detail contains `why`, and returns the detail.
#[track_caller]
fn refused(result: Result<Principal, Problem>, why: &str) -> String {
    let problem = result.expect_err("refused");
    assert_eq!(problem.kind, ProblemKind::Unauthenticated, "{problem:?}");
    assert_eq!(problem.kind.status(), 401);
    assert!(
        problem.detail.contains(why),
        "expected {why:?} in {:?}",
        problem.detail
    );
    assert!(
        !problem.detail.contains(SECRET),
        "the detail shows the secret"
    );
    problem.detail
}

#[test]
fn a_token_of_each_key_is_accepted_with_the_mapped_role_and_ids() {
    let w = World::new();
    let auth = inline();
    let rs = jwt(header("RS256", "rsa1"), &partner_claims(), By::Rsa);
    assert_eq!(authenticate(&w, &auth, &rs).expect("RS256"), acme());

    let admin = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "okta|grace", "exp": START + 300, "nbf": START - 5,
        "role": "customer_admin", "organization_id": "org_globex",
        "organization_name": "Globex GmbH", "email": "grace@globex.example",
    });
    let es = jwt(header("ES256", "ec1"), &admin, By::Ec);
    assert_eq!(
        authenticate(&w, &auth, &es).expect("ES256"),
        Principal::CustomerAdmin {
            organization_id: "org_globex".into(),
            user: Some("okta|grace".into()),
            claimed: ClaimedOrganization {
                name: Some("Globex GmbH".into()),
                email: Some("grace@globex.example".into()),
            },
        }
    );
    let bare = with(
        admin.clone(),
        json!({"organization_name": null, "email": null}),
    );
    let Principal::CustomerAdmin { claimed, .. } =
        authenticate(&w, &auth, &jwt(header("ES256", "ec1"), &bare, By::Ec)).expect("no claims")
    else {
        panic!("an admin")
    };
    assert_eq!(claimed, ClaimedOrganization::default(), "optional claims");

    let operator = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "entra|ops", "exp": START + 60, "role": "operator"});
    let ed = jwt(header("EdDSA", "ed1"), &operator, By::Ed);
    assert_eq!(
        authenticate(&w, &auth, &ed).expect("EdDSA"),
        Principal::Operator {
            user: Some("entra|ops".into())
        }
    );
    assert!(
        w.store.snapshot().is_empty(),
        "an inline key set writes nothing"
    );
}

#[test]
fn claim_names_are_configuration() {
    let w = World::new();
    let auth = AuthConfig {
        claims: ClaimNames {
            role: "realm_access.roles".into(),
            partner_id: "https://vendor.example/partner".into(),
            organization_id: "tenant.id".into(),
            organization_name: "tenant.name".into(),
            email: "preferred_username".into(),
        },
        ..inline()
    };
    // Keycloak-style roles in a nested array, an Auth0-style namespaced claim.
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "kc-1", "exp": START + 300,
        "realm_access": {"roles": ["offline_access", "partner"]},
        "https://vendor.example/partner": "acme-partners",
    });
    let token = jwt(header("RS256", "rsa1"), &claims, By::Rsa);
    assert_eq!(
        authenticate(&w, &auth, &token).expect("partner"),
        Principal::Partner {
            partner_id: "acme-partners".into(),
            user: Some("kc-1".into())
        }
    );
    let admin = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "kc-2", "exp": START + 300,
        "realm_access": {"roles": ["customer_admin"]},
        "tenant": {"id": "org_1", "name": "Initech"}, "preferred_username": "peter@initech.example",
    });
    let token = jwt(header("EdDSA", "ed1"), &admin, By::Ed);
    assert_eq!(
        authenticate(&w, &auth, &token).expect("admin"),
        Principal::CustomerAdmin {
            organization_id: "org_1".into(),
            user: Some("kc-2".into()),
            claimed: ClaimedOrganization {
                name: Some("Initech".into()),
                email: Some("peter@initech.example".into())
            },
        }
    );
    // With the default names, the same token has no role.
    refused(authenticate(&w, &inline(), &token), "no role claim");
}

#[test]
fn every_wrong_token_is_a_401_problem_and_writes_nothing() {
    let w = World::new();
    let k = keys();
    let auth = AuthConfig {
        hs256_secret: Some(SharedSecret::new(SECRET)),
        ..inline()
    };
    let ok = partner_claims();
    let rs = |claims: &Value| jwt(header("RS256", "rsa1"), claims, By::Rsa);
    let pem = k
        .rsa
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let pkcs1_pem = k
        .rsa
        .to_public_key()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let der = k.rsa.to_public_key().to_pkcs1_der().expect("der");
    let leak = |bytes: &[u8]| -> &'static [u8] { Box::leak(bytes.to_vec().into_boxed_slice()) };
    let valid = rs(&ok);
    let (message, signature) = valid.rsplit_once('.').expect("three parts");
    let none_header = b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes());
    let payload = b64(ok.to_string().as_bytes());

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            rs(&with(ok.clone(), json!({"exp": START - LEEWAY - 1}))),
            "expired at",
        ),
        (
            "no expiry",
            rs(&with(ok.clone(), json!({"exp": null}))),
            "no expiry",
        ),
        (
            "not yet valid",
            rs(&with(ok.clone(), json!({"nbf": START + LEEWAY + 1}))),
            "not valid before",
        ),
        (
            "wrong issuer",
            rs(&with(ok.clone(), json!({"iss": "https://evil.example/"}))),
            "issuer",
        ),
        (
            "no issuer",
            rs(&with(ok.clone(), json!({"iss": null}))),
            "no issuer",
        ),
        (
            "wrong audience",
            rs(&with(ok.clone(), json!({"aud": "another-app"}))),
            "audience",
        ),
        (
            "audience list without us",
            rs(&with(ok.clone(), json!({"aud": ["a", "b"]}))),
            "audience",
        ),
        (
            "no audience",
            rs(&with(ok.clone(), json!({"aud": null}))),
            "no audience",
        ),
        (
            "unknown kid",
            jwt(header("RS256", "rsa9"), &ok, By::Rsa),
            "\"rsa9\" is not in",
        ),
        (
            "a key the set holds for encryption",
            jwt(header("RS256", "enc1"), &ok, By::Rsa),
            "is not in",
        ),
        (
            "a symmetric key of the set",
            jwt(header("HS256", "oct1"), &ok, By::Hmac(OCT)),
            "does not verify",
        ),
        (
            "no kid among several keys",
            jwt(json!({"alg": "RS256"}), &ok, By::Rsa),
            "names no key",
        ),
        ("alg none", format!("{none_header}.{payload}."), "alg none"),
        (
            "alg none, signed anyway",
            format!("{none_header}.{payload}.{signature}"),
            "alg none",
        ),
        (
            "alg None",
            jwt(json!({"alg": "None", "kid": "rsa1"}), &ok, By::Unsigned),
            "alg none",
        ),
        (
            "HS256 with the public key (SPKI PEM) as secret",
            jwt(header("HS256", "rsa1"), &ok, By::Hmac(leak(pem.as_bytes()))),
            "does not verify",
        ),
        (
            "HS256 with the public key (PKCS#1 PEM) as secret",
            jwt(
                header("HS256", "rsa1"),
                &ok,
                By::Hmac(leak(pkcs1_pem.as_bytes())),
            ),
            "does not verify",
        ),
        (
            "HS256 with the public key (DER) as secret",
            jwt(header("HS256", "rsa1"), &ok, By::Hmac(leak(der.as_bytes()))),
            "does not verify",
        ),
        (
            "another key reusing the kid",
            jwt(header("RS256", "rsa1"), &ok, By::RsaOther),
            "does not verify",
        ),
        (
            "an EC signature under the RSA kid",
            jwt(header("RS256", "rsa1"), &ok, By::Ec),
            "does not verify",
        ),
        (
            "truncated signature",
            format!("{message}.{}", &signature[..signature.len() - 4]),
            "does not verify",
        ),
        ("no signature", format!("{message}."), "no signature"),
        (
            "changed payload",
            format!(
                "{}.{}.{signature}",
                message.split('.').next().expect("header"),
                b64(with(ok.clone(), json!({"partner_id": "other"}))
                    .to_string()
                    .as_bytes())
            ),
            "does not verify",
        ),
        (
            "header alg RS256 on the EC key",
            jwt(header("RS256", "ec1"), &ok, By::Ec),
            "alg \"RS256\" does not fit",
        ),
        (
            "header alg ES256 on the RSA key",
            jwt(header("ES256", "rsa1"), &ok, By::Rsa),
            "alg \"ES256\" does not fit",
        ),
        (
            "header alg PS256 on the RSA key",
            jwt(header("PS256", "rsa1"), &ok, By::Rsa),
            "does not fit",
        ),
        (
            "header alg EdDSA on the EC key",
            jwt(header("EdDSA", "ec1"), &ok, By::Ec),
            "does not fit",
        ),
        (
            "header alg HS512",
            jwt(header("HS512", "rsa1"), &ok, By::Rsa),
            "does not fit",
        ),
        (
            "critical extension",
            jwt(
                json!({"alg": "RS256", "kid": "rsa1", "crit": ["b64"], "b64": false}),
                &ok,
                By::Rsa,
            ),
            "crit",
        ),
        (
            "no alg",
            jwt(json!({"kid": "rsa1"}), &ok, By::Rsa),
            "no algorithm",
        ),
        (
            "not base64url",
            "eyJ!.eyJ.sig".to_string(),
            "neither a pi1 token nor a JWT",
        ),
        (
            "two parts",
            "eyJhbGciOiJSUzI1NiJ9.eyJ".to_string(),
            "neither a pi1 token nor a JWT",
        ),
        ("encrypted (JWE)", "a.b.c.d.e".to_string(), "JWE"),
        (
            "header not JSON",
            format!("{}.{payload}.{signature}", b64(b"alg")),
            "header is not",
        ),
        (
            "too long",
            format!("{message}.{}", "A".repeat(9000)),
            "longer than",
        ),
        (
            "no role",
            rs(&with(ok.clone(), json!({"role": null}))),
            "no role claim",
        ),
        (
            "unknown role",
            rs(&with(ok.clone(), json!({"role": "admin"}))),
            "names none of the roles",
        ),
        (
            "two roles",
            rs(&with(ok.clone(), json!({"role": ["partner", "operator"]}))),
            "more than one role",
        ),
        (
            "no partner id",
            rs(&with(ok.clone(), json!({"partner_id": null}))),
            "needs an id",
        ),
        (
            "partner id with a slash",
            rs(&with(ok.clone(), json!({"partner_id": "a/b"}))),
            "needs an id",
        ),
        (
            "partner id a number",
            rs(&with(ok.clone(), json!({"partner_id": 7}))),
            "needs an id",
        ),
        (
            "admin without organization",
            rs(&with(ok.clone(), json!({"role": "customer_admin"}))),
            "needs an id",
        ),
        (
            "admin with a bad email",
            rs(&with(
                ok.clone(),
                json!({"role": "customer_admin", "organization_id": "org_1", "email": "not an email"}),
            )),
            "not an email",
        ),
        (
            "subject not a string",
            rs(&with(ok.clone(), json!({"sub": 42}))),
            "subject",
        ),
        (
            "exp not a number",
            rs(&with(ok.clone(), json!({"exp": "tomorrow"}))),
            "not a time",
        ),
        (
            "claims not an object",
            jwt(header("RS256", "rsa1"), &json!([1, 2]), By::Rsa),
            "payload",
        ),
    ];
    for (what, token, why) in &cases {
        let detail = refused(authenticate(&w, &auth, token), why);
        assert!(
            detail.starts_with("the bearer JWT is not accepted: "),
            "{what}: {detail}"
        );
    }
    assert!(
        w.store.snapshot().is_empty(),
        "rejected tokens wrote to the store"
    );

    // Within the leeway, both ways; the valid token itself.
    let late = rs(&with(ok.clone(), json!({"exp": START - LEEWAY})));
    let early = rs(&with(ok.clone(), json!({"nbf": START + LEEWAY})));
    for token in [&valid, &late, &early] {
        assert_eq!(authenticate(&w, &auth, token).expect("accepted"), acme());
    }
    w.clock.advance(LEEWAY + 1);
    refused(authenticate(&w, &auth, &late), "expired at");
}

#[test]
fn hs256_needs_the_configured_secret() {
    let w = World::new();
    let token = jwt(
        json!({"alg": "HS256", "typ": "JWT"}),
        &partner_claims(),
        By::Hmac(SECRET.as_bytes()),
    );
    let detail = refused(authenticate(&w, &inline(), &token), "no shared secret");
    assert!(!detail.contains("rsa1"));
    // Without a secret, a token MACed with the RSA public key is refused
    // before any key is looked at.
    let der = keys().rsa.to_public_key().to_pkcs1_der().expect("der");
    let confused = jwt(header("HS256", "rsa1"), &partner_claims(), By::Hmac(&[]));
    refused(authenticate(&w, &inline(), &confused), "no shared secret");
    let mut message = confused.rsplit_once('.').expect("parts").0.to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(der.as_bytes()).expect("key");
    mac.update(message.as_bytes());
    message = format!("{message}.{}", b64(&mac.finalize().into_bytes()));
    refused(authenticate(&w, &inline(), &message), "no shared secret");
    let with_secret = AuthConfig {
        hs256_secret: Some(SharedSecret::new(SECRET)),
        ..inline()
    };
    assert_eq!(
        authenticate(&w, &with_secret, &token).expect("HS256"),
        acme()
    );
    // A secret alone is a complete configuration, and its own kid is ignored.
    let secret_only = AuthConfig {
        jwks: None,
        ..with_secret.clone()
    };
    let kid = jwt(
        header("HS256", "any"),
        &partner_claims(),
        By::Hmac(SECRET.as_bytes()),
    );
    assert_eq!(authenticate(&w, &secret_only, &kid).expect("HS256"), acme());
    let other = jwt(
        json!({"alg": "HS256"}),
        &partner_claims(),
        By::Hmac(b"another secret of at least thirty-two bytes"),
    );
    refused(authenticate(&w, &with_secret, &other), "does not verify");
    // With only a secret, RS256 tokens have no key.
    let rs = jwt(header("RS256", "rsa1"), &partner_claims(), By::Rsa);
    refused(authenticate(&w, &secret_only, &rs), "is not in");
}

fn cache(w: &World) -> Option<JwksCache> {
    let bytes = w.store.snapshot().get(&keys::jwks_cache())?.clone();
    Some(serde_json::from_slice(&bytes).expect("a cache record"))
}

fn serve(w: &World, set: &Value) {
    w.transport
        .answer_get(URL, Ok((200, set.to_string().into_bytes())));
}

#[test]
fn a_key_set_from_the_url_is_fetched_once_and_cached_for_a_while() {
    let w = World::new();
    let auth = from_url();
    serve(&w, &jwks());
    let rs = jwt(header("RS256", "rsa1"), &partner_claims(), By::Rsa);
    assert_eq!(authenticate(&w, &auth, &rs).expect("fetched"), acme());
    assert_eq!(w.transport.fetched(), [URL]);
    let cached = cache(&w).expect("cached");
    assert_eq!(
        (cached.url.as_str(), cached.fetched_at, cached.attempted_at),
        (URL, START, START)
    );

    // The next requests use the cache, whatever key they name.
    let ed = jwt(header("EdDSA", "ed1"), &partner_claims(), By::Ed);
    assert_eq!(authenticate(&w, &auth, &ed).expect("cached"), acme());
    w.clock.advance(JWKS_TTL - 1);
    let later = with(partner_claims(), json!({"exp": START + JWKS_TTL + 300}));
    let rs_later = jwt(header("RS256", "rsa1"), &later, By::Rsa);
    assert_eq!(authenticate(&w, &auth, &rs_later).expect("cached"), acme());
    assert_eq!(w.transport.fetched().len(), 1, "one fetch");

    // Expired, the set is fetched again.
    w.clock.advance(1);
    assert_eq!(
        authenticate(&w, &auth, &rs_later).expect("refetched"),
        acme()
    );
    assert_eq!(w.transport.fetched().len(), 2);
    assert_eq!(cache(&w).expect("cached").fetched_at, START + JWKS_TTL);
}

#[test]
fn an_unknown_kid_fetches_the_set_again_at_most_once_a_minute() {
    let w = World::new();
    let auth = from_url();
    let k = keys();
    serve(&w, &json!({"keys": [rsa_jwk(&k.rsa, "rsa1")]}));
    let claims = with(partner_claims(), json!({"exp": START + 3600}));
    let old = jwt(header("RS256", "rsa1"), &claims, By::Rsa);
    assert_eq!(authenticate(&w, &auth, &old).expect("first fetch"), acme());

    // The provider rotates to a new key.
    serve(
        &w,
        &json!({"keys": [rsa_jwk(&k.rsa, "rsa1"), rsa_jwk(&k.rsa_other, "rsa2")]}),
    );
    let new = jwt(header("RS256", "rsa2"), &claims, By::RsaOther);
    // Less than a minute after the last fetch, the cache is all there is.
    w.clock.advance(JWKS_RETRY - 1);
    refused(authenticate(&w, &auth, &new), "\"rsa2\" is not in");
    assert_eq!(w.transport.fetched().len(), 1, "no fetch within the minute");
    // A minute on, the unknown kid fetches the set once, and is found.
    w.clock.advance(1);
    assert_eq!(authenticate(&w, &auth, &new).expect("refetched"), acme());
    assert_eq!(w.transport.fetched().len(), 2);

    // Made-up kids cannot make the app hammer the provider.
    let made_up = |n: u32| jwt(header("RS256", &format!("x{n}")), &claims, By::Rsa);
    for n in 0..5 {
        refused(authenticate(&w, &auth, &made_up(n)), "is not in");
    }
    assert_eq!(w.transport.fetched().len(), 2, "none within the minute");
    w.clock.advance(JWKS_RETRY);
    for n in 5..10 {
        refused(authenticate(&w, &auth, &made_up(n)), "is not in");
    }
    assert_eq!(w.transport.fetched().len(), 3, "one a minute later");
    // Known keys still verify from the refreshed cache.
    assert_eq!(authenticate(&w, &auth, &old).expect("cached"), acme());
    assert_eq!(authenticate(&w, &auth, &new).expect("cached"), acme());
    assert_eq!(w.transport.fetched().len(), 3);
}

#[test]
fn a_failed_fetch_is_a_401_retried_a_minute_later_and_only_the_cache_is_written() {
    let w = World::new();
    let auth = from_url();
    let rs = jwt(
        header("RS256", "rsa1"),
        &with(partner_claims(), json!({"exp": START + 3600})),
        By::Rsa,
    );
    w.transport
        .answer_get(URL, Err("connection refused by 10.0.0.7".into()));
    let detail = refused(authenticate(&w, &auth, &rs), "cannot be had right now");
    assert!(
        !detail.contains("10.0.0.7"),
        "the failure is logged, not shown"
    );
    let failed = cache(&w).expect("the attempt is recorded");
    assert_eq!((failed.fetched_at, failed.attempted_at), (0, START));
    assert_eq!(
        w.store.snapshot().keys().collect::<Vec<_>>(),
        [&keys::jwks_cache()],
        "nothing but the cache"
    );

    serve(&w, &jwks());
    refused(authenticate(&w, &auth, &rs), "cannot be had right now");
    assert_eq!(w.transport.fetched().len(), 1, "not again within a minute");
    w.clock.advance(JWKS_RETRY);
    assert_eq!(authenticate(&w, &auth, &rs).expect("fetched"), acme());
    assert_eq!(w.transport.fetched().len(), 2);

    // Answers that are not a key set count as failures; the cached set
    // stays in use while it is fresh.
    w.clock.advance(JWKS_RETRY);
    w.transport.answer_get(URL, Ok((200, b"<html>".to_vec())));
    let unknown = jwt(header("RS256", "gone"), &partner_claims(), By::Rsa);
    refused(authenticate(&w, &auth, &unknown), "is not in");
    assert_eq!(w.transport.fetched().len(), 3);
    assert_eq!(authenticate(&w, &auth, &rs).expect("cache"), acme());
    w.transport.answer_get(URL, Ok((503, Vec::new())));
    w.clock.advance(JWKS_TTL);
    refused(authenticate(&w, &auth, &rs), "cannot be had right now");
    assert_eq!(
        w.store.snapshot().len(),
        1,
        "only the cache, ever: {:?}",
        w.store.snapshot().keys().collect::<Vec<_>>()
    );
}

#[test]
fn an_inline_set_and_a_url_combine() {
    let w = World::new();
    let k = keys();
    let auth = AuthConfig {
        jwks: Some(json!({"keys": [ed_jwk("ed1")]}).to_string()),
        ..from_url()
    };
    serve(&w, &json!({"keys": [rsa_jwk(&k.rsa, "rsa1")]}));
    let ed = jwt(header("EdDSA", "ed1"), &partner_claims(), By::Ed);
    assert_eq!(authenticate(&w, &auth, &ed).expect("inline"), acme());
    assert!(
        w.transport.fetched().is_empty(),
        "inline keys need no fetch"
    );
    let rs = jwt(header("RS256", "rsa1"), &partner_claims(), By::Rsa);
    assert_eq!(authenticate(&w, &auth, &rs).expect("fetched"), acme());
    assert_eq!(w.transport.fetched(), [URL]);
}

fn pi1(role: Role, partner: Option<&str>, org: Option<&str>) -> String {
    KeyRing::parse(RING)
        .expect("ring")
        .sign(&Claims {
            purpose: Purpose::Access,
            record_id: "at_1".into(),
            partner_id: partner.map(str::to_string),
            organization_id: org.map(str::to_string),
            subject: Some("u1".into()),
            role: Some(role),
            issued_at: START,
            expires_at: START + 600,
            generation: 0,
        })
        .expect("sign")
}

#[test]
fn pi1_tokens_keep_working_beside_jwts() {
    let w = World::new();
    let token = pi1(Role::Partner, Some("p1"), None);
    let expected = Principal::Partner {
        partner_id: "p1".into(),
        user: Some("u1".into()),
    };
    for auth in [AuthConfig::default(), inline(), from_url()] {
        assert_eq!(authenticate(&w, &auth, &token).expect("pi1"), expected);
        let admin = pi1(Role::CustomerAdmin, None, Some("org_1"));
        let Principal::CustomerAdmin { claimed, .. } =
            authenticate(&w, &auth, &admin).expect("pi1 admin")
        else {
            panic!("an admin")
        };
        assert_eq!(
            claimed,
            ClaimedOrganization::default(),
            "pi1 claims nothing"
        );
        // A broken pi1 token is refused as one, never tried as a JWT.
        let last = if token.ends_with('A') { 'B' } else { 'A' };
        let broken = format!("{}{last}", &token[..token.len() - 1]);
        refused(
            authenticate(&w, &auth, &broken),
            "the access token is not valid",
        );
    }
    assert!(w.transport.fetched().is_empty(), "pi1 tokens fetch nothing");

    // Without JWT configuration a JWT is refused as today, as a bad pi1 token.
    let rs = jwt(header("RS256", "rsa1"), &partner_claims(), By::Rsa);
    refused(
        authenticate(&w, &AuthConfig::default(), &rs),
        "the access token is not valid",
    );
    // No header, or another scheme, as before.
    let app = w.app();
    let none = block_on(app.authenticate(None)).expect_err("no header");
    assert_eq!(none.kind, ProblemKind::Unauthenticated);
    let basic = block_on(app.authenticate(Some("Basic dXNlcjpwYXNz"))).expect_err("basic");
    assert!(basic.detail.contains("Bearer"), "{}", basic.detail);
    assert!(w.store.snapshot().is_empty());
}
