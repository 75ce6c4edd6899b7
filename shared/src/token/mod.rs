//! Signed, stateless tokens for invite links, approval links and API access.
//!
//! # Format (version `pi1`)
//!
//! A token is `pi1.<kid>.<payload>.<mac>`, at most [`MAX_TOKEN_LEN`] bytes:
//! - `pi1` is the version, and the version alone fixes the algorithm
//!   (HMAC-SHA256): nothing in a token can choose another one;
//! - `kid` names the key in the [`KeyRing`], `[A-Za-z0-9_-]{1,32}`;
//! - `payload` is the [`Claims`] in a compact binary form (layout in
//!   [`claims`]), base64url without padding;
//! - `mac` is HMAC-SHA256 with the kid's key over the ASCII bytes
//!   `pi1.<kid>.<payload>`, base64url without padding (43 characters).
//!
//! Every part has exactly one spelling (canonical binary payload, base64url
//! with no padding and zero trailing bits), so a valid token cannot be
//! rewritten into a second valid token.
//!
//! # Verification
//!
//! [`KeyRing::verify`] does the cheap checks first, so a forged or garbled
//! token costs no MAC work, and reports which one failed ([`TokenError`]):
//!
//! | check, in order | error |
//! |---|---|
//! | length at most [`MAX_TOKEN_LEN`] | `TooLong` |
//! | `pi1` before the first `.` | `UnsupportedVersion` |
//! | four parts, kid `[A-Za-z0-9_-]{1,32}` | `Malformed` |
//! | the ring holds the kid | `UnknownKey` |
//! | payload and MAC only of `[A-Za-z0-9_-]` (`=` aside) | `Malformed` |
//! | payload and MAC canonical base64url (no `=`, no 4n+1 length, zero trailing bits), MAC 32 bytes, payload at most [`claims::MAX_PAYLOAD_LEN`] bytes | `BadEncoding` |
//! | MAC matches, compared in constant time | `BadSignature` |
//! | payload decodes canonically | `BadPayload` |
//! | purpose is the expected one | `WrongPurpose` |
//! | `now < expires_at` | `Expired` |
//!
//! The alphabet of the payload and the MAC is checked while decoding them,
//! in the one pass over their bytes that decoding needs anyway. Published
//! vectors, valid and invalid with their reasons, are in
//! `shared/tests/vectors/tokens.json`.
//!
//! # Keys
//!
//! The secret Spin variable holds `kid:<base64 key>[,kid:<base64 key>...]`:
//! keys of at least [`MIN_KEY_LEN`] bytes in standard or URL-safe base64,
//! padded or not, kids unique. The first key signs and all verify, so a new
//! key is put first and the old one kept until its links have expired.

pub mod claims;
mod codec;
mod error;
mod keyring;

pub use claims::{Claims, Purpose, Role};
pub use error::{KeyRingError, TokenError};
pub use keyring::KeyRing;

/// The version prefix; it fixes the algorithm (HMAC-SHA256).
pub const VERSION: &str = "pi1";
/// Longest token accepted, in bytes: far above the longest valid token (457
/// bytes), and checked first so oversized input is refused before any work.
pub const MAX_TOKEN_LEN: usize = 2048;
/// Shortest key accepted, in bytes: the HMAC-SHA256 output size (RFC 2104).
pub const MIN_KEY_LEN: usize = 32;
