//! The seam between operations and the platform key-value store.
//!
//! [`KeyValue`] is the handful of primitives the operations need. Every state
//! change of a record goes through [`update`], a compare-and-swap loop, so two
//! racing requests can never both win; counters use the store's atomic
//! increment. Key strings are built only in [`keys`].

pub mod keys;
mod memory;
#[cfg(feature = "spin")]
mod spin;

pub use memory::{CallCounts, MemoryStore};
#[cfg(feature = "spin")]
pub use spin::SpinStore;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemKind};

/// A failure of the store itself (not of the request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error.
    #[error("key-value backend: {0}")]
    Backend(String),
    /// A stored value could not be read back.
    #[error("stored value at {key} is corrupt: {why}")]
    Corrupt {
        /// The key.
        key: String,
        /// The decoding error.
        why: String,
    },
    /// A compare-and-swap kept losing to other writers.
    #[error("too much contention on {0}")]
    Contended(String),
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::Contended(_) => Problem::new(
                ProblemKind::TooManyRequests,
                "too many concurrent changes to this record; retry shortly",
            ),
            other => Problem::new(
                ProblemKind::Internal,
                format!("storage failure; nothing was changed by this request ({other})"),
            ),
        }
    }
}

/// The primitives the operations need from a key-value store.
///
/// Components run one request per instance on a single thread, so futures
/// need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait KeyValue {
    /// A handle from [`KeyValue::cas_begin`], consumed by [`KeyValue::cas_swap`].
    type Cas;

    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The values at `keys`, in order, in one round trip.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Writes `value` at `key` unconditionally.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Atomically adds `delta` to the counter at `key` (absent counts as 0) and returns the new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Starts a compare-and-swap on `key`: the current value and a handle.
    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError>;
    /// Writes `value` if `key` has not changed since the handle was taken; `false` if it has.
    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError>;
}

/// How often [`update`] retries before giving up with [`StoreError::Contended`].
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// Decodes what a read found at `key`; absent stays `None`, and a record that
/// does not decode is [`StoreError::Corrupt`], naming the key.
pub(crate) fn decode_found<T: DeserializeOwned>(
    key: &str,
    found: Option<Vec<u8>>,
) -> Result<Option<T>, StoreError> {
    found
        .map(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: key.to_string(),
                why: e.to_string(),
            })
        })
        .transpose()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(format!("cannot encode record: {e}")))
}

/// Reads a JSON record.
pub async fn get_json<T: DeserializeOwned>(
    store: &impl KeyValue,
    key: &str,
) -> Result<Option<T>, StoreError> {
    decode_found(key, store.get(key).await?)
}

/// Reads JSON records in one round trip; absent keys are skipped.
pub async fn get_many_json<T: DeserializeOwned>(
    store: &impl KeyValue,
    keys: &[String],
) -> Result<Vec<T>, StoreError> {
    let values = store.get_many(keys).await?;
    keys.iter()
        .zip(values)
        .filter_map(|(key, value)| decode_found(key, value).transpose())
        .collect()
}

/// Writes a JSON record unconditionally (records nobody else can know yet, or immutable ones).
pub async fn put_json<T: Serialize>(
    store: &impl KeyValue,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    store.set(key, &encode(value)?).await
}

/// Writes `value` at `key` only if `key` is absent. `false` if it exists.
pub async fn insert_new<T: Serialize>(
    store: &impl KeyValue,
    key: &str,
    value: &T,
) -> Result<bool, StoreError> {
    let (cas, current) = store.cas_begin(key).await?;
    if current.is_some() {
        return Ok(false);
    }
    store.cas_swap(cas, &encode(value)?).await
}

/// Reads a counter without writing anything.
///
/// Backends encode counters differently (Spin's SQLite and Redis stores do
/// not agree), so the value is read with the atomic `increment(key, 0)`. That
/// call creates an absent key, which a read must not do: absence is checked
/// first, and an absent counter is zero.
pub async fn read_counter(store: &impl KeyValue, key: &str) -> Result<u64, StoreError> {
    if store.get(key).await?.is_none() {
        return Ok(0);
    }
    Ok(store.increment(key, 0).await?.max(0) as u64)
}

/// Takes the next number of a sequence (1, 2, 3, ...).
pub async fn next_in_sequence(store: &impl KeyValue, key: &str) -> Result<u64, StoreError> {
    Ok(store.increment(key, 1).await?.max(1) as u64)
}

/// Atomically changes the JSON record at `key`.
///
/// `change` sees the current record (or `None`) and either returns the record
/// to write plus a result, or a problem that aborts without writing. When a
/// concurrent writer gets in first, `change` runs again on the newer record,
/// so exactly one of many racing requests can make a given transition.
pub async fn update<T, R>(
    store: &impl KeyValue,
    key: &str,
    mut change: impl FnMut(Option<T>) -> Result<(T, R), Problem>,
) -> Result<(T, R), Problem>
where
    T: Serialize + DeserializeOwned,
{
    for _ in 0..MAX_CAS_ATTEMPTS {
        let (cas, current) = store.cas_begin(key).await?;
        let current = decode_found(key, current)?;
        let (next, result) = change(current)?;
        if store.cas_swap(cas, &encode(&next)?).await? {
            return Ok((next, result));
        }
    }
    Err(StoreError::Contended(key.to_string()).into())
}

impl<K: KeyValue + ?Sized> KeyValue for &K {
    type Cas = K::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        (**self).increment(key, delta).await
    }
    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        (**self).cas_begin(key).await
    }
    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        (**self).cas_swap(cas, value).await
    }
}
