//! The published token vectors, `tests/vectors/tokens.json`: a fixed key ring
//! and clock, valid tokens with their payload bytes and decoded claims, and
//! tokens that must fail, each with the check that refuses it.
//!
//! The file is meant for verifiers in other languages. Its MACs are computed
//! here with raw HMAC-SHA256, not with [`KeyRing`], so the invalid cases that
//! a lenient verifier would accept (padding, stray base64 bits, payloads with
//! trailing bytes) carry MACs that really match.
//!
//! Regenerate after a deliberate format change (and say so in the commit):
//! `REGENERATE_VECTORS=1 cargo test -p partner-invites --test token_vectors the_file`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use partner_invites::token::{Claims, KeyRing, Purpose, Role};
use serde_json::{Value, json};
use sha2::Sha256;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tokens.json");
const NOW: u64 = 1_795_305_600;
/// Bytes 0x00..=0x1f and 0x20..=0x3f.
const KEYS: [(&str, &str); 2] = [
    ("k1", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    ("k2", "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"),
];
/// Not in the ring: forgeries under kid k1 use it.
const FOREIGN_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_bytes(kid: &str) -> Vec<u8> {
    let b64 = KEYS
        .iter()
        .find(|(k, _)| *k == kid)
        .map_or(FOREIGN_KEY, |(_, key)| key);
    STANDARD
        .decode(b64)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .expect("key")
}

/// `pi1.<kid>.<payload text>.<mac>` with the MAC over exactly the text given,
/// however odd: the generator for valid and invalid vectors alike.
fn raw_token(key: &[u8], kid: &str, payload_text: &str) -> String {
    let signed = format!("pi1.{kid}.{payload_text}");
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn signed(kid: &str, payload: &[u8]) -> String {
    raw_token(&key_bytes(kid), kid, &URL_SAFE_NO_PAD.encode(payload))
}

fn claims(purpose: Purpose) -> Claims {
    Claims {
        purpose,
        record_id: "inv_42_0123456789abcdef".into(),
        partner_id: Some("partner-1".into()),
        organization_id: (purpose == Purpose::Connect).then(|| "org_abc".into()),
        subject: (purpose == Purpose::Access).then(|| "user-7".into()),
        role: (purpose == Purpose::Access).then_some(Role::Partner),
        issued_at: NOW,
        expires_at: NOW + 3600,
        generation: 3,
    }
}

fn claims_json(c: &Claims) -> Value {
    json!({
        "purpose": c.purpose, "record_id": c.record_id, "partner_id": c.partner_id,
        "organization_id": c.organization_id, "subject": c.subject, "role": c.role,
        "issued_at": c.issued_at, "expires_at": c.expires_at, "generation": c.generation,
    })
}

/// The base64url character that differs from `c` only in its lowest bit: in
/// the last position of an unpadded encoding it decodes to the same bytes.
fn sibling(c: char) -> char {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let i = alphabet
        .iter()
        .position(|a| char::from(*a) == c)
        .expect("base64url");
    char::from(alphabet[i ^ 1])
}

fn valid_cases() -> Vec<(&'static str, String, Claims)> {
    let connect = claims(Purpose::Connect);
    let mut admin = claims(Purpose::Access);
    admin.record_id = "at_9f8e7d".into();
    admin.partner_id = None;
    admin.organization_id = Some("org_abc".into());
    admin.subject = Some("admin-1".into());
    admin.role = Some(Role::CustomerAdmin);
    let mut operator = claims(Purpose::Access);
    operator.record_id = "at_op".into();
    operator.partner_id = None;
    operator.subject = Some("staff-2".into());
    operator.role = Some(Role::Operator);
    operator.expires_at = NOW + 1;
    let mut longest = claims(Purpose::Invite);
    longest.record_id = "r".repeat(64);
    longest.partner_id = Some("p".repeat(64));
    longest.organization_id = Some("o".repeat(64));
    longest.subject = Some("s".repeat(64));
    longest.generation = u32::MAX;
    longest.expires_at = u64::MAX;
    let mut rows = vec![
        ("an invite link", "k1", claims(Purpose::Invite)),
        ("a connection-approval link", "k1", connect),
        ("a partner's access token", "k1", claims(Purpose::Access)),
        ("a customer admin's access token", "k1", admin),
        ("expires one second after now", "k1", operator),
        ("every id at 64 bytes, largest integers", "k1", longest),
        (
            "signed by the second key: every key verifies (rotation)",
            "k2",
            claims(Purpose::Invite),
        ),
    ];
    rows.drain(..)
        .map(|(why, kid, c)| (why, signed(kid, &c.encode().expect("encode")), c))
        .collect()
}

fn invalid_cases() -> Vec<(&'static str, Purpose, String, &'static str)> {
    use Purpose::{Access, Connect, Invite};
    let invite_claims = claims(Invite);
    let payload = invite_claims.encode().expect("encode");
    let text = URL_SAFE_NO_PAD.encode(&payload);
    let invite = signed("k1", &payload);
    let (head, mac) = invite.rsplit_once('.').expect("mac");
    let k1 = key_bytes("k1");

    let mut next_generation = invite_claims.clone();
    next_generation.generation = 4;
    let changed = URL_SAFE_NO_PAD.encode(next_generation.encode().expect("encode"));
    let mut expired = invite_claims.clone();
    expired.expires_at = NOW;
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = payload.clone();
        f(&mut p);
        signed("k1", &p)
    };
    let last = text.chars().last().expect("char");
    let stray_bits = format!("{}{}", &text[..text.len() - 1], sibling(last));
    let mac_last = mac.chars().last().expect("char");
    let mac_stray = format!("{head}.{}{}", &mac[..mac.len() - 1], sibling(mac_last));

    vec![
        (
            "payload changed (generation 3 -> 4), MAC kept",
            Invite,
            format!("pi1.k1.{changed}.{mac}"),
            "BadSignature",
        ),
        (
            "signed under kid k1 with a key the ring does not hold",
            Invite,
            raw_token(&key_bytes("foreign"), "k1", &text),
            "BadSignature",
        ),
        (
            "an invite token offered as an access token",
            Access,
            invite.clone(),
            "WrongPurpose",
        ),
        (
            "a connect token offered as an invite token",
            Invite,
            signed("k1", &claims(Connect).encode().expect("encode")),
            "WrongPurpose",
        ),
        (
            "expires_at equals now",
            Invite,
            with(&|p| p[14..22].copy_from_slice(&NOW.to_be_bytes())),
            "Expired",
        ),
        (
            "a key id the ring does not hold",
            Invite,
            invite.replacen(".k1.", ".k3.", 1),
            "UnknownKey",
        ),
        (
            "another version",
            Invite,
            invite.replacen("pi1.", "pi0.", 1),
            "UnsupportedVersion",
        ),
        ("no MAC part", Invite, head.to_string(), "Malformed"),
        (
            "a fifth part",
            Invite,
            format!("{invite}.AAAA"),
            "Malformed",
        ),
        ("the empty string", Invite, String::new(), "Malformed"),
        (
            "standard base64 alphabet ('+')",
            Invite,
            invite.replacen(".k1.", ".k1.+", 1),
            "Malformed",
        ),
        (
            "a 33-character kid",
            Invite,
            invite.replacen(".k1.", &format!(".{}.", "k".repeat(33)), 1),
            "Malformed",
        ),
        (
            "2049 bytes",
            Invite,
            format!("pi1.k1.{}", "A".repeat(2042)),
            "TooLong",
        ),
        (
            "MAC truncated by one character",
            Invite,
            invite[..invite.len() - 1].to_string(),
            "BadEncoding",
        ),
        (
            "MAC with '=' padding",
            Invite,
            format!("{invite}="),
            "BadEncoding",
        ),
        (
            "MAC's last character has non-zero trailing bits (same bytes to a lenient decoder)",
            Invite,
            mac_stray,
            "BadEncoding",
        ),
        (
            "payload with '==' padding, MAC over the padded text",
            Invite,
            raw_token(&k1, "k1", &format!("{text}==")),
            "BadEncoding",
        ),
        (
            "payload's last character has non-zero trailing bits, MAC over that text",
            Invite,
            raw_token(&k1, "k1", &stray_bits),
            "BadEncoding",
        ),
        (
            "payload of 4n+1 characters, MAC over that text",
            Invite,
            raw_token(&k1, "k1", &format!("{text}AAA")),
            "BadEncoding",
        ),
        (
            "a byte after the subject",
            Invite,
            with(&|p| p.push(0)),
            "BadPayload",
        ),
        (
            "payload cut inside the ids",
            Invite,
            with(&|p| p.truncate(30)),
            "BadPayload",
        ),
        ("purpose code 4", Invite, with(&|p| p[0] = 4), "BadPayload"),
        (
            "a role on an invite",
            Invite,
            with(&|p| p[1] = 1),
            "BadPayload",
        ),
        (
            "'/' in the record id",
            Invite,
            with(&|p| p[23] = b'/'),
            "BadPayload",
        ),
        (
            "an id of 65 bytes",
            Invite,
            with(&|p| {
                p.truncate(22);
                p.push(65);
                p.extend_from_slice(&[b'a'; 65]);
                p.extend_from_slice(&[0, 0, 0]);
            }),
            "BadPayload",
        ),
        (
            "an empty record id",
            Invite,
            with(&|p| {
                p.truncate(22);
                p.extend_from_slice(&[0, 0, 0, 0]);
            }),
            "BadPayload",
        ),
        (
            "an access token without a role",
            Access,
            {
                let mut c = claims(Access).encode().expect("encode");
                c[1] = 0;
                signed("k1", &c)
            },
            "BadPayload",
        ),
    ]
}

fn generate() -> Value {
    json!({
        "description": "partner-invites tokens, version pi1. A token is pi1.<kid>.<payload>.<mac>: \
            mac = HMAC-SHA256(key of kid, ASCII bytes of 'pi1.<kid>.<payload>'); payload and mac are \
            base64url without padding and with zero trailing bits. The payload is: purpose u8 \
            (1 invite, 2 connect, 3 access), role u8 (0 none, 1 partner, 2 customer_admin, 3 operator; \
            non-zero exactly for access), generation u32 BE, issued_at u64 BE, expires_at u64 BE, then \
            record_id, partner_id, organization_id, subject, each a u8 length and that many bytes of \
            [A-Za-z0-9_-] (at most 64; length 0 means none, not allowed for record_id), nothing after. \
            Verify each token for its purpose at `now`; valid when now < expires_at. Checks, in order, \
            with the reason reported: length <= 2048 (TooLong); 'pi1' before the first '.' \
            (UnsupportedVersion); four parts, kid [A-Za-z0-9_-]{1,32} (Malformed); kid in the ring \
            (UnknownKey); payload and mac only of [A-Za-z0-9_-] or '=' (Malformed); canonical \
            base64url, no '=', 32-byte mac, payload at most 282 bytes (BadEncoding); mac, constant time \
            (BadSignature); payload (BadPayload); purpose (WrongPurpose); expiry (Expired).",
        "key_ring": KEYS.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","),
        "keys_hex": KEYS.iter().map(|(k, _)| (k.to_string(), Value::from(hex(&key_bytes(k))))).collect::<serde_json::Map<_, _>>(),
        "now": NOW,
        "valid": valid_cases().iter().map(|(why, token, c)| json!({
            "why": why,
            "purpose": c.purpose,
            "token": token,
            "payload_hex": hex(&c.encode().expect("encode")),
            "claims": claims_json(c),
        })).collect::<Vec<_>>(),
        "invalid": invalid_cases().iter().map(|(why, purpose, token, reason)| json!({
            "why": why, "purpose": purpose, "token": token, "reason": reason,
        })).collect::<Vec<_>>(),
    })
}

fn published() -> Value {
    serde_json::from_str(&std::fs::read_to_string(PATH).expect("vectors file")).expect("json")
}

fn purpose(case: &Value) -> Purpose {
    serde_json::from_value(case["purpose"].clone()).expect("purpose")
}

#[test]
fn the_file_is_what_the_generator_writes() {
    if std::env::var_os("REGENERATE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&generate()).expect("json") + "\n";
        std::fs::write(PATH, text).expect("write vectors");
    }
    assert_eq!(
        published(),
        generate(),
        "regenerate with REGENERATE_VECTORS=1 if the change is deliberate"
    );
}

#[test]
fn valid_vectors_verify_to_their_claims_and_bytes() {
    let v = published();
    let ring = KeyRing::parse(v["key_ring"].as_str().expect("ring")).expect("ring");
    let now = v["now"].as_u64().expect("now");
    let valid = v["valid"].as_array().expect("valid");
    assert!(valid.len() >= 7);
    for case in valid {
        let token = case["token"].as_str().expect("token");
        let claims = ring
            .verify(token, purpose(case), now)
            .unwrap_or_else(|e| panic!("{}: {e:?}", case["why"]));
        assert_eq!(claims_json(&claims), case["claims"], "{}", case["why"]);
        assert_eq!(
            hex(&claims.encode().expect("encode")),
            case["payload_hex"],
            "{}",
            case["why"]
        );
        // The MAC is plain HMAC-SHA256 over the first three parts.
        let kid = token.split('.').nth(1).expect("kid");
        let (signed, _) = token.rsplit_once('.').expect("mac");
        let payload_text = signed.rsplit_once('.').expect("payload").1;
        assert_eq!(raw_token(&key_bytes(kid), kid, payload_text), token);
    }
}

#[test]
fn invalid_vectors_fail_for_their_reason() {
    let v = published();
    let ring = KeyRing::parse(v["key_ring"].as_str().expect("ring")).expect("ring");
    let now = v["now"].as_u64().expect("now");
    let invalid = v["invalid"].as_array().expect("invalid");
    let reasons: std::collections::BTreeSet<&str> = invalid
        .iter()
        .map(|c| c["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(
        reasons.len(),
        9,
        "every reason but InvalidClaim (a signing error) appears"
    );
    for case in invalid {
        let err = ring
            .verify(case["token"].as_str().expect("token"), purpose(case), now)
            .expect_err(case["why"].as_str().expect("why"));
        assert_eq!(format!("{err:?}"), case["reason"], "{}", case["why"]);
    }
}
