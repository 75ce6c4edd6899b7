//! The store that injects one fault at the `k`-th write (stop, fail,
//! applied but reported failed, lost but reported won) and counts a
//! request's writes. Apart as the heart of the fault-injection tests.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::store::{KeyValue, StoreError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::MemoryStore;
    use futures::executor::block_on;

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
