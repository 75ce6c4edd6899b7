//! [`KeyValue`] on Spin's key-value store, through `wasi:keyvalue` (store,
//! batch and atomics), which Spin provides for every store label listed in
//! the component's `key_value_stores`.
//!
//! Every call here is a synchronous import (spin-sdk 7's `wasi:keyvalue`),
//! and nothing here uses `spin:key-value`, whose calls are async. Spin 4.1
//! runs a synchronous import with the instance's store held until it
//! returns (wasmtime's `func_wrap_async`), so an async store call of the
//! same instance that is in flight meanwhile is not polled; on the Redis
//! store both share one connection whose request queue (50 slots, taken in
//! turn) then fills with requests nobody sends, and every store call of the
//! whole node waits for ever (`docs/spin-key-value.md`, section 6). With
//! only synchronous calls an instance never has a store call in flight
//! while it waits, so this cannot happen; the price is that an instance's
//! store calls are made one at a time.

use std::cell::Cell;
use std::collections::HashMap;

use spin_sdk::experimental::wasi::keyvalue::{atomics, batch, store};

use super::{KeyValue, StoreError};

/// A Spin key-value store opened by label.
pub struct SpinStore {
    bucket: store::Bucket,
    /// Set once `get-many` failed in this request (Spin's Redis store sends
    /// `KEYS`), so that the next ones fail at once, without a round trip.
    batch_fails: Cell<bool>,
}

impl SpinStore {
    /// Opens the store with `label` (`default` unless the manifest says otherwise).
    pub async fn open(label: &str) -> Result<SpinStore, StoreError> {
        let bucket = store::open(label).map_err(backend)?;
        Ok(SpinStore {
            bucket,
            batch_fails: Cell::new(false),
        })
    }
}

fn backend(e: store::Error) -> StoreError {
    StoreError::Backend(match e {
        store::Error::NoSuchStore => "no such store".to_string(),
        store::Error::AccessDenied => "access to the store denied".to_string(),
        store::Error::Other(why) => why,
    })
}

impl KeyValue for SpinStore {
    type Cas = atomics::Cas;

    /// A synchronous `wasi:keyvalue` get, never `spin:key-value`'s async one
    /// (see the module documentation).
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(backend)
    }

    /// One `get-many`. Values are matched to keys by name: Spin's SQLite
    /// store leaves absent keys out of its answer.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if self.batch_fails.get() {
            return Err(StoreError::Backend("get-many failed earlier".into()));
        }
        match batch::get_many(&self.bucket, keys) {
            Ok(found) => {
                let mut by_key: HashMap<String, Option<Vec<u8>>> = found.into_iter().collect();
                Ok(keys.iter().map(|k| by_key.remove(k).flatten()).collect())
            }
            Err(e) => {
                let e = backend(e);
                eprintln!("key-value: get-many failed, reading keys one by one instead: {e}");
                self.batch_fails.set(true);
                Err(e)
            }
        }
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(backend)
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        batch::set_many(&self.bucket, entries).map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(backend)
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        batch::delete_many(&self.bucket, keys).map_err(backend)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(backend)
    }

    async fn cas_begin(&self, key: &str) -> Result<(atomics::Cas, Option<Vec<u8>>), StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(backend)?;
        let current = cas.current().map_err(backend)?;
        Ok((cas, current))
    }

    async fn cas_swap(&self, cas: atomics::Cas, value: &[u8]) -> Result<bool, StoreError> {
        match atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(backend(e)),
        }
    }
}
