//! Token behaviour through the public interface, and the published vectors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partner_invites::token::{
    Claims, KeyRing, KeyRingError, MAX_TOKEN_LEN, Purpose, Role, TokenError,
};
use proptest::prelude::*;

const NOW: u64 = 1_795_305_600;
const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

fn ring(spec: &str) -> KeyRing {
    KeyRing::parse(spec).expect("ring")
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

#[test]
fn every_purpose_round_trips() {
    let r = ring(K1);
    for purpose in [Purpose::Invite, Purpose::Connect, Purpose::Access] {
        let c = claims(purpose);
        let token = r.sign(&c).expect("sign");
        assert!(token.starts_with("pi1.k1."));
        assert_eq!(r.verify(&token, purpose, NOW), Ok(c));
    }
}

#[test]
fn changing_any_single_character_is_rejected() {
    let r = ring(K1);
    let token = r.sign(&claims(Purpose::Invite)).expect("sign");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/";
    for i in 0..token.len() {
        for &replacement in alphabet {
            let mut bytes = token.clone().into_bytes();
            if bytes[i] == replacement {
                continue;
            }
            bytes[i] = replacement;
            let mutated = String::from_utf8(bytes).expect("ascii");
            assert!(
                r.verify(&mutated, Purpose::Invite, NOW).is_err(),
                "accepted {mutated}"
            );
        }
    }
}

#[test]
fn each_failure_has_its_reason() {
    let r = ring(K1);
    let invite = r.sign(&claims(Purpose::Invite)).expect("sign");
    let v = |t: &str| r.verify(t, Purpose::Invite, NOW).err();
    assert_eq!(
        r.verify(&invite, Purpose::Access, NOW).err(),
        Some(TokenError::WrongPurpose)
    );
    assert_eq!(
        r.verify(&invite, Purpose::Invite, NOW + 3600).err(),
        Some(TokenError::Expired)
    );
    assert_eq!(
        v(&invite.replacen("k1", "k9", 1)),
        Some(TokenError::UnknownKey)
    );
    assert_eq!(
        v(&invite[..invite.len() - 1]),
        Some(TokenError::BadEncoding),
        "truncated MAC"
    );
    assert_eq!(
        v(&invite[..invite.rfind('.').expect("dot")]),
        Some(TokenError::Malformed),
        "no MAC"
    );
    assert_eq!(v(&"a".repeat(MAX_TOKEN_LEN + 1)), Some(TokenError::TooLong));
    assert_eq!(
        v(&format!("{invite}=")),
        Some(TokenError::Malformed),
        "padding is outside the alphabet"
    );
    assert_eq!(
        v(&format!("{invite}.x")),
        Some(TokenError::Malformed),
        "trailing part"
    );
    assert_eq!(
        v(&invite.replacen("pi1", "pi2", 1)),
        Some(TokenError::UnsupportedVersion)
    );
    assert_eq!(v(""), Some(TokenError::Malformed));

    // A MAC whose last character carries non-zero trailing bits decodes to the
    // same bytes under a lenient decoder; the canonical one refuses it.
    let mac = &invite[invite.rfind('.').expect("dot") + 1..];
    let last = mac.as_bytes()[mac.len() - 1];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet
        .iter()
        .position(|c| *c == last)
        .expect("in alphabet");
    let sibling = char::from(alphabet[index ^ 1]);
    let non_canonical = format!("{}{sibling}", &invite[..invite.len() - 1]);
    assert_eq!(v(&non_canonical), Some(TokenError::BadEncoding));

    // A payload altered and re-signed with a key the ring does not hold.
    let forged = ring("k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8")
        .sign(&claims(Purpose::Invite))
        .expect("sign");
    assert_eq!(v(&forged), Some(TokenError::BadSignature));
}

#[test]
fn rotation_old_keys_verify_new_key_signs() {
    let old = ring(K1);
    let in_flight = old.sign(&claims(Purpose::Invite)).expect("sign");
    let rotated = ring(&format!("{K2},{K1}"));
    assert_eq!(rotated.signing_kid(), "k2");
    assert!(
        rotated.verify(&in_flight, Purpose::Invite, NOW).is_ok(),
        "links in flight keep working"
    );
    let fresh = rotated.sign(&claims(Purpose::Invite)).expect("sign");
    assert!(fresh.starts_with("pi1.k2."));
    assert_eq!(
        old.verify(&fresh, Purpose::Invite, NOW).err(),
        Some(TokenError::UnknownKey)
    );
    let retired = ring(K2);
    assert_eq!(
        retired.verify(&in_flight, Purpose::Invite, NOW).err(),
        Some(TokenError::UnknownKey)
    );
}

#[test]
fn key_rings_are_checked() {
    assert_eq!(KeyRing::parse("").err(), Some(KeyRingError::Empty));
    assert_eq!(
        KeyRing::parse("nokey").err(),
        Some(KeyRingError::NotAPair(1))
    );
    assert_eq!(
        KeyRing::parse(&format!("{K1},bad kid:AAAA")).err(),
        Some(KeyRingError::BadKid(2))
    );
    assert_eq!(
        KeyRing::parse(&format!("{K1},{K1}")).err(),
        Some(KeyRingError::DuplicateKid("k1".into()))
    );
    assert_eq!(
        KeyRing::parse("k1:!!!").err(),
        Some(KeyRingError::NotBase64("k1".into()))
    );
    assert_eq!(
        KeyRing::parse("k1:AAECAw==").err(),
        Some(KeyRingError::TooShort("k1".into()))
    );
    let shown = format!("{:?}", ring(K1));
    assert!(
        !shown.contains("AAEC"),
        "Debug never shows key material: {shown}"
    );
    let generated = KeyRing::generate_spec();
    assert!(KeyRing::parse(&generated).is_ok());
    assert_ne!(generated, KeyRing::generate_spec());
}

#[test]
fn claims_that_cannot_be_encoded_are_refused() {
    let r = ring(K1);
    let mut c = claims(Purpose::Invite);
    c.record_id = "has/slash".into();
    assert_eq!(r.sign(&c).err(), Some(TokenError::InvalidClaim));
    let mut c = claims(Purpose::Invite);
    c.role = Some(Role::Operator);
    assert_eq!(
        r.sign(&c).err(),
        Some(TokenError::InvalidClaim),
        "roles belong to access tokens"
    );
    let mut c = claims(Purpose::Access);
    c.role = None;
    assert_eq!(r.sign(&c).err(), Some(TokenError::InvalidClaim));
}

/// The vectors file: regenerate with `REGENERATE_VECTORS=1 cargo test -p partner-invites --test tokens`.
#[test]
fn published_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tokens.json");
    let generated = vectors();
    if std::env::var_os("REGENERATE_VECTORS").is_some() {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&generated).expect("json") + "\n",
        )
        .expect("write");
    }
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).expect("json");
    assert_eq!(
        published, generated,
        "the implementation and the published vectors disagree"
    );

    let r = ring(published["key_ring"].as_str().expect("ring"));
    let now = published["now"].as_u64().expect("now");
    for case in published["valid"].as_array().expect("valid") {
        let purpose: Purpose = serde_json::from_value(case["purpose"].clone()).expect("purpose");
        let claims = r
            .verify(case["token"].as_str().expect("token"), purpose, now)
            .expect("valid vector");
        assert_eq!(claims_json(&claims), case["claims"]);
    }
    for case in published["invalid"].as_array().expect("invalid") {
        let purpose: Purpose = serde_json::from_value(case["purpose"].clone()).expect("purpose");
        let err = r
            .verify(case["token"].as_str().expect("token"), purpose, now)
            .expect_err("invalid vector");
        assert_eq!(format!("{err:?}"), case["reason"].as_str().expect("reason"));
    }
}

fn claims_json(c: &Claims) -> serde_json::Value {
    serde_json::json!({
        "purpose": c.purpose, "record_id": c.record_id, "partner_id": c.partner_id,
        "organization_id": c.organization_id, "subject": c.subject, "role": c.role,
        "issued_at": c.issued_at, "expires_at": c.expires_at, "generation": c.generation,
    })
}

fn vectors() -> serde_json::Value {
    let spec = format!("{K1},{K2}");
    let r = ring(&spec);
    let valid: Vec<_> = [Purpose::Invite, Purpose::Connect, Purpose::Access]
        .into_iter()
        .map(|p| {
            let c = claims(p);
            serde_json::json!({"purpose": p, "token": r.sign(&c).expect("sign"), "claims": claims_json(&c)})
        })
        .collect();
    let invite = r.sign(&claims(Purpose::Invite)).expect("sign");
    let (head, mac) = invite.rsplit_once('.').expect("dot");
    let mut tampered_payload = claims(Purpose::Invite);
    tampered_payload.generation = 4;
    let swapped = format!(
        "{}.{}",
        invite.rsplitn(3, '.').nth(2).expect("head"),
        URL_SAFE_NO_PAD.encode(tampered_payload.encode().expect("encode"))
    );
    let invalid = [
        (
            "Invite",
            format!("{swapped}.{mac}"),
            "BadSignature",
            "payload changed (generation 3 -> 4), MAC kept",
        ),
        (
            "Access",
            invite.clone(),
            "WrongPurpose",
            "an invite token offered as an access token",
        ),
        (
            "Invite",
            invite.replacen(".k1.", ".k3.", 1),
            "UnknownKey",
            "a key id the ring does not hold",
        ),
        (
            "Invite",
            invite.replacen("pi1.", "pi0.", 1),
            "UnsupportedVersion",
            "another version",
        ),
        ("Invite", head.to_string(), "Malformed", "no MAC part"),
        (
            "Invite",
            format!("{invite}="),
            "Malformed",
            "base64 padding",
        ),
        (
            "Invite",
            invite[..invite.len() - 2].to_string(),
            "BadEncoding",
            "truncated MAC",
        ),
    ];
    let mut expired = claims(Purpose::Invite);
    expired.expires_at = NOW;
    serde_json::json!({
        "description": "Tokens pi1.<kid>.<payload>.<mac>: HMAC-SHA256 over 'pi1.<kid>.<payload>', base64url without padding. Verify each at `now` for its purpose.",
        "key_ring": spec,
        "now": NOW,
        "valid": valid,
        "invalid": invalid.iter().map(|(p, t, reason, why)| serde_json::json!({"purpose": p.to_lowercase(), "token": t, "reason": reason, "why": why}))
            .chain(std::iter::once(serde_json::json!({"purpose": "invite", "token": r.sign(&expired).expect("sign"), "reason": "Expired", "why": "expires_at equals now"})))
            .collect::<Vec<_>>(),
    })
}

fn arb_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

prop_compose! {
    fn arb_claims()(
        purpose in prop_oneof![Just(Purpose::Invite), Just(Purpose::Connect), Just(Purpose::Access)],
        role in prop_oneof![Just(Role::Partner), Just(Role::CustomerAdmin), Just(Role::Operator)],
        record_id in arb_id(),
        partner_id in proptest::option::of(arb_id()),
        organization_id in proptest::option::of(arb_id()),
        subject in proptest::option::of(arb_id()),
        issued_at in any::<u64>(),
        expires_at in any::<u64>(),
        generation in any::<u32>(),
    ) -> Claims {
        Claims { purpose, record_id, partner_id, organization_id, subject,
                 role: (purpose == Purpose::Access).then_some(role), issued_at, expires_at, generation }
    }
}

proptest! {
    #[test]
    fn encode_decode_round_trips(c in arb_claims()) {
        prop_assert_eq!(Claims::decode(&c.encode().expect("encode")), Ok(c));
    }

    #[test]
    fn sign_verify_round_trips(c in arb_claims()) {
        let r = ring(K1);
        let token = r.sign(&c).expect("sign");
        prop_assert!(token.len() <= MAX_TOKEN_LEN);
        let result = r.verify(&token, c.purpose, 0);
        if c.expires_at == 0 {
            prop_assert_eq!(result, Err(TokenError::Expired));
        } else {
            prop_assert_eq!(result, Ok(c));
        }
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let r = ring(K1);
        let _ = r.verify(&s, Purpose::Invite, NOW);
        let _ = r.verify(&format!("pi1.k1.{s}"), Purpose::Invite, NOW);
        let _ = Claims::decode(&bytes);
    }
}
