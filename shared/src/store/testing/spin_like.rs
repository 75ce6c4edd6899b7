//! The memory store made to answer as Spin 4.1's stores do (see
//! `docs/spin-key-value.md`). Apart because it mimics one host's bugs, not
//! faults in general.

use super::{MemoryCas, MemoryStore};
use crate::store::{KeyValue, StoreError};

/// How a [`SpinLikeStore`] misbehaves: as Spin 4.1's stores do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinLike {
    /// Spin 4.1 on Redis and SQLite at once: get-many of two or more keys
    /// fails, every swap is reported as failed (it writes if the key is
    /// unchanged), a swap of a key seen absent overwrites.
    Spin,
    /// Spin with its Redis `UNWATCH` fixed: every swap is reported as
    /// written, including one that lost.
    SpinNext,
}

/// A truthful store made to answer as Spin's stores do (see
/// `docs/spin-key-value.md`), for native tests of the store seam.
#[derive(Debug)]
pub struct SpinLikeStore<'a> {
    inner: &'a MemoryStore,
    mode: SpinLike,
}

impl<'a> SpinLikeStore<'a> {
    /// `inner`, misbehaving as `mode` says.
    pub fn new(inner: &'a MemoryStore, mode: SpinLike) -> SpinLikeStore<'a> {
        SpinLikeStore { inner, mode }
    }
}

impl KeyValue for SpinLikeStore<'_> {
    type Cas = MemoryCas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.len() >= 2 {
            return Err(StoreError::Backend(
                "wrong number of arguments for 'keys' command".into(),
            ));
        }
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }

    async fn cas_begin(&self, key: &str) -> Result<(MemoryCas, Option<Vec<u8>>), StoreError> {
        self.inner.cas_begin(key).await
    }

    async fn cas_swap(&self, cas: MemoryCas, value: &[u8]) -> Result<bool, StoreError> {
        if cas.seen.is_none() {
            // Spin's SQLite store: an upsert.
            self.inner.set(&cas.key, value).await?;
        } else {
            self.inner.cas_swap(cas, value).await?;
        }
        Ok(self.mode == SpinLike::SpinNext)
    }
}
