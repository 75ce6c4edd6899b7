//! A backend that writes to two stores at once, so that one seeding puts the
//! same records, tokens included, into the SQLite file and into Redis, each
//! counter in its own store's encoding (8 bytes on SQLite, decimal text on
//! Redis), as each Spin store writes it.

use std::sync::Arc;

use devhost::kv::{Backend, Cas, KvResult};

/// Reads from `primary`; writes to both.
pub struct Tee {
    pub primary: Arc<dyn Backend>,
    pub mirror: Arc<dyn Backend>,
}

impl Backend for Tee {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.primary.get(store, key)
    }

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        self.primary.batch_get_many(store, keys)
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.primary.set(store, key, value)?;
        self.mirror.set(store, key, value)
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.primary.delete(store, key)?;
        self.mirror.delete(store, key)
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.primary.keys(store)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        let n = self.primary.increment(store, key, delta)?;
        let m = self.mirror.increment(store, key, delta)?;
        if n != m {
            return Err(format!(
                "counter {key} is {n} in one store and {m} in the other"
            ));
        }
        Ok(n)
    }

    fn cas(&self, _store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        // Seeding goes through `Direct`, which swaps with `swap_if`.
        Err(format!("no compare-and-swap on {key} through a tee"))
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        self.primary.get_many(store, keys)
    }

    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        let swapped = self.primary.swap_if(store, key, expected, new)?;
        if swapped {
            self.mirror.set(store, key, new)?;
        }
        Ok(swapped)
    }
}
