//! The in-memory store: a map with a version per key, truthful in every
//! report, with call counters and a trace of round trips. Apart as the base
//! the other test stores wrap.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::store::{KeyValue, StoreError};

/// Round trips made so far, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CallCounts {
    /// `get` calls.
    pub get: usize,
    /// `get_many` calls.
    pub get_many: usize,
    /// `set` calls.
    pub set: usize,
    /// `set_many` calls.
    pub set_many: usize,
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
        self.get
            + self.get_many
            + self.set
            + self.set_many
            + self.delete
            + self.increment
            + self.cas
    }
}

#[derive(Debug, Default)]
struct Counters {
    get: AtomicUsize,
    get_many: AtomicUsize,
    set: AtomicUsize,
    set_many: AtomicUsize,
    delete: AtomicUsize,
    increment: AtomicUsize,
    cas: AtomicUsize,
}

/// A thread-safe map with a version per key for compare-and-swap, truthful
/// in every report.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (u64, Vec<u8>)>>,
    next_version: AtomicU64,
    counters: Counters,
    /// Round trips in order, while [`MemoryStore::start_trace`] is on.
    trace: Mutex<Option<Vec<String>>>,
}

/// A compare-and-swap handle: the key and the version seen.
#[derive(Debug)]
pub struct MemoryCas {
    pub(super) key: String,
    pub(super) seen: Option<u64>,
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
            set_many: c.set_many.load(Ordering::SeqCst),
            delete: c.delete.load(Ordering::SeqCst),
            increment: c.increment.load(Ordering::SeqCst),
            cas: c.cas.load(Ordering::SeqCst),
        }
    }

    /// Starts writing down every round trip, as `kind key`, afresh.
    pub fn start_trace(&self) {
        *self.traced() = Some(Vec::new());
    }

    /// The round trips since [`MemoryStore::start_trace`], in order: where a
    /// request's round trips go. Tracing stops.
    pub fn take_trace(&self) -> Vec<String> {
        self.traced().take().unwrap_or_default()
    }

    fn traced(&self) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
        self.trace
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn note(&self, counter: &AtomicUsize, kind: &str, key: &str) {
        counter.fetch_add(1, Ordering::SeqCst);
        if let Some(trace) = self.traced().as_mut() {
            trace.push(format!("{kind} {key}"));
        }
    }

    fn write(&self, key: &str, value: &[u8]) {
        let version = self.version();
        self.entries()
            .insert(key.to_string(), (version, value.to_vec()));
    }
}

impl KeyValue for MemoryStore {
    type Cas = MemoryCas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.note(&self.counters.get, "get", key);
        Ok(self.entries().get(key).map(|(_, v)| v.clone()))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.note(&self.counters.get_many, "get-many", &keys.join(" "));
        let entries = self.entries();
        Ok(keys
            .iter()
            .map(|k| entries.get(k).map(|(_, v)| v.clone()))
            .collect())
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.note(&self.counters.set, "set", key);
        self.write(key, value);
        Ok(())
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        self.note(&self.counters.set_many, "set-many", &keys.join(" "));
        for (key, value) in entries {
            self.write(key, value);
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.note(&self.counters.delete, "delete", key);
        self.entries().remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.note(&self.counters.increment, "increment", key);
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
        self.note(&self.counters.cas, "cas-begin", key);
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
        self.note(&self.counters.cas, "cas-swap", &cas.key);
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
}
