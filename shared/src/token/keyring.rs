//! The keys that sign and verify, parsed once from the secret Spin variable.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::claims::is_id_byte;
use super::{Claims, KeyRingError, MAX_TOKEN_LEN, MIN_KEY_LEN, Purpose, TokenError, VERSION};

/// Length of a MAC in bytes.
const MAC_LEN: usize = 32;
/// Length of a MAC in base64url without padding.
const MAC_CHARS: usize = 43;

struct Key {
    kid: String,
    /// The HMAC state after absorbing the key, cloned for each token.
    prepared: Hmac<Sha256>,
}

/// Signing and verifying keys: the first signs, all verify, so a key can be
/// rotated in without breaking links that are still in flight.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

impl KeyRing {
    /// Parses `kid:<base64 key>[,kid:<base64 key>...]` (standard or URL-safe
    /// base64, padded or not; spaces around entries are ignored).
    pub fn parse(spec: &str) -> Result<KeyRing, KeyRingError> {
        let mut keys: Vec<Key> = Vec::new();
        for (i, entry) in spec
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let position = i + 1;
            let (kid, key) = entry
                .split_once(':')
                .ok_or(KeyRingError::NotAPair(position))?;
            let (kid, key) = (kid.trim(), key.trim());
            if kid.is_empty() || kid.len() > 32 || !kid.bytes().all(is_id_byte) {
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
    /// for development hosts.
    pub fn generate_spec() -> String {
        let mut material = [0u8; 35];
        // No randomness means no safe key: stop rather than sign with a weak one.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut material).expect("the platform provides no randomness");
        let tag: String = material[32..].iter().map(|b| format!("{b:02x}")).collect();
        format!("dev{tag}:{}", STANDARD.encode(&material[..32]))
    }

    /// The key id that signs.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Signs `claims` with the first key.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let key = &self.keys[0];
        let payload = URL_SAFE_NO_PAD.encode(claims.encode()?);
        let mut token =
            String::with_capacity(VERSION.len() + key.kid.len() + payload.len() + MAC_CHARS + 3);
        token.push_str(VERSION);
        token.push('.');
        token.push_str(&key.kid);
        token.push('.');
        token.push_str(&payload);
        let mut mac = key.prepared.clone();
        mac.update(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        Ok(token)
    }

    /// Verifies `token` for `purpose` at `now` (Unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, purpose: Purpose, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        if !token.bytes().all(|b| is_id_byte(b) || b == b'.') {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(version), Some(kid), Some(payload), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        if version != VERSION {
            return Err(TokenError::UnsupportedVersion);
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        if mac.len() != MAC_CHARS {
            return Err(TokenError::BadEncoding);
        }
        // The engine refuses padding and non-zero trailing bits: one encoding per value.
        let tag = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| TokenError::BadEncoding)?;
        let body = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::BadEncoding)?;
        if tag.len() != MAC_LEN {
            return Err(TokenError::BadEncoding);
        }
        let signed = &token[..token.len() - mac.len() - 1];
        let mut check = key.prepared.clone();
        check.update(signed.as_bytes());
        check
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let claims = Claims::decode(&body)?;
        if claims.purpose != purpose {
            return Err(TokenError::WrongPurpose);
        }
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}
