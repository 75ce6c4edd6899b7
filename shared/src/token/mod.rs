//! Signed, stateless tokens for invite links, approval links and access.
//!
//! A token is `pi1.<kid>.<payload>.<mac>`:
//! - `pi1` is the version, and the version alone fixes the algorithm
//!   (HMAC-SHA256); nothing in a token can choose another one;
//! - `kid` names the key in the [`KeyRing`] (`[A-Za-z0-9_-]{1,32}`);
//! - `payload` is the [`Claims`] in a compact binary form ([`claims`]),
//!   base64url without padding;
//! - `mac` is HMAC-SHA256 over the ASCII bytes `pi1.<kid>.<payload>`,
//!   base64url without padding (43 characters).
//!
//! [`KeyRing::verify`] does the cheap checks first, so a forged or garbled
//! token costs no MAC work: length cap and alphabet, exactly four parts,
//! version, known kid, canonical base64url (no padding, no stray trailing
//! bits), then the MAC in constant time, then payload, purpose and expiry.

pub mod claims;
mod error;
mod keyring;

pub use claims::{Claims, Purpose, Role};
pub use error::{KeyRingError, TokenError};
pub use keyring::KeyRing;

/// The version prefix.
pub const VERSION: &str = "pi1";
/// Longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 2048;
/// Shortest key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;
