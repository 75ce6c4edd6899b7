//! The in-memory backend.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Backend, KvResult, counter};

/// Every store in one map, behind one lock (which makes increments and swaps atomic).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    entries: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryBackend {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), Vec<u8>>) -> T) -> KvResult<T> {
        let mut guard = self
            .entries
            .lock()
            .map_err(|_| "store lock poisoned".to_string())?;
        Ok(f(&mut guard))
    }

    /// A sorted copy of one store.
    pub fn snapshot(&self, store: &str) -> BTreeMap<String, Vec<u8>> {
        self.with(|m| {
            m.iter()
                .filter(|((s, _), _)| s == store)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
    }
}

fn k(store: &str, key: &str) -> (String, String) {
    (store.to_string(), key.to_string())
}

impl Backend for MemoryBackend {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|m| m.get(&k(store, key)).cloned())
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        self.with(|m| {
            keys.iter()
                .map(|key| m.get(&k(store, key)).cloned())
                .collect()
        })
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.with(|m| {
            m.insert(k(store, key), value.to_vec());
        })
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.with(|m| {
            m.remove(&k(store, key));
        })
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.with(|m| {
            m.keys()
                .filter(|(s, _)| s == store)
                .map(|(_, key)| key.clone())
                .collect()
        })
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        self.with(|m| {
            let current = m
                .get(&k(store, key))
                .map(|v| counter(v))
                .transpose()?
                .unwrap_or(0);
            let next = current.checked_add(delta).ok_or("counter overflow")?;
            m.insert(k(store, key), next.to_le_bytes().to_vec());
            Ok(next)
        })?
    }

    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        self.with(|m| {
            if m.get(&k(store, key)).map(Vec::as_slice) != expected {
                return false;
            }
            m.insert(k(store, key), new.to_vec());
            true
        })
    }
}
