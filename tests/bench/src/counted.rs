//! A devhost backend that counts what is asked of it, so the report can say
//! how many store reads and writes one request makes through the `.wasm`
//! (its rate limits, its piggybacked redelivery and all).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use devhost::kv::{Backend, Cas, KvResult, SwapError};

/// Reads and writes so far.
#[derive(Debug, Default)]
pub struct Counts {
    reads: AtomicU64,
    writes: AtomicU64,
}

impl Counts {
    /// `(reads, writes)` so far: a `get`, a `get-many` and a swap's
    /// `current` are a read each; a `set`, a `delete`, an `increment` and a
    /// swap are a write each.
    pub fn now(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

/// `inner`, counted in `counts`.
pub struct Counted {
    pub inner: Arc<dyn Backend>,
    pub counts: Arc<Counts>,
}

struct CountedCas {
    inner: Box<dyn Cas>,
    counts: Arc<Counts>,
}

impl Cas for CountedCas {
    fn current(&mut self) -> KvResult<Option<Vec<u8>>> {
        self.counts.read();
        self.inner.current()
    }

    fn swap(self: Box<Self>, value: &[u8]) -> Result<(), SwapError> {
        self.counts.write();
        self.inner.swap(value)
    }
}

impl Backend for Counted {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.counts.read();
        self.inner.get(store, key)
    }

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        self.counts.read();
        self.inner.batch_get_many(store, keys)
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.counts.write();
        self.inner.set(store, key, value)
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.counts.write();
        self.inner.delete(store, key)
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.inner.keys(store)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.counts.write();
        self.inner.increment(store, key, delta)
    }

    fn cas(&self, store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        Ok(Box::new(CountedCas {
            inner: self.inner.cas(store, key)?,
            counts: self.counts.clone(),
        }))
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        self.counts.read();
        self.inner.get_many(store, keys)
    }

    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        self.counts.write();
        self.inner.swap_if(store, key, expected, new)
    }
}
