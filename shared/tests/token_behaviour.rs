//! Token behaviour through the public interface: round trips, tampering,
//! each failure reason, rotation, key-ring parsing, and properties.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partner_invites::token::{
    Claims, KeyRing, KeyRingError, MAX_TOKEN_LEN, Purpose, Role, TokenError,
};
use proptest::prelude::*;

const NOW: u64 = 1_795_305_600;
const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
const ALL: [Purpose; 3] = [Purpose::Invite, Purpose::Connect, Purpose::Access];

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

fn invite() -> String {
    ring(K1).sign(&claims(Purpose::Invite)).expect("sign")
}

fn check(token: &str) -> Option<TokenError> {
    ring(K1).verify(token, Purpose::Invite, NOW).err()
}

#[test]
fn every_purpose_round_trips_and_is_refused_for_the_others() {
    let r = ring(K1);
    for purpose in ALL {
        let c = claims(purpose);
        let token = r.sign(&c).expect("sign");
        assert!(token.starts_with("pi1.k1."));
        assert_eq!(r.verify(&token, purpose, NOW), Ok(c));
        for other in ALL.into_iter().filter(|p| *p != purpose) {
            assert_eq!(r.verify(&token, other, NOW), Err(TokenError::WrongPurpose));
        }
    }
}

#[test]
fn changing_any_single_character_is_rejected() {
    let r = ring(K1);
    for purpose in ALL {
        let token = r.sign(&claims(purpose)).expect("sign");
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
        for i in 0..token.len() {
            for &replacement in alphabet {
                let mut bytes = token.clone().into_bytes();
                if bytes[i] == replacement {
                    continue;
                }
                bytes[i] = replacement;
                let mutated = String::from_utf8(bytes).expect("ascii");
                assert!(
                    r.verify(&mutated, purpose, NOW).is_err(),
                    "accepted {mutated}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    let token = invite();
    for end in 0..token.len() {
        assert!(check(&token[..end]).is_some(), "accepted {}", &token[..end]);
    }
    for suffix in ["A", "=", "==", ".", ".A"] {
        assert!(check(&format!("{token}{suffix}")).is_some());
    }
}

#[test]
fn each_failure_has_its_reason() {
    let r = ring(K1);
    let invite = invite();
    assert_eq!(
        r.verify(&invite, Purpose::Access, NOW).err(),
        Some(TokenError::WrongPurpose)
    );
    assert_eq!(
        r.verify(&invite, Purpose::Invite, NOW + 3599).err(),
        None,
        "valid until the last second"
    );
    assert_eq!(
        r.verify(&invite, Purpose::Invite, NOW + 3600).err(),
        Some(TokenError::Expired)
    );
    assert_eq!(
        check(&invite.replacen(".k1.", ".k9.", 1)),
        Some(TokenError::UnknownKey)
    );
    assert_eq!(
        check(&invite.replacen(".k1.", "..", 1)),
        Some(TokenError::Malformed),
        "empty kid"
    );
    assert_eq!(
        check(&invite[..invite.len() - 1]),
        Some(TokenError::BadEncoding),
        "truncated MAC"
    );
    assert_eq!(
        check(&invite[..invite.rfind('.').expect("dot")]),
        Some(TokenError::Malformed),
        "no MAC"
    );
    assert_eq!(
        check(&format!("{invite}.x")),
        Some(TokenError::Malformed),
        "trailing part"
    );
    assert_eq!(
        check(&invite.replacen("pi1", "pi2", 1)),
        Some(TokenError::UnsupportedVersion)
    );
    assert_eq!(check(""), Some(TokenError::Malformed));
    assert_eq!(check("pi1.k1.é.x"), Some(TokenError::Malformed));

    // A payload re-signed with a key the ring does not hold, under its kid.
    let forged = ring("k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8")
        .sign(&claims(Purpose::Invite))
        .expect("sign");
    assert_eq!(check(&forged), Some(TokenError::BadSignature));
}

#[test]
fn oversized_tokens_are_refused_before_anything_else() {
    let invite = invite();
    let padded = format!("{invite}{}", "A".repeat(MAX_TOKEN_LEN + 1 - invite.len()));
    assert_eq!(check(&padded), Some(TokenError::TooLong));
    assert_eq!(check(&"é".repeat(MAX_TOKEN_LEN)), Some(TokenError::TooLong));
    assert_eq!(
        check(&padded[..MAX_TOKEN_LEN]),
        Some(TokenError::BadEncoding),
        "at the cap the other checks decide"
    );
}

#[test]
fn padded_or_non_canonical_base64_is_refused() {
    let invite = invite();
    let (head, mac) = invite.rsplit_once('.').expect("mac");
    let (prefix, payload) = head.rsplit_once('.').expect("payload");
    assert_eq!(payload.len() % 4, 2, "this payload would take '=='");
    assert_eq!(
        check(&format!("{prefix}.{payload}==.{mac}")),
        Some(TokenError::BadEncoding)
    );
    assert_eq!(check(&format!("{invite}=")), Some(TokenError::BadEncoding));
    assert_eq!(
        check(&format!("{prefix}.{payload}.{}=", &mac[..42])),
        Some(TokenError::BadEncoding)
    );
    // The last character of an unpadded encoding carries spare bits; a
    // sibling with one of them set decodes to the same bytes under a lenient
    // decoder. The canonical one refuses it.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sibling = |s: &str| {
        let last = s.as_bytes()[s.len() - 1];
        let i = alphabet.iter().position(|c| *c == last).expect("alphabet");
        format!("{}{}", &s[..s.len() - 1], char::from(alphabet[i ^ 1]))
    };
    assert_eq!(
        check(&format!("{head}.{}", sibling(mac))),
        Some(TokenError::BadEncoding)
    );
    assert_eq!(
        check(&format!("{prefix}.{}.{mac}", sibling(payload))),
        Some(TokenError::BadEncoding)
    );
}

#[test]
fn the_base64url_engine_is_canonical() {
    // What verification relies on, checked on the engine itself.
    assert_eq!(URL_SAFE_NO_PAD.decode("AQ").expect("canonical"), [1]);
    assert!(URL_SAFE_NO_PAD.decode("AQ==").is_err(), "padding");
    assert!(
        URL_SAFE_NO_PAD.decode("AR").is_err(),
        "non-zero trailing bits"
    );
    assert!(URL_SAFE_NO_PAD.decode("AQI").is_ok());
    assert!(
        URL_SAFE_NO_PAD.decode("AQJ").is_err(),
        "non-zero trailing bits"
    );
    assert!(URL_SAFE_NO_PAD.decode("AQIDB").is_err(), "4n+1 characters");
    assert!(URL_SAFE_NO_PAD.decode("A+/B").is_err(), "standard alphabet");
}

#[test]
fn rotation_old_keys_verify_new_key_signs() {
    let old = ring(K1);
    let in_flight = old.sign(&claims(Purpose::Invite)).expect("sign");
    let rotated = ring(&format!("{K2}, {K1}"));
    assert_eq!(rotated.signing_kid(), "k2");
    assert!(
        rotated.verify(&in_flight, Purpose::Invite, NOW).is_ok(),
        "links in flight keep working"
    );
    let fresh = rotated.sign(&claims(Purpose::Invite)).expect("sign");
    assert!(fresh.starts_with("pi1.k2."));
    assert!(rotated.verify(&fresh, Purpose::Invite, NOW).is_ok());
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
    assert_eq!(KeyRing::parse(" , ").err(), Some(KeyRingError::Empty));
    assert_eq!(
        KeyRing::parse("nokey").err(),
        Some(KeyRingError::NotAPair(1))
    );
    assert_eq!(
        KeyRing::parse(&format!("{K1},,bad kid:AAAA")).err(),
        Some(KeyRingError::BadKid(3)),
        "positions count every entry"
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
    let err =
        KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg").expect_err("31 bytes");
    assert!(
        !err.to_string().contains("AAEC"),
        "errors never show keys: {err}"
    );
    assert_eq!(
        KeyRing::parse(&format!("k{}:AAAA", "x".repeat(32))).err(),
        Some(KeyRingError::BadKid(1)),
        "kids are at most 32 characters"
    );
    let shown = format!("{:?}", ring(K1));
    assert!(
        !shown.contains("AAEC") && shown.contains("k1"),
        "Debug shows kids, never key material: {shown}"
    );
}

#[test]
fn keys_in_any_base64_spelling_are_the_same_key() {
    // 32 bytes 0xfb 0xff...: '+' and '/' in standard base64, '-' and '_' in URL-safe.
    let bytes = [0xfb_u8; 32];
    let spellings = [
        base64::engine::general_purpose::STANDARD.encode(bytes),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        base64::engine::general_purpose::URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ];
    let token = ring(&format!("k:{}", spellings[0]))
        .sign(&claims(Purpose::Invite))
        .expect("sign");
    for spelling in &spellings {
        let r = ring(&format!("  k : {spelling}  "));
        assert!(r.verify(&token, Purpose::Invite, NOW).is_ok(), "{spelling}");
    }
}

#[test]
fn generated_rings_are_fresh_and_parse() {
    let generated = KeyRing::generate_spec();
    let r = ring(&generated);
    assert!(r.signing_kid().starts_with("dev"));
    let token = r.sign(&claims(Purpose::Access)).expect("sign");
    assert!(r.verify(&token, Purpose::Access, NOW).is_ok());
    assert_ne!(generated, KeyRing::generate_spec());
}

#[test]
fn claims_that_cannot_be_encoded_are_refused() {
    let r = ring(K1);
    let refused = |f: &dyn Fn(&mut Claims), purpose| {
        let mut c = claims(purpose);
        f(&mut c);
        r.sign(&c).err()
    };
    let invalid = Some(TokenError::InvalidClaim);
    assert_eq!(
        refused(&|c| c.record_id = "has/slash".into(), Purpose::Invite),
        invalid
    );
    assert_eq!(
        refused(&|c| c.record_id = String::new(), Purpose::Invite),
        invalid
    );
    assert_eq!(
        refused(&|c| c.record_id = "x".repeat(65), Purpose::Invite),
        invalid
    );
    assert_eq!(
        refused(&|c| c.record_id = "x".repeat(300), Purpose::Invite),
        invalid
    );
    assert_eq!(
        refused(&|c| c.partner_id = Some(String::new()), Purpose::Invite),
        invalid
    );
    assert_eq!(
        refused(&|c| c.subject = Some("é".into()), Purpose::Access),
        invalid
    );
    assert_eq!(
        refused(&|c| c.role = Some(Role::Operator), Purpose::Invite),
        invalid,
        "roles belong to access tokens"
    );
    assert_eq!(refused(&|c| c.role = None, Purpose::Access), invalid);
    assert_eq!(
        refused(&|c| c.record_id = "x".repeat(64), Purpose::Invite),
        None
    );
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
        prop_assert!(token.len() <= 457, "the longest valid token is 457 bytes");
        let result = r.verify(&token, c.purpose, 0);
        if c.expires_at == 0 {
            prop_assert_eq!(result, Err(TokenError::Expired));
        } else {
            prop_assert_eq!(result, Ok(c));
        }
    }

    #[test]
    fn decoding_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Whatever decodes re-encodes to the very same bytes.
        if let Ok(c) = Claims::decode(&bytes) {
            prop_assert_eq!(c.encode().expect("encode"), bytes);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}", t in "[A-Za-z0-9_.=-]{0,500}") {
        let r = ring(K1);
        for candidate in [s.clone(), t.clone(), format!("pi1.k1.{s}"), format!("pi1.k1.{t}")] {
            let _ = r.verify(&candidate, Purpose::Invite, NOW);
        }
    }

    #[test]
    fn arbitrary_signed_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        // A correctly signed but arbitrary payload exercises the payload parser.
        use hmac::{Hmac, KeyInit, Mac};
        let signed = format!("pi1.k1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        let key = (0u8..32).collect::<Vec<_>>();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
        mac.update(signed.as_bytes());
        let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        let result = ring(K1).verify(&token, Purpose::Invite, 0);
        prop_assert!(!matches!(result, Err(TokenError::BadSignature | TokenError::UnknownKey)));
    }
}
