//! `wasi:keyvalue@0.2.0-draft2`: store, atomics (increment, compare-and-swap) and batch.

use std::collections::HashMap;

use wasmtime::component::Resource;

use super::Host;
use super::key_value::{StoreDenied, StoreHandle};
use super::wasi::keyvalue::atomics::{self, CasError};
use super::wasi::keyvalue::batch;
use super::wasi::keyvalue::store::{self, Error, KeyResponse};

/// A compare-and-swap in progress: the value seen when it began.
#[derive(Debug, Clone)]
pub struct CasHandle {
    label: String,
    key: String,
    seen: Option<Vec<u8>>,
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
        let handle = self
            .table
            .delete(cas)
            .map_err(|e| CasError::StoreError(Error::Other(e.to_string())))?;
        let swapped = self
            .kv
            .swap_if(&handle.label, &handle.key, handle.seen.as_deref(), &value)
            .map_err(|e| CasError::StoreError(Error::Other(e)))?;
        if swapped {
            return Ok(());
        }
        // Implementations must hand back a handle updated to the latest value.
        let seen = self
            .kv
            .get(&handle.label, &handle.key)
            .map_err(|e| CasError::StoreError(Error::Other(e)))?;
        let fresh = self
            .table
            .push(CasHandle { seen, ..handle })
            .map_err(|e| CasError::StoreError(Error::Other(e.to_string())))?;
        Err(CasError::CasFailed(fresh))
    }
}

impl atomics::HostCas for Host {
    fn new(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<Resource<CasHandle>, Error> {
        let label = self.store_label(&bucket).map_err(Error::Other)?;
        let seen = self.kv.get(&label, &key).map_err(Error::Other)?;
        self.table
            .push(CasHandle { label, key, seen })
            .map_err(|e| Error::Other(e.to_string()))
    }

    fn current(&mut self, cas: Resource<CasHandle>) -> Result<Option<Vec<u8>>, Error> {
        self.table
            .get(&cas)
            .map(|c| c.seen.clone())
            .map_err(|e| Error::Other(e.to_string()))
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
        let values = self.kv.get_many(&label, &keys).map_err(Error::Other)?;
        Ok(keys.into_iter().zip(values).collect())
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
