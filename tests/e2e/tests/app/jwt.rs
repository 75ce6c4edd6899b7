//! Bearer JWTs of the vendor's identity provider, through the real
//! components: the app started with a key set (`auth_jwks`), an issuer and
//! an audience; RS256 and Ed25519 tokens of a partner and a customer admin
//! drive the API next to pi1 tokens, and every wrong token is a 401 problem
//! that leaves the store as it was.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{Harness, Options, invite_body};
use rand_core::OsRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const ISSUER: &str = "https://login.vendor.example/";
const AUDIENCE: &str = "https://invites.example/api";

struct Keys {
    rsa: rsa::RsaPrivateKey,
    other: rsa::RsaPrivateKey,
    ed: ed25519_dalek::SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa"),
        other: rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa"),
        ed: ed25519_dalek::SigningKey::generate(&mut OsRng),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwks() -> Value {
    let public = keys().rsa.to_public_key();
    json!({"keys": [
        {"kty": "RSA", "kid": "rsa-2026", "use": "sig", "alg": "RS256",
         "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-2026", "x": b64(&keys().ed.verifying_key().to_bytes())},
    ]})
}

fn start() -> Harness {
    Harness::start_with(Options {
        extra_variables: vec![
            ("auth_jwks".into(), jwks().to_string()),
            ("auth_issuer".into(), ISSUER.into()),
            ("auth_audience".into(), AUDIENCE.into()),
        ],
        ..Options::default()
    })
}

enum By {
    Rsa,
    Other,
    Ed,
    Hmac(Vec<u8>),
}

fn jwt(alg: &str, kid: &str, claims: &Value, by: By) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sign_rsa = |key: &rsa::RsaPrivateKey| {
        rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key.clone())
            .sign(message.as_bytes())
            .to_vec()
    };
    let signature = match by {
        By::Rsa => sign_rsa(&keys().rsa),
        By::Other => sign_rsa(&keys().other),
        By::Ed => keys().ed.sign(message.as_bytes()).to_bytes().to_vec(),
        By::Hmac(secret) => hmac_sha256(&secret, message.as_bytes()),
    };
    format!("{message}.{}", b64(&signature))
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn partner_claims(partner: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "auth0|ada", "iat": now(), "exp": now() + 600,
           "role": "partner", "partner_id": partner})
}

#[test]
fn partner_and_customer_admin_jwts_drive_the_api() {
    let h = start();
    let rs = jwt("RS256", "rsa-2026", &partner_claims("acme"), By::Rsa);
    let ed = jwt("EdDSA", "ed-2026", &partner_claims("acme"), By::Ed);

    let profile = h.send_json(
        "PUT",
        "/api/partner",
        Some(&rs),
        &json!({"display_name": "Acme Partners", "billing_accounts": ["billing@acme.example"]}),
    );
    assert_eq!(profile.status, 200, "{}", profile.body);
    let created = h.post(
        "/api/invites/generate",
        Some(&rs),
        &invite_body("ada@globex.example"),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let invite = created.json();
    let id = invite["id"].as_str().expect("id");
    assert_eq!(
        invite["history"][0]["by"]["user"], "auth0|ada",
        "the subject is the user: {invite}"
    );

    for token in [&ed, &rs, &h.partner("acme")] {
        let listed = h.get("/api/invites", Some(token));
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.json()["items"][0]["id"], id, "{}", listed.body);
    }

    // The customer registers; its admin, known to the provider, lists its partners.
    let redeemed = h.post(
        "/api/invites/redeem",
        None,
        &json!({"token": invite["token"]}),
    );
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    let org = redeemed.json()["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    let admin = json!({"iss": ISSUER, "aud": [AUDIENCE], "sub": "okta|grace", "exp": now() + 600,
                       "role": "customer_admin", "organization_id": org,
                       "organization_name": "Globex GmbH", "email": "grace@globex.example"});
    for token in [
        jwt("EdDSA", "ed-2026", &admin, By::Ed),
        jwt("RS256", "rsa-2026", &admin, By::Rsa),
    ] {
        let partners = h.get("/api/partners", Some(&token));
        assert_eq!(partners.status, 200, "{}", partners.body);
        assert_eq!(
            partners.json()["items"][0]["name"],
            "Acme Partners",
            "{}",
            partners.body
        );
    }
    // A partner's JWT is not an admin's.
    h.get("/api/partners", Some(&rs)).problem(403);
}

#[test]
fn wrong_jwts_are_401_problems_and_change_nothing() {
    let h = start();
    h.setup_partner("acme", false);
    let ok = partner_claims("acme");
    let with = |changes: Value| {
        let mut claims = ok.clone();
        for (k, v) in changes.as_object().expect("object") {
            claims[k] = v.clone();
        }
        claims
    };
    let valid = jwt("RS256", "rsa-2026", &ok, By::Rsa);
    let (message, signature) = valid.rsplit_once('.').expect("parts");
    let der = keys().rsa.to_public_key().to_pkcs1_der().expect("der");
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
        b64(ok.to_string().as_bytes())
    );
    let cases = [
        (
            "expired",
            jwt(
                "RS256",
                "rsa-2026",
                &with(json!({"exp": now() - 3600})),
                By::Rsa,
            ),
            "expired",
        ),
        (
            "not yet valid",
            jwt(
                "RS256",
                "rsa-2026",
                &with(json!({"nbf": now() + 3600})),
                By::Rsa,
            ),
            "not valid before",
        ),
        (
            "wrong issuer",
            jwt(
                "RS256",
                "rsa-2026",
                &with(json!({"iss": "https://evil.example/"})),
                By::Rsa,
            ),
            "issuer",
        ),
        (
            "wrong audience",
            jwt(
                "EdDSA",
                "ed-2026",
                &with(json!({"aud": "another-api"})),
                By::Ed,
            ),
            "audience",
        ),
        (
            "unknown kid",
            jwt("RS256", "rsa-2025", &ok, By::Rsa),
            "is not in",
        ),
        ("alg none", none, "alg none"),
        (
            "HS256 MACed with the RSA public key",
            jwt("HS256", "rsa-2026", &ok, By::Hmac(der.as_bytes().to_vec())),
            "HS256",
        ),
        (
            "another key reusing the kid",
            jwt("RS256", "rsa-2026", &ok, By::Other),
            "does not verify",
        ),
        (
            "truncated signature",
            format!("{message}.{}", &signature[..signature.len() - 8]),
            "does not verify",
        ),
        (
            "alg that does not fit the key",
            jwt("RS256", "ed-2026", &ok, By::Ed),
            "does not fit",
        ),
        (
            "an id that is not an id",
            jwt(
                "RS256",
                "rsa-2026",
                &with(json!({"partner_id": "../other"})),
                By::Rsa,
            ),
            "needs an id",
        ),
    ];
    let before = h.snapshot();
    for (what, token, why) in &cases {
        let listed = h.get("/api/invites", Some(token));
        let problem = listed.problem(401);
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains(why), "{what}: {detail}");
        let created = h.post(
            "/api/invites/generate",
            Some(token),
            &invite_body("ada@globex.example"),
        );
        created.problem(401);
        h.assert_unchanged(&before, what);
    }
    // The valid token, and pi1, still work.
    assert_eq!(h.get("/api/invites", Some(&valid)).status, 200);
    assert_eq!(h.get("/api/invites", Some(&h.partner("acme"))).status, 200);
}

#[test]
fn an_organization_known_only_from_its_admins_token_links_at_redemption_and_stays_as_it_was() {
    let h = start();
    h.setup_partner("acme", false);
    h.setup_partner("contoso", false);
    let org = "tenant-7f3a";
    let admin = |claims: Value| jwt("EdDSA", "ed-2026", &claims, By::Ed);
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "okta|grace", "exp": now() + 600,
                        "role": "customer_admin", "organization_id": org,
                        "organization_name": "Initech AG", "email": "grace@initech.example"});
    let operator = h.operator();
    h.get(&format!("/api/organizations/{org}"), Some(&operator))
        .problem(404);

    // Without a name in the token, an unknown organization stays unknown.
    let invite = h.invite("acme", "grace@initech.example");
    let link = json!({"token": invite["token"], "organization_id": org});
    let mut nameless = claims.clone();
    nameless
        .as_object_mut()
        .expect("object")
        .remove("organization_name");
    let before = h.snapshot();
    h.post("/api/invites/redeem", Some(&admin(nameless)), &link)
        .problem(404);
    h.assert_unchanged(&before, "a nameless token registers nothing");

    // With it, the organization is registered from the token and linked.
    let redeemed = h.post("/api/invites/redeem", Some(&admin(claims.clone())), &link);
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    assert_eq!(redeemed.json()["organization_id"], org, "{}", redeemed.body);
    let known = h.get(&format!("/api/organizations/{org}"), Some(&operator));
    assert_eq!(known.status, 200, "{}", known.body);
    let known = known.json();
    assert_eq!(known["source"], "token", "{known}");
    assert_eq!(known["name"], "Initech AG", "{known}");
    let record = h.snapshot()[&format!("o/{org}")].clone();

    // A second partner's link is redeemed by the same admin: the record stays byte for byte.
    let second = h.invite("contoso", "grace@initech.example");
    let redeemed = h.post(
        "/api/invites/redeem",
        Some(&admin(claims)),
        &json!({"token": second["token"], "organization_id": org}),
    );
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    assert_eq!(
        h.snapshot()[&format!("o/{org}")],
        record,
        "the organization's record is unchanged"
    );
    let partners = h.get(
        "/api/partners",
        Some(&jwt(
            "RS256",
            "rsa-2026",
            &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "okta|grace",
            "exp": now() + 600, "role": "customer_admin", "organization_id": org}),
            By::Rsa,
        )),
    );
    assert_eq!(partners.status, 200, "{}", partners.body);
    let partners = partners.json();
    let mut names: Vec<&str> = partners["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Partner acme", "Partner contoso"], "{partners}");
}
