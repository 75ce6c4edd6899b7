//! Token verification on arbitrary input.
//!
//! A fuzzer cannot forge an HMAC, so random tokens never get past the MAC
//! check. The first input byte therefore picks a mode: `0` verifies the rest
//! as a token string (the text checks), `1` signs the rest as a payload with
//! the ring's own key and verifies that (the payload parser, purpose and
//! expiry). In both, anything accepted must be canonical: signing the
//! returned claims gives back the very same token.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use partner_invites::token::{KeyRing, Purpose, TokenError};
use sha2::Sha256;
use std::sync::LazyLock;

/// The key of `k1` below: bytes 0 to 31.
const KEY: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];

const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

/// The ring under test (the published vectors' ring): k1 signs, both verify.
static RING: LazyLock<KeyRing> =
    LazyLock::new(|| KeyRing::parse(&format!("{K1},{K2}")).expect("the fuzz key ring parses"));
/// The same keys with k2 signing, to re-sign what k2 signed.
static RING_K2: LazyLock<KeyRing> =
    LazyLock::new(|| KeyRing::parse(&format!("{K2},{K1}")).expect("the fuzz key ring parses"));

fn check(token: &str, purpose: Purpose, now: u64) -> Result<(), TokenError> {
    let claims = RING.verify(token, purpose, now)?;
    assert_eq!(claims.purpose, purpose);
    assert!(now < claims.expires_at);
    let kid = token.split('.').nth(1);
    let signer = if kid == Some(RING.signing_kid()) {
        &*RING
    } else {
        &*RING_K2
    };
    assert_eq!(
        signer.sign(&claims).as_deref(),
        Ok(token),
        "an accepted token is the one canonical token for its claims"
    );
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let purpose = [Purpose::Invite, Purpose::Connect, Purpose::Access][usize::from(mode >> 1) % 3];
    let now = u64::from(mode >> 3) * 1_000_000_000;
    if mode & 1 == 0 {
        let _ = check(&String::from_utf8_lossy(rest), purpose, now);
    } else {
        let signed = format!("pi1.k1.{}", URL_SAFE_NO_PAD.encode(rest));
        let mut mac = Hmac::<Sha256>::new_from_slice(&KEY).expect("32-byte key");
        mac.update(signed.as_bytes());
        let token = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        match check(&token, purpose, now) {
            Err(TokenError::BadSignature | TokenError::UnknownKey | TokenError::Malformed) => {
                panic!("a correctly signed token failed a check that precedes the payload")
            }
            Err(TokenError::TooLong | TokenError::BadEncoding) => {
                assert!(
                    token.len() > 457 || rest.len() > 282,
                    "only oversized payloads"
                )
            }
            _ => {}
        }
    }
});
