//! Key-value backends behind one small trait, as Spin's key-value factor has
//! them: in memory, a SQLite file in Spin's own schema, or Redis; and
//! [`Stores`], which maps store labels to backends as a runtime config file
//! does.

mod memory;
mod redis;
mod sqlite;

pub use self::memory::MemoryBackend;
pub use self::redis::{RedisBackend, redact_url};
pub use self::sqlite::SqliteBackend;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;

use crate::manifest::Manifest;

/// A backend error, shown to the guest as `other(message)`.
pub type KvResult<T> = Result<T, String>;

/// What the host needs from a store. `store` is the label (`default`).
///
/// Counters (`wasi:keyvalue` `increment`) are stored as each Spin backend
/// stores them: 8-byte little-endian `i64` values in memory and SQLite (as
/// Spin's `key-value-spin`), Redis integers (decimal text, `INCRBY`) in Redis.
/// Guests read counters with `increment(key, 0)`, never by decoding a value.
pub trait Backend: Send + Sync {
    /// The value at `key`.
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>>;
    /// Values at `keys`, in order.
    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>>;
    /// Writes a value.
    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()>;
    /// Removes a key.
    fn delete(&self, store: &str, key: &str) -> KvResult<()>;
    /// Every key of the store.
    fn keys(&self, store: &str) -> KvResult<Vec<String>>;
    /// Atomically adds `delta` (absent counts as 0) and returns the new value.
    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64>;
    /// Atomically writes `new` if the value still equals `expected` (`None`: absent).
    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool>;
}

/// Decodes a counter value.
pub(crate) fn counter(bytes: &[u8]) -> KvResult<i64> {
    bytes
        .try_into()
        .map(i64::from_le_bytes)
        .map_err(|_| "the value is not a counter (8-byte integer)".to_string())
}

/// Whether `spec` names a Redis server rather than a file.
pub fn is_redis_url(spec: &str) -> bool {
    ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| spec.starts_with(scheme))
}

/// Opens `memory`, a Redis URL (`redis://host:port`) or a SQLite file.
pub fn open(spec: &str) -> anyhow::Result<Arc<dyn Backend>> {
    Ok(if spec == "memory" {
        Arc::new(MemoryBackend::default())
    } else if is_redis_url(spec) {
        Arc::new(RedisBackend::connect(spec)?)
    } else {
        Arc::new(SqliteBackend::open(Path::new(spec))?)
    })
}

/// Store labels mapped to backends, as Spin's runtime config maps them: each
/// configured label has its own backend, `default` always exists, and any
/// other label is undefined.
pub struct Stores {
    by_label: BTreeMap<String, Arc<dyn Backend>>,
}

impl Stores {
    /// `by_label`, with `default` added if it is missing.
    pub fn new(
        mut by_label: BTreeMap<String, Arc<dyn Backend>>,
        default: impl FnOnce() -> anyhow::Result<Arc<dyn Backend>>,
    ) -> anyhow::Result<Stores> {
        if !by_label.contains_key(DEFAULT_LABEL) {
            by_label.insert(DEFAULT_LABEL.to_string(), default()?);
        }
        Ok(Stores { by_label })
    }

    /// The configured labels, sorted.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.by_label.keys().map(String::as_str)
    }

    /// Fails, as Spin does at start-up, if a component of `manifest` lists a
    /// store label that is not configured.
    pub fn check(&self, manifest: &Manifest) -> anyhow::Result<()> {
        for (id, component) in &manifest.components {
            for label in &component.key_value_stores {
                if !self.by_label.contains_key(label) {
                    bail!(
                        "component {id} uses key-value store {label:?}, which is not defined: \
                         add [key_value_store.{label}] to the runtime config file"
                    );
                }
            }
        }
        Ok(())
    }

    fn backend(&self, store: &str) -> KvResult<&Arc<dyn Backend>> {
        self.by_label
            .get(store)
            .ok_or_else(|| format!("no key-value store {store:?} is configured"))
    }
}

/// The store every Spin app has.
pub const DEFAULT_LABEL: &str = "default";

impl Backend for Stores {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.backend(store)?.get(store, key)
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        self.backend(store)?.get_many(store, keys)
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.backend(store)?.set(store, key, value)
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.backend(store)?.delete(store, key)
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.backend(store)?.keys(store)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.backend(store)?.increment(store, key, delta)
    }

    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        self.backend(store)?.swap_if(store, key, expected, new)
    }
}
