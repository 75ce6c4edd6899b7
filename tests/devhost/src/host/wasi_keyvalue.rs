//! `wasi:keyvalue@0.2.0-draft2`: store, atomics (increment, compare-and-swap) and batch.
//!
//! Compare-and-swap and `get-many` go through the backend as Spin's
//! `factor-key-value` host drives its stores: `Cas::new` begins a backend
//! CAS, `current` asks it (each call, as Spin), `swap` swaps it, and a swap
//! that reports `cas-failed` hands back a new CAS on the same key on which
//! `current` has been called. An empty `get-many` is answered without asking
//! the store. What the store then does follows its [`KvSemantics`](crate::kv::KvSemantics).

use std::collections::HashMap;

use wasmtime::component::Resource;

use super::Host;
use super::key_value::{StoreDenied, StoreHandle};
use super::wasi::keyvalue::atomics::{self, CasError};
use super::wasi::keyvalue::batch;
use super::wasi::keyvalue::store::{self, Error, KeyResponse};
use crate::kv::{Cas, SwapError};

/// A compare-and-swap in progress: the backend's CAS and what it is on.
pub struct CasHandle {
    label: String,
    key: String,
    cas: Box<dyn Cas>,
}

impl std::fmt::Debug for CasHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CasHandle")
            .field("label", &self.label)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl store::Host for Host {
    fn open(&mut self, identifier: String) -> Result<Resource<StoreHandle>, Error> {
        let handle = self
            .open_store(&identifier)
            .map_err(|StoreDenied| Error::AccessDenied)?;
        self.table
            .push(handle)
            .map_err(|e| Error::Other(e.to_string()))
    }
}

impl store::HostBucket for Host {
    fn get(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        self.kv.get(&label, &key).map_err(Error::Other)
    }

    fn set(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        self.kv.set(&label, &key, &value).map_err(Error::Other)
    }

    fn delete(&mut self, bucket: Resource<StoreHandle>, key: String) -> Result<(), Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        self.kv.delete(&label, &key).map_err(Error::Other)
    }

    fn exists(&mut self, bucket: Resource<StoreHandle>, key: String) -> Result<bool, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        self.kv
            .get(&label, &key)
            .map(|v| v.is_some())
            .map_err(Error::Other)
    }

    fn list_keys(
        &mut self,
        bucket: Resource<StoreHandle>,
        cursor: Option<String>,
    ) -> Result<KeyResponse, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        let mut keys = self.kv.keys(&label).map_err(Error::Other)?;
        keys.sort();
        if let Some(after) = cursor {
            keys.retain(|k| *k > after);
        }
        Ok(KeyResponse { keys, cursor: None })
    }

    fn drop(&mut self, bucket: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for Host {
    fn increment(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
        delta: i64,
    ) -> Result<i64, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        self.kv.increment(&label, &key, delta).map_err(Error::Other)
    }

    fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> Result<(), CasError> {
        let store_error = |e: String| CasError::StoreError(Error::Other(e));
        let CasHandle { label, key, cas } = self
            .table
            .delete(cas)
            .map_err(|e| store_error(e.to_string()))?;
        match cas.swap(&value) {
            Ok(()) => Ok(()),
            Err(SwapError::Other(e)) => Err(store_error(e)),
            Err(SwapError::CasFailed(_)) => {
                // As Spin's host: a new CAS on the key, `current` called on it.
                let mut fresh = self.kv.cas(&label, &key).map_err(store_error)?;
                fresh.current().map_err(store_error)?;
                let fresh = self
                    .table
                    .push(CasHandle {
                        label,
                        key,
                        cas: fresh,
                    })
                    .map_err(|e| store_error(e.to_string()))?;
                Err(CasError::CasFailed(fresh))
            }
        }
    }
}

impl atomics::HostCas for Host {
    fn new(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<Resource<CasHandle>, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        // Spin's host only begins the CAS here; the guest calls `current`.
        let cas = self.kv.cas(&label, &key).map_err(Error::Other)?;
        self.table
            .push(CasHandle { label, key, cas })
            .map_err(|e| Error::Other(e.to_string()))
    }

    fn current(&mut self, cas: Resource<CasHandle>) -> Result<Option<Vec<u8>>, Error> {
        self.table
            .get_mut(&cas)
            .map_err(|e| Error::Other(e.to_string()))?
            .cas
            .current()
            .map_err(Error::Other)
    }

    fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for Host {
    fn get_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.kv.batch_get_many(&label, &keys).map_err(Error::Other)
    }

    fn set_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        for (key, value) in key_values {
            self.kv.set(&label, &key, &value).map_err(Error::Other)?;
        }
        Ok(())
    }

    fn delete_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        keys: Vec<String>,
    ) -> Result<(), Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        let unique: HashMap<&String, ()> = keys.iter().map(|k| (k, ())).collect();
        for key in unique.keys() {
            self.kv.delete(&label, key).map_err(Error::Other)?;
        }
        Ok(())
    }
}
