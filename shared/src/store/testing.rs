//! Stores for native tests (feature `testing`): an in-memory [`KeyValue`]
//! with call counters; [`FaultyStore`], which fails or stops an operation at
//! a chosen write, as a crash, a trap or a timeout would; and
//! [`OvertakenStore`], on which another request runs between a swap and its
//! read-back.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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

/// How a [`SpinLikeStore`] misbehaves: as Spin 4.1's stores do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinLike {
    /// Spin 4.1 on Redis and SQLite at once: get-many of two or more keys
    /// fails, every swap is reported as failed (it writes if the key is
    /// unchanged), a swap of a key seen absent overwrites.
    Spin,
    /// Spin with its Redis `UNWATCH` fixed: every swap is reported as
    /// written, including one that lost.
    SpinNext,
}

/// A truthful store made to answer as Spin's stores do (see
/// `docs/spin-key-value.md`), for native tests of the store seam.
#[derive(Debug)]
pub struct SpinLikeStore<'a> {
    inner: &'a MemoryStore,
    mode: SpinLike,
}

impl<'a> SpinLikeStore<'a> {
    /// `inner`, misbehaving as `mode` says.
    pub fn new(inner: &'a MemoryStore, mode: SpinLike) -> SpinLikeStore<'a> {
        SpinLikeStore { inner, mode }
    }
}

impl KeyValue for SpinLikeStore<'_> {
    type Cas = MemoryCas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.len() >= 2 {
            return Err(StoreError::Backend(
                "wrong number of arguments for 'keys' command".into(),
            ));
        }
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }

    async fn cas_begin(&self, key: &str) -> Result<(MemoryCas, Option<Vec<u8>>), StoreError> {
        self.inner.cas_begin(key).await
    }

    async fn cas_swap(&self, cas: MemoryCas, value: &[u8]) -> Result<bool, StoreError> {
        if cas.seen.is_none() {
            // Spin's SQLite store: an upsert.
            self.inner.set(&cas.key, value).await?;
        } else {
            self.inner.cas_swap(cas, value).await?;
        }
        Ok(self.mode == SpinLike::SpinNext)
    }
}

/// What [`FaultyStore`] does at its chosen write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request ends just before write `k` (from 1): that write and every
    /// later call fail, as after a crash, a trap or a timeout.
    StopBefore(usize),
    /// Write `k` fails with an error and is not applied; the request goes on.
    Fail(usize),
    /// Write `k` is applied but reported as failed: a compare-and-swap
    /// answers `false`, any other write an error (Spin's Redis store today).
    AppliedButReportedFailed(usize),
    /// A compare-and-swap at write `k` is not applied but reported as
    /// written (Spin's Redis store once its UNWATCH is fixed); other writes
    /// at `k` are applied normally.
    LostButReportedWon(usize),
}

impl Fault {
    fn at(self) -> usize {
        match self {
            Fault::StopBefore(k)
            | Fault::Fail(k)
            | Fault::AppliedButReportedFailed(k)
            | Fault::LostButReportedWon(k) => k,
        }
    }
}

/// A store that injects one [`Fault`] at the `k`-th write it is asked to do.
/// Fault points are `set`, each entry of `set_many` and `delete_many`,
/// `delete`, `increment` and `cas_swap`, so a batch can be cut in the middle
/// (the interface promises no atomicity); reads are never faulted, but after
/// [`Fault::StopBefore`] they fail too.
///
/// It also counts write calls as Spin's SQLite store commits them, one
/// transaction each, a `set_many` or `delete_many` once
/// ([`FaultyStore::writes`]): the unit of a request's write budget.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    fault: Option<Fault>,
    points: AtomicUsize,
    writes: AtomicUsize,
    stopped: AtomicBool,
}

/// What happens to one write.
enum Fate {
    Apply,
    Stop,
    Fail,
    ApplyButFail,
    LoseButWin,
}

fn stopped() -> StoreError {
    StoreError::Backend("the request was stopped (injected)".into())
}

fn injected() -> StoreError {
    StoreError::Backend("injected write failure".into())
}

impl<S: KeyValue> FaultyStore<S> {
    /// `inner` with `fault` (or none, to count writes).
    pub fn new(inner: S, fault: Option<Fault>) -> FaultyStore<S> {
        FaultyStore {
            inner,
            fault,
            points: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    /// How many write calls were asked for so far, a `set_many` or
    /// `delete_many` counting once: the store transactions (each fsync'd on
    /// Spin's SQLite store) the request costs.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// How many fault points (single writes, each entry of a batch its
    /// own) were passed so far: the `k` a [`Fault`] can be placed at.
    pub fn points(&self) -> usize {
        self.points.load(Ordering::SeqCst)
    }

    /// Whether the fault was reached.
    pub fn fired(&self) -> bool {
        self.fault.is_some_and(|f| self.points() >= f.at())
    }

    /// One write call begins (a batch counts once).
    fn call(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.stopped.load(Ordering::SeqCst) {
            Err(stopped())
        } else {
            Ok(())
        }
    }

    fn next_write(&self) -> Result<Fate, StoreError> {
        self.alive()?;
        let k = self.points.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(match self.fault {
            Some(f) if f.at() == k => match f {
                Fault::StopBefore(_) => {
                    self.stopped.store(true, Ordering::SeqCst);
                    Fate::Stop
                }
                Fault::Fail(_) => Fate::Fail,
                Fault::AppliedButReportedFailed(_) => Fate::ApplyButFail,
                Fault::LostButReportedWon(_) => Fate::LoseButWin,
            },
            _ => Fate::Apply,
        })
    }

    /// A plain write under the plan.
    async fn write(
        &self,
        apply: impl AsyncFnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self.next_write()? {
            Fate::Stop => Err(stopped()),
            Fate::Fail => Err(injected()),
            Fate::ApplyButFail => {
                apply().await?;
                Err(injected())
            }
            Fate::Apply | Fate::LoseButWin => apply().await,
        }
    }
}

impl<S: KeyValue> KeyValue for FaultyStore<S> {
    type Cas = S::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.alive()?;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.alive()?;
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.call();
        self.write(async || self.inner.set(key, value).await).await
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.call();
        // Entry by entry, so a batch can be cut in the middle.
        for (key, value) in entries {
            self.write(async || self.inner.set(key, value).await)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.call();
        self.write(async || self.inner.delete(key).await).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.call();
        // Key by key, so a batch can be cut in the middle.
        for key in keys {
            self.write(async || self.inner.delete(key).await).await?;
        }
        Ok(())
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.call();
        match self.next_write()? {
            Fate::Stop => Err(stopped()),
            Fate::Fail => Err(injected()),
            Fate::ApplyButFail => {
                self.inner.increment(key, delta).await?;
                Err(injected())
            }
            Fate::Apply | Fate::LoseButWin => self.inner.increment(key, delta).await,
        }
    }

    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        self.alive()?;
        self.inner.cas_begin(key).await
    }

    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        self.call();
        match self.next_write()? {
            Fate::Stop => Err(stopped()),
            Fate::Fail => Err(injected()),
            Fate::ApplyButFail => {
                self.inner.cas_swap(cas, value).await?;
                Ok(false)
            }
            Fate::LoseButWin => Ok(true),
            Fate::Apply => self.inner.cas_swap(cas, value).await,
        }
    }
}

/// Another request's work, as [`OvertakenStore`] runs it.
pub type Others<'h> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'h>> + 'h>;

/// A store on which `others` run right after its `k`-th compare-and-swap, if
/// that swap landed: another request finishes the record (as any reader of
/// an unfinished one does) before this one reads back what it wrote.
pub struct OvertakenStore<'h, S> {
    inner: S,
    at: usize,
    swaps: AtomicUsize,
    fired: AtomicBool,
    others: Others<'h>,
}

impl<'h, S: KeyValue> OvertakenStore<'h, S> {
    /// `inner`, overtaken by `others` after swap `at` (from 1).
    pub fn new(inner: S, at: usize, others: Others<'h>) -> OvertakenStore<'h, S> {
        OvertakenStore {
            inner,
            at,
            swaps: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            others,
        }
    }

    /// How many swaps were asked for so far.
    pub fn swaps(&self) -> usize {
        self.swaps.load(Ordering::SeqCst)
    }

    /// Whether the others ran (swap `at` landed).
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl<S: KeyValue> KeyValue for OvertakenStore<'_, S> {
    type Cas = S::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.inner.get_many(keys).await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value).await
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.set_many(entries).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete_many(keys).await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta).await
    }

    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        self.inner.cas_begin(key).await
    }

    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        let k = self.swaps.fetch_add(1, Ordering::SeqCst) + 1;
        let landed = self.inner.cas_swap(cas, value).await?;
        if landed && k == self.at {
            self.fired.store(true, Ordering::SeqCst);
            (self.others)().await;
        }
        Ok(landed)
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
    fn a_stopped_request_writes_nothing_more_and_reads_nothing() {
        block_on(async {
            let s = MemoryStore::new();
            let f = FaultyStore::new(&s, Some(Fault::StopBefore(2)));
            f.set("a", b"1").await.expect("first write");
            assert!(f.set_many(&[("b".into(), b"2".to_vec())]).await.is_err());
            assert!(f.get("a").await.is_err(), "the request is over");
            assert_eq!(s.snapshot().len(), 1);
            assert!(f.fired());
            assert_eq!((f.writes(), f.points()), (2, 2));
        });
    }

    #[test]
    fn a_batch_is_one_write_and_a_fault_point_per_entry() {
        block_on(async {
            let s = MemoryStore::new();
            let f = FaultyStore::new(&s, None);
            let batch = [
                ("a".to_string(), b"1".to_vec()),
                ("b".into(), b"2".to_vec()),
            ];
            f.set_many(&batch).await.expect("set_many");
            f.delete_many(&["a".into(), "b".into()])
                .await
                .expect("delete_many");
            f.increment("n", 3).await.expect("increment");
            assert_eq!((f.writes(), f.points()), (3, 5));
        });
    }

    #[test]
    fn swaps_can_be_misreported_both_ways() {
        block_on(async {
            let s = MemoryStore::new();
            s.set("k", b"0").await.expect("set");
            let f = FaultyStore::new(&s, Some(Fault::AppliedButReportedFailed(1)));
            let (cas, _) = f.cas_begin("k").await.expect("begin");
            assert_eq!(f.cas_swap(cas, b"1").await, Ok(false));
            assert_eq!(s.get("k").await.expect("get").as_deref(), Some(&b"1"[..]));
            let f = FaultyStore::new(&s, Some(Fault::LostButReportedWon(1)));
            let (cas, _) = f.cas_begin("k").await.expect("begin");
            assert_eq!(f.cas_swap(cas, b"2").await, Ok(true));
            assert_eq!(s.get("k").await.expect("get").as_deref(), Some(&b"1"[..]));
        });
    }
}
