//! [`KeyValue`] on Spin's key-value store, through `wasi:keyvalue`
//! (store, batch and atomics), which Spin provides for every store label
//! listed in the component's `key_value_stores`.

use spin_sdk::experimental::wasi::keyvalue::{atomics, batch, store};

use super::{KeyValue, StoreError};

/// A Spin key-value store opened by label.
pub struct SpinStore {
    bucket: store::Bucket,
}

impl SpinStore {
    /// Opens the store with `label` (`default` unless the manifest says otherwise).
    pub fn open(label: &str) -> Result<SpinStore, StoreError> {
        store::open(label)
            .map(|bucket| SpinStore { bucket })
            .map_err(backend)
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

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(backend)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let found = batch::get_many(&self.bucket, keys).map_err(backend)?;
        // The interface returns key/value pairs; match them up by key rather
        // than trusting the order or count.
        let mut by_key: std::collections::HashMap<String, Option<Vec<u8>>> =
            found.into_iter().collect();
        Ok(keys.iter().map(|k| by_key.remove(k).flatten()).collect())
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(backend)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(backend)
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
