//! How records are stored: JSON objects that carry the nonce of the write
//! that made them, and two markers that are not records.
//!
//! The nonce (`"_w"`, first member) makes every written value unique, so a
//! compare-and-swap can be verified by reading the key back: if the bytes
//! there are the bytes this request wrote, this request's write is the one
//! stored, whatever the store reported (see [`super::Records::update`]).
//! Readers ignore the member: record types do not deny unknown fields.
//!
//! A placeholder, `~pending <key>`, is written before a commit at a key the
//! commit will fill; `<key>` is the committed record's key, whose intent says
//! what belongs here (see [`crate::ops::App::finish`]). It begins with `~`,
//! which no JSON object does, so telling it apart costs one byte comparison.
//! A slot whose operation did not commit is deleted.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// What a key holds, as the record layer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot<T> {
    /// Nothing.
    Absent,
    /// A placeholder: the commit recorded at this key fills it.
    Pending(String),
    /// A record.
    Record(T),
}

impl<T> Slot<T> {
    /// The record, if this is one.
    pub fn record(self) -> Option<T> {
        match self {
            Slot::Record(r) => Some(r),
            _ => None,
        }
    }
}

const PENDING: &[u8] = b"~pending ";

/// The bytes of a placeholder naming the commit at `commit_key`.
pub fn placeholder(commit_key: &str) -> Vec<u8> {
    [PENDING, commit_key.as_bytes()].concat()
}

/// `value` as JSON with `"_w":"<nonce>"` as its first member.
pub fn encode<T: Serialize>(value: &T, nonce: &str) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode record: {e}")))?;
    let Some(rest) = json.strip_prefix(b"{") else {
        return Err(StoreError::Backend(
            "cannot encode record: not a JSON object".into(),
        ));
    };
    let mut out = Vec::with_capacity(json.len() + nonce.len() + 8);
    out.extend_from_slice(b"{\"_w\":\"");
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'"');
    if rest != b"}" {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// A counter as either Spin store writes it (8 bytes little endian on
/// SQLite, decimal text on Redis); `None` for what is not one.
pub fn counter(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(bytes).ok()?.parse().ok()
    } else {
        <[u8; 8]>::try_from(bytes).ok().map(i64::from_le_bytes)
    }
}

/// A counter's value ([`counter`]), read without the increment that would
/// create it: none is 0, a negative one 0, what is not a counter `u64::MAX`.
pub fn counter_value(bytes: Option<&[u8]>) -> u64 {
    match bytes {
        None => 0,
        Some(b) => counter(b).map_or(u64::MAX, |v| v.max(0) as u64),
    }
}

/// Reads what `key` holds.
pub fn decode<T: DeserializeOwned>(key: &str, found: Option<&[u8]>) -> Result<Slot<T>, StoreError> {
    let Some(bytes) = found else {
        return Ok(Slot::Absent);
    };
    if bytes.first() == Some(&b'~') {
        if let Some(commit) = bytes.strip_prefix(PENDING) {
            return String::from_utf8(commit.to_vec())
                .map(Slot::Pending)
                .map_err(|_| corrupt(key, "placeholder is not UTF-8"));
        }
        return Err(corrupt(key, "unknown marker"));
    }
    serde_json::from_slice(bytes)
        .map(Slot::Record)
        .map_err(|e| corrupt(key, &e.to_string()))
}

fn corrupt(key: &str, why: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_read_as_either_store_writes_them() {
        assert_eq!(counter_value(None), 0);
        assert_eq!(counter_value(Some(&7i64.to_le_bytes())), 7);
        assert_eq!(counter_value(Some(b"12")), 12);
        assert_eq!(counter_value(Some(b"junk")), u64::MAX);
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct R {
        a: u32,
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Empty {}

    #[test]
    fn the_nonce_is_the_first_member_and_readers_ignore_it() {
        let bytes = encode(&R { a: 7 }, "n1").expect("encode");
        assert_eq!(bytes, br#"{"_w":"n1","a":7}"#);
        assert_eq!(decode::<R>("k", Some(&bytes)), Ok(Slot::Record(R { a: 7 })));
        let empty = encode(&Empty {}, "n2").expect("encode");
        assert_eq!(empty, br#"{"_w":"n2"}"#);
        assert_eq!(
            decode::<Empty>("k", Some(&empty)),
            Ok(Slot::Record(Empty {}))
        );
        assert!(encode(&3u8, "n").is_err(), "only objects are records");
    }

    #[test]
    fn markers_are_not_records() {
        assert_eq!(decode::<R>("k", None), Ok(Slot::Absent));
        assert_eq!(
            decode::<R>("k", Some(&placeholder("p/a/inv/3"))),
            Ok(Slot::Pending("p/a/inv/3".into()))
        );
        assert!(matches!(
            decode::<R>("k", Some(b"~what")),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode::<R>("k", Some(b"{not json")),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
