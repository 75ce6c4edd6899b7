//! The token string, `pi1.<kid>.<payload>.<mac>`, written and read strictly.
//!
//! Reading is split from the key ring so that everything decided by the text
//! alone (length, shape, version, alphabet, canonical base64url) is settled
//! in one pass over the bytes, with no allocation: a forged or garbled token
//! is turned away before it costs any MAC work.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::claims::{MAX_PAYLOAD_LEN, is_id};
use super::{MAX_TOKEN_LEN, TokenError, VERSION};

/// Length of a MAC in bytes (HMAC-SHA256).
pub(super) const MAC_LEN: usize = 32;
/// Length of a MAC in base64url without padding.
pub(super) const MAC_CHARS: usize = 43;
/// Longest key id, so a kid can never crowd out the payload.
pub(super) const MAX_KID_LEN: usize = 32;

/// [`DECODE`] value of `=`: padding, which a canonical encoding never has.
const PAD: u8 = 0x40;
/// [`DECODE`] value of a byte outside the token alphabet (`.` included: a
/// payload or MAC holding one means the token has too many parts).
const INVALID: u8 = 0x80;
/// base64url value of each byte; [`PAD`] for `=`, [`INVALID`] for the rest.
/// A `static`, not a `const`: a `const` array indexed at run time may be
/// rebuilt on the stack at each use.
static DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b'=' as usize] = PAD;
    table
};

/// The four parts of a token that passed the text-only checks.
pub(super) struct Parts<'a> {
    /// `pi1.<kid>.<payload>`: exactly the bytes the MAC covers.
    pub signed: &'a str,
    /// The key id, `[A-Za-z0-9_-]{1,32}`.
    pub kid: &'a str,
    /// The claims, base64url (not yet decoded).
    pub payload: &'a str,
    /// The MAC, base64url (not yet decoded).
    pub mac: &'a str,
}

/// Whether `kid` is a well-formed key id (the key ring holds no other kind).
pub(super) fn is_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len()) && is_id(kid.as_bytes())
}

/// Splits `token` after the length, version and shape checks.
///
/// Only the dots are looked for here; the alphabet of the payload and the
/// MAC is checked by [`decode`], which must look at every byte anyway, so the
/// token is read once, not twice.
pub(super) fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    let bytes = token.as_bytes();
    // Fast paths for the shape of every valid token: `pi1.` first, a
    // 43-character MAC last; anything else falls back to searching.
    let first = match bytes.get(VERSION.len()) {
        Some(b'.') => VERSION.len(),
        _ => token.find('.').ok_or(TokenError::Malformed)?,
    };
    if &token[..first] != VERSION {
        return Err(TokenError::UnsupportedVersion);
    }
    let second = first + 1 + token[first + 1..].find('.').ok_or(TokenError::Malformed)?;
    let third = match token.len().checked_sub(MAC_CHARS + 1) {
        Some(at) if at > second && bytes[at] == b'.' => at,
        _ => token.rfind('.').ok_or(TokenError::Malformed)?,
    };
    if third == second {
        return Err(TokenError::Malformed);
    }
    let kid = &token[first + 1..second];
    if !is_kid(kid) {
        return Err(TokenError::Malformed);
    }
    // A fifth part leaves a `.` in the payload or the MAC: `decode` refuses it.
    Ok(Parts {
        signed: &token[..third],
        kid,
        payload: &token[second + 1..third],
        mac: &token[third + 1..],
    })
}

/// Decodes canonical base64url without padding into `out`, returning the
/// number of bytes written.
///
/// Strict where lenient decoders are not, so every byte string has exactly
/// one accepted spelling: a byte outside the token alphabet (including `.`)
/// is [`TokenError::Malformed`]; `=`, a length of 4n+1, non-zero trailing
/// bits or too little room in `out` are [`TokenError::BadEncoding`]. Agrees
/// with the `base64` crate's `URL_SAFE_NO_PAD` engine on every input (a
/// property test checks it); written out because that engine's per-call
/// overhead was a third of verification time on 100-character inputs.
pub(super) fn decode(text: &[u8], out: &mut [u8]) -> Result<usize, TokenError> {
    let (quads, tail) = text.as_chunks::<4>();
    let whole = quads.len() * 3;
    let len = whole + tail.len() * 3 / 4;
    let out = out.get_mut(..len).ok_or(TokenError::BadEncoding)?;
    let (whole, rest) = out.split_at_mut(whole);
    let (triples, _) = whole.as_chunks_mut::<3>();
    let mut seen = 0u8;
    for (quad, triple) in quads.iter().zip(triples) {
        let a = DECODE[usize::from(quad[0])];
        let b = DECODE[usize::from(quad[1])];
        let c = DECODE[usize::from(quad[2])];
        let d = DECODE[usize::from(quad[3])];
        seen |= a | b | c | d;
        triple[0] = a << 2 | b >> 4;
        triple[1] = b << 4 | c >> 2;
        triple[2] = c << 6 | d;
    }
    let mut t = [0u8; 3];
    for (value, &byte) in t.iter_mut().zip(tail) {
        *value = DECODE[usize::from(byte)];
        seen |= *value;
    }
    if seen & INVALID != 0 {
        return Err(TokenError::Malformed);
    }
    let [a, b, c] = t;
    let spare = match rest {
        [] if tail.is_empty() => 0,
        [x] => {
            *x = a << 2 | b >> 4;
            b & 0x0f
        }
        [x, y] => {
            *x = a << 2 | b >> 4;
            *y = b << 4 | c >> 2;
            c & 0x03
        }
        _ => return Err(TokenError::BadEncoding),
    };
    if seen & PAD != 0 || spare != 0 {
        Err(TokenError::BadEncoding)
    } else {
        Ok(len)
    }
}

/// Decodes the MAC: exactly 43 characters of canonical base64url.
pub(super) fn decode_mac(mac: &str) -> Result<[u8; MAC_LEN], TokenError> {
    let mut tag = [0u8; MAC_LEN];
    match decode(mac.as_bytes(), &mut tag)? {
        MAC_LEN => Ok(tag),
        _ => Err(TokenError::BadEncoding),
    }
}

/// Decodes the payload into `buf`, which holds the longest valid payload;
/// anything longer is [`TokenError::BadEncoding`] without being read.
pub(super) fn decode_payload<'b>(
    payload: &str,
    buf: &'b mut [u8; MAX_PAYLOAD_LEN],
) -> Result<&'b [u8], TokenError> {
    let n = decode(payload.as_bytes(), buf)?;
    buf.get(..n).ok_or(TokenError::BadEncoding)
}

/// Writes `pi1.<kid>.<payload>.<mac>`, where `mac` computes the tag over the
/// text written so far (the signing input).
pub(super) fn assemble(
    kid: &str,
    payload: &[u8],
    mac: impl FnOnce(&[u8]) -> [u8; MAC_LEN],
) -> String {
    let mut token = String::with_capacity(
        VERSION.len() + kid.len() + payload.len().div_ceil(3) * 4 + MAC_CHARS + 3,
    );
    token.push_str(VERSION);
    token.push('.');
    token.push_str(kid);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let tag = mac(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Our decoder against the `base64` crate's strict engine.
    fn agrees(text: &str) -> Result<(), TestCaseError> {
        let mut out = [0u8; 512];
        let ours = decode(text.as_bytes(), &mut out).map(|n| out[..n].to_vec());
        let theirs = URL_SAFE_NO_PAD.decode(text);
        prop_assert_eq!(ours.as_ref().ok(), theirs.as_ref().ok(), "{}", text);
        if let Err(e) = ours {
            let outside = text.bytes().any(|b| DECODE[usize::from(b)] == INVALID);
            prop_assert_eq!(e == TokenError::Malformed, outside, "{}", text);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn decode_agrees_with_the_base64_crate(text in "[A-Za-z0-9_=.+/-]{0,40}") {
            agrees(&text)?;
        }

        #[test]
        fn decode_refuses_every_respelling(bytes in proptest::collection::vec(any::<u8>(), 0..100), last in 0usize..64, pad in 0usize..3) {
            let text = URL_SAFE_NO_PAD.encode(&bytes);
            agrees(&text)?;
            if let Some(head) = text.get(..text.len().saturating_sub(1)) {
                let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                agrees(&format!("{head}{}", &alphabet[last..=last]))?;
            }
            agrees(&format!("{text}{}", "=".repeat(pad)))?;
        }
    }

    #[test]
    fn decode_reasons() {
        let mut out = [0u8; 8];
        assert_eq!(decode(b"AQ", &mut out), Ok(1));
        assert_eq!(decode(b"AQ==", &mut out), Err(TokenError::BadEncoding));
        assert_eq!(decode(b"AR", &mut out), Err(TokenError::BadEncoding));
        assert_eq!(decode(b"AQIDB", &mut out), Err(TokenError::BadEncoding));
        assert_eq!(decode(b"A+/B", &mut out), Err(TokenError::Malformed));
        assert_eq!(decode(b"AQ.A", &mut out), Err(TokenError::Malformed));
        assert_eq!(decode(&[b'A'; 12], &mut out), Err(TokenError::BadEncoding));
    }
}
