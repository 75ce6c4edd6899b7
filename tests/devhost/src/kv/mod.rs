//! Key-value backends behind one small trait, as Spin's key-value factor has
//! them: in memory, or a SQLite file in Spin's own schema.

mod memory;
mod sqlite;

pub use memory::MemoryBackend;
pub use sqlite::SqliteBackend;

use std::path::Path;
use std::sync::Arc;

/// A backend error, shown to the guest as `other(message)`.
pub type KvResult<T> = Result<T, String>;

/// What the host needs from a store. `store` is the label (`default`).
///
/// Counters (`wasi:keyvalue` `increment`) are 8-byte little-endian `i64` values, as
/// Spin's SQLite backend (`key-value-spin`) stores them.
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

/// Opens `memory` or a SQLite file.
pub fn open(spec: &str) -> anyhow::Result<Arc<dyn Backend>> {
    Ok(if spec == "memory" {
        Arc::new(MemoryBackend::default())
    } else {
        Arc::new(SqliteBackend::open(Path::new(spec))?)
    })
}
