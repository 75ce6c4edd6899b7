//! The in-memory backend. It stands in for Spin's in-memory store, which is
//! Spin's SQLite store (`key-value-spin`) on an in-memory database, so under
//! the Spin modes it answers `get-many` and compare-and-swap as that store
//! does; see [`KvSemantics`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::{Backend, Cas, KvResult, KvSemantics, SwapError, counter};

type Entries = HashMap<(String, String), Vec<u8>>;

/// Every store in one map, behind one lock (which makes increments and swaps atomic).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    entries: Arc<Mutex<Entries>>,
    semantics: KvSemantics,
}

/// One operation, as Spin runs one on its in-memory store ([`super::as_spin_store_runs`]).
fn with<T>(entries: &Mutex<Entries>, f: impl FnOnce(&mut Entries) -> T) -> KvResult<T> {
    super::as_spin_store_runs(|| {
        let mut guard = entries
            .lock()
            .map_err(|_| "store lock poisoned".to_string())?;
        Ok(f(&mut guard))
    })
}

impl MemoryBackend {
    /// An empty store answering as `semantics` says.
    pub fn new(semantics: KvSemantics) -> MemoryBackend {
        MemoryBackend {
            entries: Arc::default(),
            semantics,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> KvResult<T> {
        with(&self.entries, f)
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

/// A compare-and-swap. Spin modes: as `key-value-spin`, the swap compares
/// with the value `current` saw and, if it saw none, writes unconditionally.
/// Correct: the value seen when the CAS began (or by the latest `current`),
/// absence included, must still be there.
struct MemoryCas {
    entries: Arc<Mutex<Entries>>,
    store: String,
    key: String,
    seen: Option<Vec<u8>>,
    semantics: KvSemantics,
}

impl Cas for MemoryCas {
    fn current(&mut self) -> KvResult<Option<Vec<u8>>> {
        let value = with(&self.entries, |m| {
            m.get(&k(&self.store, &self.key)).cloned()
        })?;
        self.seen.clone_from(&value);
        Ok(value)
    }

    fn swap(self: Box<Self>, value: &[u8]) -> Result<(), SwapError> {
        let written = with(&self.entries, |m| {
            let key = k(&self.store, &self.key);
            let unconditional = self.semantics != KvSemantics::Correct && self.seen.is_none();
            if !unconditional && m.get(&key) != self.seen.as_ref() {
                return false;
            }
            m.insert(key, value.to_vec());
            true
        })
        .map_err(SwapError::Other)?;
        if written {
            Ok(())
        } else {
            Err(SwapError::CasFailed("failed to update 1 row".to_string()))
        }
    }
}

impl Backend for MemoryBackend {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|m| m.get(&k(store, key)).cloned())
    }

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        match self.semantics {
            // `SELECT key, value ... WHERE key IN rarray(?)`: each key that
            // exists, once, in the primary key's order.
            KvSemantics::Spin | KvSemantics::SpinNext => self.with(|m| {
                keys.iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .filter_map(|key| {
                        m.get(&k(store, key))
                            .map(|v| (key.clone(), Some(v.clone())))
                    })
                    .collect()
            }),
            KvSemantics::Correct => Ok(keys
                .iter()
                .cloned()
                .zip(self.get_many(store, keys)?)
                .collect()),
        }
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

    fn cas(&self, store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        let seen = match self.semantics {
            KvSemantics::Spin | KvSemantics::SpinNext => None,
            KvSemantics::Correct => self.get(store, key)?,
        };
        Ok(Box::new(MemoryCas {
            entries: self.entries.clone(),
            store: store.to_string(),
            key: key.to_string(),
            seen,
            semantics: self.semantics,
        }))
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
