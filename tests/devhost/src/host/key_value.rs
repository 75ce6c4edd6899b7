//! `spin:key-value@3.0.0`. Its functions are `async` in WIT, so they are
//! implemented with an [`Accessor`] on the store, as the component model asks.

use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, StreamReader};

use super::Host;
use super::spin::key_value::key_value::{Error, HostStore, HostStoreWithStore};

/// An open store: its label, checked against the component's grants when opened.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    /// The label.
    pub label: String,
}

/// A store label the component's `key_value_stores` does not list. Spin
/// answers `access-denied` for it, whatever the label.
pub(super) struct StoreDenied;

impl Host {
    /// Opens `label` if the manifest grants it.
    pub(super) fn open_store(&self, label: &str) -> Result<StoreHandle, StoreDenied> {
        if !self.grants.key_value_stores.iter().any(|s| s == label) {
            return Err(StoreDenied);
        }
        // Spin's store manager opens a store in `block_in_place` too.
        crate::kv::as_spin_store_runs(|| ());
        Ok(StoreHandle {
            label: label.to_string(),
        })
    }

    /// The label behind a handle.
    pub(super) fn store_label(&self, handle: &Resource<StoreHandle>) -> Result<String, String> {
        self.table
            .get(handle)
            .map(|h| h.label.clone())
            .map_err(|e| e.to_string())
    }
}

/// Runs `f` on the host state with the label of `store`.
fn with_label<U, T>(
    accessor: &Accessor<U, HasSelf<Host>>,
    store: &Resource<StoreHandle>,
    f: impl FnOnce(&Host, &str) -> Result<T, String>,
) -> Result<T, Error> {
    accessor.with(|mut access| {
        let host: &mut Host = access.get();
        let label = host.store_label(store).map_err(Error::Other)?;
        f(host, &label).map_err(Error::Other)
    })
}

impl super::spin::key_value::key_value::Host for Host {}

impl HostStore for Host {
    fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<U> HostStoreWithStore<U> for HasSelf<Host> {
    async fn open(
        accessor: &Accessor<U, Self>,
        label: String,
    ) -> Result<Resource<StoreHandle>, Error> {
        accessor.with(|mut access| {
            let host: &mut Host = access.get();
            let handle = host
                .open_store(&label)
                .map_err(|StoreDenied| Error::AccessDenied)?;
            host.table.push(handle).map_err(|_| Error::StoreTableFull)
        })
    }

    async fn get(
        accessor: &Accessor<U, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        with_label(accessor, &store, |h, label| h.kv.get(label, &key))
    }

    async fn set(
        accessor: &Accessor<U, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        with_label(accessor, &store, |h, label| h.kv.set(label, &key, &value))
    }

    async fn delete(
        accessor: &Accessor<U, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<(), Error> {
        with_label(accessor, &store, |h, label| h.kv.delete(label, &key))
    }

    async fn exists(
        accessor: &Accessor<U, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<bool, Error> {
        with_label(accessor, &store, |h, label| {
            h.kv.get(label, &key).map(|v| v.is_some())
        })
    }

    async fn get_keys(
        accessor: &Accessor<U, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let listed = with_label(accessor, &store, |h, label| h.kv.keys(label));
        let (keys, result) = match listed {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(e)),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let done = FutureReader::new(
                &mut access,
                async move { wasmtime::Result::<_>::Ok(result) },
            )?;
            Ok((stream, done))
        })
    }
}
