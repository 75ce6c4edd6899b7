//! The keys that sign and verify, parsed once from the secret Spin variable.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::claims::MAX_PAYLOAD_LEN;
use super::codec::{self, MAC_LEN};
use super::{Claims, KeyRingError, MIN_KEY_LEN, Purpose, TokenError};

/// One key of the ring.
struct Key {
    kid: String,
    /// The HMAC state after absorbing the key: cloned for each token, so the
    /// key schedule (two SHA-256 blocks) is paid once per process, not per call.
    prepared: Hmac<Sha256>,
}

/// Signing and verifying keys: the first signs, all verify, so a key can be
/// rotated in without breaking links that are still in flight.
pub struct KeyRing {
    keys: Vec<Key>,
}

/// Shows the key ids only: a ring often ends up in logs, its keys must not.
impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

/// Keys come from `openssl rand -base64 32` or from URL-safe tools alike:
/// accept either alphabet, padded or not.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

impl KeyRing {
    /// Parses `kid:<base64 key>[,kid:<base64 key>...]` (standard or URL-safe
    /// base64, padded or not; spaces around entries are ignored). The first
    /// entry signs; every entry verifies. Errors name the entry by position or
    /// kid, never by its key.
    pub fn parse(spec: &str) -> Result<KeyRing, KeyRingError> {
        let mut keys: Vec<Key> = Vec::new();
        for (i, entry) in spec.split(',').map(str::trim).enumerate() {
            let position = i + 1;
            if entry.is_empty() {
                continue;
            }
            let (kid, key) = entry
                .split_once(':')
                .ok_or(KeyRingError::NotAPair(position))?;
            let (kid, key) = (kid.trim(), key.trim());
            if !codec::is_kid(kid) {
                return Err(KeyRingError::BadKid(position));
            }
            if keys.iter().any(|k| k.kid == kid) {
                return Err(KeyRingError::DuplicateKid(kid.to_string()));
            }
            let bytes = decode_key(key).ok_or_else(|| KeyRingError::NotBase64(kid.to_string()))?;
            if bytes.len() < MIN_KEY_LEN {
                return Err(KeyRingError::TooShort(kid.to_string()));
            }
            let prepared = Hmac::<Sha256>::new_from_slice(&bytes)
                .map_err(|_| KeyRingError::TooShort(kid.to_string()))?;
            keys.push(Key {
                kid: kid.to_string(),
                prepared,
            });
        }
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        Ok(KeyRing { keys })
    }

    /// A fresh ring with one random 32-byte key, as a specification string,
    /// for development hosts (kid `dev` and six random hex digits, so rings
    /// generated on different hosts do not share a kid).
    pub fn generate_spec() -> String {
        let mut material = [0u8; 35];
        // No randomness means no safe key: stop rather than sign with a weak one.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut material).expect("the platform provides no randomness");
        let (key, tag) = material.split_at(32);
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        format!("dev{tag}:{}", STANDARD.encode(key))
    }

    /// The key id that signs.
    pub fn signing_kid(&self) -> &str {
        &self.signer().kid
    }

    /// The first key. `parse` refuses an empty ring, so there always is one.
    fn signer(&self) -> &Key {
        &self.keys[0]
    }

    /// Signs `claims` with the first key. Fails only with
    /// [`TokenError::InvalidClaim`], for claims the payload cannot carry.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let key = self.signer();
        let payload = claims.encode()?;
        Ok(codec::assemble(&key.kid, &payload, |signed| {
            let mut mac = key.prepared.clone();
            mac.update(signed);
            mac.finalize().into_bytes().into()
        }))
    }

    /// Verifies `token` for `purpose` at `now` (Unix seconds) and returns its
    /// claims.
    ///
    /// Checks run cheapest first, in the order of the table in the
    /// [module documentation](super): text checks, known kid, canonical
    /// base64url, then the MAC in constant time, then the payload, the
    /// purpose and the expiry.
    pub fn verify(&self, token: &str, purpose: Purpose, now: u64) -> Result<Claims, TokenError> {
        let parts = codec::split(token)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == parts.kid)
            .ok_or(TokenError::UnknownKey)?;
        // Payload first: a surplus part leaves its `.` in the payload, and
        // that is reported as `Malformed` rather than as a MAC of odd length.
        let mut buf = [0u8; MAX_PAYLOAD_LEN];
        let body = codec::decode_payload(parts.payload, &mut buf)?;
        let tag: [u8; MAC_LEN] = codec::decode_mac(parts.mac)?;
        let mut check = key.prepared.clone();
        check.update(parts.signed.as_bytes());
        check
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let claims = Claims::decode(body)?;
        if claims.purpose != purpose {
            return Err(TokenError::WrongPurpose);
        }
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}
