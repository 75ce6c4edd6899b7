//! An in-memory [`KeyValue`] for native tests, with call counters so tests
//! can show what an operation costs in round trips.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{KeyValue, StoreError};

/// Round trips made so far, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CallCounts {
    /// `get` calls.
    pub get: usize,
    /// `get_many` calls.
    pub get_many: usize,
    /// `set` calls.
    pub set: usize,
    /// `delete` calls.
    pub delete: usize,
    /// `increment` calls.
    pub increment: usize,
    /// `cas_begin` plus `cas_swap` calls.
    pub cas: usize,
}

impl CallCounts {
    /// All round trips.
    pub fn total(&self) -> usize {
        self.get + self.get_many + self.set + self.delete + self.increment + self.cas
    }
}

#[derive(Debug, Default)]
struct Counters {
    get: AtomicUsize,
    get_many: AtomicUsize,
    set: AtomicUsize,
    delete: AtomicUsize,
    increment: AtomicUsize,
    cas: AtomicUsize,
}

/// A thread-safe map with a version per key for compare-and-swap.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (u64, Vec<u8>)>>,
    next_version: std::sync::atomic::AtomicU64,
    counters: Counters,
}

/// A compare-and-swap handle: the key and the version seen.
#[derive(Debug)]
pub struct MemoryCas {
    key: String,
    seen: Option<u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Vec<u8>)>> {
        // A panic while holding the lock cannot leave a half-written entry.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn version(&self) -> u64 {
        self.next_version.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Every key and value, sorted: for "nothing was written" checks.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.entries()
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }

    /// Round trips made so far.
    pub fn calls(&self) -> CallCounts {
        let c = &self.counters;
        CallCounts {
            get: c.get.load(Ordering::SeqCst),
            get_many: c.get_many.load(Ordering::SeqCst),
            set: c.set.load(Ordering::SeqCst),
            delete: c.delete.load(Ordering::SeqCst),
            increment: c.increment.load(Ordering::SeqCst),
            cas: c.cas.load(Ordering::SeqCst),
        }
    }
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl KeyValue for MemoryStore {
    type Cas = MemoryCas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        bump(&self.counters.get);
        Ok(self.entries().get(key).map(|(_, v)| v.clone()))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        bump(&self.counters.get_many);
        let entries = self.entries();
        Ok(keys
            .iter()
            .map(|k| entries.get(k).map(|(_, v)| v.clone()))
            .collect())
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        bump(&self.counters.set);
        let version = self.version();
        self.entries()
            .insert(key.to_string(), (version, value.to_vec()));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        bump(&self.counters.delete);
        self.entries().remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        bump(&self.counters.increment);
        let version = self.version();
        let mut entries = self.entries();
        let current = match entries.get(key) {
            Some((_, bytes)) => {
                let raw: [u8; 8] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt {
                            key: key.to_string(),
                            why: "counter is not 8 bytes".into(),
                        })?;
                i64::from_le_bytes(raw)
            }
            None => 0,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| StoreError::Backend(format!("counter {key} overflows")))?;
        // Like Spin's backends, an increment creates an absent key, even by zero.
        entries.insert(key.to_string(), (version, next.to_le_bytes().to_vec()));
        Ok(next)
    }

    async fn cas_begin(&self, key: &str) -> Result<(MemoryCas, Option<Vec<u8>>), StoreError> {
        bump(&self.counters.cas);
        let entries = self.entries();
        let entry = entries.get(key);
        Ok((
            MemoryCas {
                key: key.to_string(),
                seen: entry.map(|(version, _)| *version),
            },
            entry.map(|(_, v)| v.clone()),
        ))
    }

    async fn cas_swap(&self, cas: MemoryCas, value: &[u8]) -> Result<bool, StoreError> {
        bump(&self.counters.cas);
        let version = self.version();
        let mut entries = self.entries();
        if entries.get(&cas.key).map(|(v, _)| *v) != cas.seen {
            return Ok(false);
        }
        entries.insert(cas.key, (version, value.to_vec()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn cas_fails_after_a_concurrent_write() {
        block_on(async {
            let s = MemoryStore::new();
            let (cas, current) = s.cas_begin("k").await.expect("begin");
            assert_eq!(current, None);
            s.set("k", b"other").await.expect("set");
            assert!(!s.cas_swap(cas, b"mine").await.expect("swap"));
            let (cas, current) = s.cas_begin("k").await.expect("begin");
            assert_eq!(current.as_deref(), Some(&b"other"[..]));
            assert!(s.cas_swap(cas, b"mine").await.expect("swap"));
        });
    }

    #[test]
    fn increment_counts_and_reads() {
        block_on(async {
            let s = MemoryStore::new();
            assert_eq!(crate::store::read_counter(&s, "c").await, Ok(0));
            assert!(
                s.snapshot().is_empty(),
                "reading an absent counter writes nothing"
            );
            assert_eq!(s.increment("c", 1).await, Ok(1));
            assert_eq!(crate::store::read_counter(&s, "c").await, Ok(1));
            assert_eq!(s.increment("c", 5).await, Ok(6));
        });
    }
}
