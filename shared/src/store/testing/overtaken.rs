//! The store on which another request's work runs right after a chosen
//! swap lands, before this request reads back what it wrote. Apart because
//! it injects a race, not a fault.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::store::{KeyValue, StoreError};

/// Another request's work, as [`OvertakenStore`] runs it.
pub type Others<'h> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'h>> + 'h>;

/// A store on which `others` run right after its `k`-th compare-and-swap, if
/// that swap landed: another request finishes the record (as any reader of
/// an unfinished one does) before this one reads back what it wrote.
pub struct OvertakenStore<'h, S> {
    inner: S,
    at: usize,
    swaps: AtomicUsize,
    fired: AtomicBool,
    others: Others<'h>,
}

impl<'h, S: KeyValue> OvertakenStore<'h, S> {
    /// `inner`, overtaken by `others` after swap `at` (from 1).
    pub fn new(inner: S, at: usize, others: Others<'h>) -> OvertakenStore<'h, S> {
        OvertakenStore {
            inner,
            at,
            swaps: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            others,
        }
    }

    /// How many swaps were asked for so far.
    pub fn swaps(&self) -> usize {
        self.swaps.load(Ordering::SeqCst)
    }

    /// Whether the others ran (swap `at` landed).
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl<S: KeyValue> KeyValue for OvertakenStore<'_, S> {
    type Cas = S::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.set_many(entries).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }

    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        self.inner.cas_begin(key).await
    }

    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        let k = self.swaps.fetch_add(1, Ordering::SeqCst) + 1;
        let landed = self.inner.cas_swap(cas, value).await?;
        if landed && k == self.at {
            self.fired.store(true, Ordering::SeqCst);
            (self.others)().await;
        }
        Ok(landed)
    }
}
