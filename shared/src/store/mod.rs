//! The seam between the operations and the platform key-value store.
//!
//! [`KeyValue`] is the handful of primitives a backend gives; [`Records`] is
//! the one way the operations use them: typed records with a nonce per write
//! ([`record`]), compare-and-swap that is verified by reading back
//! ([`Records::update`]), lists kept as sequences ([`Sequence`]). Key strings
//! are built only in [`keys`].
//!
//! # What the product relies on, and why
//!
//! Spin's stores do not all keep the `wasi:keyvalue` contract (see
//! `docs/spin-key-value.md`), so the product relies on less than it promises:
//!
//! | operation | relied on | because |
//! |---|---|---|
//! | `get`, `set`, `delete` | single-key, read-your-writes | every backend does this |
//! | `increment` | atomic, creates an absent counter | the only atomic way to take a new number or decide who is first on a new key; applied only to counter keys (Spin's SQLite store panics on a non-counter value) |
//! | `get` of a counter | its value, as 8 bytes little endian (SQLite) or decimal text (Redis) | a page or a limit reads counters without the write that `increment(key, 0)` is on SQLite ([`Records::counter`]) |
//! | compare-and-swap on an **existing** key | writes only if the value is unchanged | true on every backend; the *report* of the outcome is not trusted: Spin's Redis store reports every swap as failed today and would report a lost race as won once that is fixed, so every swap is followed by a read of the key ([`Records::update`]) |
//! | `get-many` | one round trip when it works | Spin's Redis store fails it: [`Records::read_many`] falls back to single gets, at most [`GETS_IN_FLIGHT`] at a time (on Spin, one at a time: `SpinStore`'s calls are all synchronous, see `docs/spin-key-value.md` section 6); results are matched by key, not by position, since Spin's SQLite store omits absent keys |
//! | `set-many` | one round trip | never its atomicity or order (the interface promises neither) |
//!
//! Not relied on: compare-and-swap of an **absent** key (Spin's SQLite store
//! upserts), atomicity across keys, ordering inside a batch.
//!
//! # The write discipline
//!
//! A request may end between any two writes. Every multi-record operation
//! therefore (1) takes the numbers it needs and writes, under keys nobody
//! else can be writing, everything its commit will refer to: outbox items in
//! their `queued` state and placeholders ([`record::placeholder`]) at the
//! list slots it will fill (an operation that then does not commit deletes
//! them); (2) commits with one verified compare-and-swap
//! (or by writing a record under a fresh key), recording in the committed
//! record an intent: what must follow. A transition's commit
//! ([`Records::commit`]) knows itself by its event id in the record's
//! history, since another request may finish the intent, rewriting the
//! record, before the read-back; (3) carries the intent out with
//! idempotent writes and clears it. Any later request that meets an intent,
//! or a placeholder naming one, finishes it ([`crate::ops::App::finish`]).
//!
//! # What a write costs
//!
//! On Spin's default SQLite store every write call (`set`, `delete`,
//! `increment`, a swap; a `set-many` or `delete-many` once) is its own
//! fsync'd transaction under one lock per node, about 1,100 a second: a
//! writing request's cost is its number of write calls, not of keys. A
//! committing operation therefore makes, in this order: one increment per
//! sequence it adds to (all its slots of one sequence from one increment,
//! [`Sequence::take`]), one `set-many` of everything its commit refers to,
//! the commit, the swaps of shared records it must enter (an
//! organization's ledger), one `set-many` of what follows (list entries and
//! its deliveries' outcomes), and the swap that clears its intent.
//! `tests/write_budget.rs` counts each operation's writes.

pub mod keys;
pub mod record;
mod sequence;
#[cfg(feature = "spin")]
mod spin;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use record::Slot;
pub use sequence::{MAX_FILTER_BATCHES, PageRequest, Sequence, Taken, parse_limit};
#[cfg(feature = "spin")]
pub use spin::SpinStore;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemKind};
use crate::random::Entropy;

/// A failure of the store itself (not of the request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error.
    #[error("key-value backend: {0}")]
    Backend(String),
    /// A stored value could not be read back.
    #[error("stored value at {key} is corrupt: {why}")]
    Corrupt {
        /// The key.
        key: String,
        /// The decoding error.
        why: String,
    },
    /// A compare-and-swap kept losing to other writers.
    #[error("too much contention on {0}")]
    Contended(String),
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::Contended(_) => Problem::new(
                ProblemKind::TooManyRequests,
                "too many concurrent changes to this record; retry shortly",
            ),
            other => Problem::new(
                ProblemKind::Internal,
                format!("storage failure; retry, and the request will be completed ({other})"),
            ),
        }
    }
}

/// A record whose history names each transition committed to it by its
/// event id (unique per request), so a request can tell its own commit.
pub trait Journal {
    /// Whether the transition with event id `event` was committed to it.
    fn recorded(&self, event: &str) -> bool;
}

/// The primitives a key-value backend gives.
///
/// A component instance runs on a single thread (Spin hands it up to 16
/// requests at once, interleaved at their awaits), so futures need not be
/// `Send`.
#[allow(async_fn_in_trait)]
pub trait KeyValue {
    /// A handle from [`KeyValue::cas_begin`], consumed by [`KeyValue::cas_swap`].
    type Cas;

    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The values at `keys`, in the order of `keys`.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Writes `value` at `key` unconditionally.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Writes every entry; neither atomic nor ordered.
    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        for (key, value) in entries {
            self.set(key, value).await?;
        }
        Ok(())
    }
    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Removes every key; neither atomic nor ordered.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }
    /// Atomically adds `delta` to the counter at `key` (absent counts as 0) and returns the new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Starts a compare-and-swap on `key`: the current value and a handle.
    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError>;
    /// Writes `value` if `key` has not changed since the handle was taken.
    /// The answer is the backend's report, which [`Records::update`] checks.
    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError>;
}

/// The most single gets [`Records::read_many`] has in flight at once when
/// get-many fails: no request fans out an unbounded number of store calls.
/// (`SpinStore`'s gets are synchronous, so on Spin they run one at a time
/// whatever this is.)
pub const GETS_IN_FLIGHT: usize = 8;

/// How often [`Records::update`] retries before giving up with [`StoreError::Contended`].
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// What a change decided, in [`Records::update`].
#[derive(Debug)]
pub enum Edit<T, R> {
    /// Write `T`; the update answers `R`.
    Write(T, R),
    /// Leave the record as it is; the update answers `R`.
    Keep(R),
}

/// A batch of encoded writes for one [`KeyValue::set_many`].
#[derive(Debug, Default)]
pub struct Writes(Vec<(String, Vec<u8>)>);

impl Writes {
    /// An empty batch.
    pub fn new() -> Writes {
        Writes::default()
    }

    /// Adds raw bytes (markers).
    pub fn raw(&mut self, key: String, bytes: Vec<u8>) {
        self.0.push((key, bytes));
    }

    /// Whether nothing is in the batch.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Typed records over a [`KeyValue`]: the only way the operations touch the store.
pub struct Records<'a, S> {
    kv: &'a S,
    random: &'a dyn Entropy,
}

impl<S> Clone for Records<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Records<'_, S> {}

impl<'a, S: KeyValue> Records<'a, S> {
    /// Records in `kv`, with write nonces from `random`.
    pub fn new(kv: &'a S, random: &'a dyn Entropy) -> Records<'a, S> {
        Records { kv, random }
    }

    /// The backend.
    pub fn kv(&self) -> &'a S {
        self.kv
    }

    /// `value` encoded with a fresh nonce.
    pub fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, StoreError> {
        record::encode(value, &self.random.hex(8))
    }

    /// Adds `value` at `key` to a batch.
    pub fn stage<T: Serialize>(
        &self,
        writes: &mut Writes,
        key: String,
        value: &T,
    ) -> Result<(), StoreError> {
        writes.0.push((key, self.encode(value)?));
        Ok(())
    }

    /// What `key` holds.
    pub async fn slot<T: DeserializeOwned>(&self, key: &str) -> Result<Slot<T>, StoreError> {
        record::decode(key, self.kv.get(key).await?.as_deref())
    }

    /// The values at `keys`, in order: in one round trip where the
    /// backend's get-many works, else (Spin's Redis store fails it) by single
    /// gets, at most [`GETS_IN_FLIGHT`] at a time.
    pub async fn read_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.len() > 1
            && let Ok(found) = self.kv.get_many(keys).await
        {
            return Ok(found);
        }
        let mut found = Vec::with_capacity(keys.len());
        for batch in keys.chunks(GETS_IN_FLIGHT) {
            found.extend(
                futures::future::try_join_all(batch.iter().map(|key| self.kv.get(key))).await?,
            );
        }
        Ok(found)
    }

    /// What `keys` hold, in order, in one round trip where the store allows.
    pub async fn slots<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<Slot<T>>, StoreError> {
        let found = self.read_many(keys).await?;
        keys.iter()
            .zip(found)
            .map(|(key, value)| record::decode(key, value.as_deref()))
            .collect()
    }

    /// The record at a key that never holds markers.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        record_only(key, self.slot(key).await?)
    }

    /// Writes a record unconditionally: under a key nobody else writes (a
    /// fresh slot), or a record no change can race (a final state).
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.kv.set(key, &self.encode(value)?).await
    }

    /// Deletes slots taken by an operation that did not commit, in one round
    /// trip (nothing if there are none). Only that operation ever wrote them.
    pub async fn release(&self, keys: &[String]) -> Result<(), StoreError> {
        match keys {
            [] => Ok(()),
            [key] => self.kv.delete(key).await,
            _ => self.kv.delete_many(keys).await,
        }
    }

    /// Writes a batch in one round trip (nothing if it is empty).
    pub async fn put_all(&self, writes: Writes) -> Result<(), StoreError> {
        match writes.0.len() {
            0 => Ok(()),
            1 => {
                let (key, value) = &writes.0[0];
                self.kv.set(key, value).await
            }
            _ => self.kv.set_many(&writes.0).await,
        }
    }

    /// Atomically changes the record at `key`.
    ///
    /// `change` sees the current record (or `None`) and decides; when a
    /// concurrent writer gets in first, it runs again on the newer record, so
    /// exactly one of many racing requests makes a given transition. The
    /// swap's report is not trusted: the key is read back, and the update
    /// succeeded if it holds this request's bytes (unique by their nonce).
    /// A later round that finds one of this call's earlier writes in place
    /// (a success reported as a failure, or a read-back that failed) takes it
    /// as the success it was.
    pub async fn update<T, R>(
        &self,
        key: &str,
        mut change: impl FnMut(Option<T>) -> Result<Edit<T, R>, Problem>,
    ) -> Result<R, Problem>
    where
        T: Serialize + DeserializeOwned,
    {
        let mut written: Vec<(Vec<u8>, R)> = Vec::new();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (cas, current) = self.kv.cas_begin(key).await?;
            if let Some(i) = current
                .as_deref()
                .and_then(|cur| written.iter().position(|(mine, _)| mine == cur))
            {
                return Ok(written.swap_remove(i).1);
            }
            let current = decode_record(key, current.as_deref())?;
            let (next, result) = match change(current)? {
                Edit::Keep(result) => return Ok(result),
                Edit::Write(next, result) => (next, result),
            };
            let bytes = self.encode(&next)?;
            // Whatever the swap reports (or whether it errs), the key says
            // what happened; a failed read-back is settled by the next round.
            let _reported = self.kv.cas_swap(cas, &bytes).await;
            if let Ok(Some(stored)) = self.kv.get(key).await
                && stored == bytes
            {
                return Ok(result);
            }
            written.push((bytes, result));
        }
        Err(StoreError::Contended(key.to_string()).into())
    }

    /// The commit of the transition with event id `event` to the record at
    /// `key`: an [`update`](Records::update) in which a round that finds the
    /// transition already recorded answers `done` of the record as it
    /// stands, without deciding again. That record is this call's own swap,
    /// whose bytes another request replaced in finishing what the commit
    /// owed before this one could read them back; deciding again would
    /// refuse the transition as made and throw away what it prepared.
    pub async fn commit<T, R>(
        &self,
        key: &str,
        event: &str,
        mut change: impl FnMut(Option<T>) -> Result<Edit<T, R>, Problem>,
        mut done: impl FnMut(T) -> R,
    ) -> Result<R, Problem>
    where
        T: Journal + Serialize + DeserializeOwned,
    {
        self.update(key, |current: Option<T>| match current {
            Some(record) if record.recorded(event) => Ok(Edit::Keep(done(record))),
            other => change(other),
        })
        .await
    }

    /// Reads a counter without writing anything, in one round trip.
    ///
    /// Spin's SQLite and Redis stores encode counters differently (8 bytes
    /// little endian, decimal text); [`record::counter_value`] reads both.
    /// A value in neither form (a store that encodes counters some other
    /// way) is read with the atomic `increment(key, 0)`; the key is present,
    /// so that creates nothing.
    pub async fn counter(&self, key: &str) -> Result<u64, StoreError> {
        match record::counter_value(self.kv.get(key).await?.as_deref()) {
            u64::MAX => Ok(self.kv.increment(key, 0).await?.max(0) as u64),
            value => Ok(value),
        }
    }

    /// Reads many counters in one round trip (absent ones are zero), without
    /// writing anything.
    pub async fn counters(&self, keys: &[String]) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .read_many(keys)
            .await?
            .iter()
            .map(|v| record::counter_value(v.as_deref()))
            .collect())
    }

    /// Adds one to the counter at `key`: the first caller gets 1. The only
    /// first-writer-wins decision on a new key the product makes.
    pub async fn claim(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self.kv.increment(key, 1).await?.max(1) as u64)
    }
}

/// What `found`, read at a key that never holds markers, holds: a record,
/// or a corrupt-store error for a marker.
pub(crate) fn decode_record<T: DeserializeOwned>(
    key: &str,
    found: Option<&[u8]>,
) -> Result<Option<T>, StoreError> {
    record_only(key, record::decode(key, found)?)
}

/// A record, or a corrupt-store error for a marker where none belongs.
fn record_only<T>(key: &str, slot: Slot<T>) -> Result<Option<T>, StoreError> {
    match slot {
        Slot::Absent => Ok(None),
        Slot::Record(r) => Ok(Some(r)),
        Slot::Pending(_) => Err(StoreError::Corrupt {
            key: key.to_string(),
            why: "a marker where a record belongs".into(),
        }),
    }
}

impl<K: KeyValue + ?Sized> KeyValue for &K {
    type Cas = K::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(keys).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set(key, value).await
    }
    async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        (**self).set_many(entries).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        (**self).delete_many(keys).await
    }
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        (**self).increment(key, delta).await
    }
    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        (**self).cas_begin(key).await
    }
    async fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        (**self).cas_swap(cas, value).await
    }
}
