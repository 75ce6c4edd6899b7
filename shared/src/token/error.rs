//! What can go wrong with a token or a key ring.

/// Which check a token failed. For logs: callers show one public answer for
/// all of them except [`TokenError::Expired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`super::MAX_TOKEN_LEN`].
    #[error("token too long")]
    TooLong,
    /// Not four dot-separated parts, a malformed kid, or a payload or MAC
    /// with a character outside the base64url alphabet.
    #[error("token malformed")]
    Malformed,
    /// A version other than `pi1`.
    #[error("unsupported token version")]
    UnsupportedVersion,
    /// A key id the ring does not hold.
    #[error("unknown key id")]
    UnknownKey,
    /// Not canonical base64url without padding, a MAC of the wrong length, or
    /// a payload longer than any valid one.
    #[error("bad encoding")]
    BadEncoding,
    /// The MAC does not match.
    #[error("bad signature")]
    BadSignature,
    /// The payload does not decode (after a valid MAC: a bug or a key leak).
    #[error("bad payload")]
    BadPayload,
    /// A valid token for another purpose.
    #[error("wrong purpose")]
    WrongPurpose,
    /// A valid token past its expiry.
    #[error("expired")]
    Expired,
    /// Claims that cannot be encoded (when signing).
    #[error("invalid claim")]
    InvalidClaim,
}

/// Why a key ring specification was refused. Never shows key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// No entries.
    #[error("the key ring is empty; expected kid:<base64 key>[,kid:<base64 key>...]")]
    Empty,
    /// An entry without `:`.
    #[error("entry {0} is not of the form kid:<base64 key>")]
    NotAPair(usize),
    /// A key id outside `[A-Za-z0-9_-]{1,32}`.
    #[error("entry {0} has an invalid key id (1 to 32 of A-Z a-z 0-9 _ -)")]
    BadKid(usize),
    /// The same key id twice.
    #[error("key id {0} appears twice")]
    DuplicateKid(String),
    /// A key that is not base64.
    #[error("the key of {0} is not base64")]
    NotBase64(String),
    /// A key shorter than [`super::MIN_KEY_LEN`] bytes.
    #[error("the key of {0} is shorter than 32 bytes")]
    TooShort(String),
}
