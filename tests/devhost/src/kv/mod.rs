//! Key-value backends behind one small trait, as Spin's key-value factor has
//! them: in memory, a SQLite file in Spin's own schema, or Redis; and
//! [`Stores`], which maps store labels to backends as a runtime config file
//! does.
//!
//! # Semantics
//!
//! Each backend answers `wasi:keyvalue` batch reads and compare-and-swap as
//! one of the [`KvSemantics`]: by default as Spin's own store of the same
//! kind does today, flaws included, so that the app is tested against what
//! its users get. See [`KvSemantics`] for what each mode does.

mod memory;
mod redis;
mod sqlite;

pub use self::memory::MemoryBackend;
pub use self::redis::{RedisBackend, redact_url};
pub use self::sqlite::{SqliteBackend, SqliteSettings};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;

use crate::manifest::Manifest;

/// A backend error, shown to the guest as `other(message)`.
pub type KvResult<T> = Result<T, String>;

/// How the backends answer `wasi:keyvalue` `get-many` and compare-and-swap:
/// as Spin 4.1's stores do ([`Spin`](Self::Spin), the default everywhere),
/// as they would with one known bug fixed ([`SpinNext`](Self::SpinNext)), or
/// truthfully ([`Correct`](Self::Correct)). `get`, `set`, `delete`,
/// `exists`, `increment` and listing are the same in every mode.
///
/// | | Redis (`key-value-redis`) | SQLite and memory (`key-value-spin`) |
/// |---|---|---|
/// | `spin` `get-many` | `KEYS k1 k2 ...` decoded as key/value pairs: two or more keys fail (`ERR wrong number of arguments for 'keys' command`); one key is a glob pattern: no match gives no pair, one matching name fails to decode (`Vector with length 1 doesn't have arity of 2`), two names make one pair | only the keys that exist, each once, in key order; absent keys are left out |
/// | `spin` swap | `WATCH`/`GET` in `current`, `MULTI; SET; EXEC` then `UNWATCH key`, which Redis refuses: every swap reports `cas-failed`, and it wrote iff the key was unchanged since `WATCH` | `UPDATE ... WHERE value = seen` (atomic); if `current` saw no value, an unconditional upsert that reports success: insert-if-absent is not atomic |
/// | `spin-next` | as `spin`, with `UNWATCH` fixed: a swap whose `EXEC` was aborted reports success | as `spin` |
/// | `correct` | `MGET`: every key in order, absent as `None`; an atomic compare-and-set script | every key in order, absent as `None`; compare-and-set in one transaction |
///
/// In every mode the host drives a CAS as Spin's host does: `Cas::new` only
/// begins it (under the Spin modes, a swap without `current` compares with
/// nothing: SQLite upserts, Redis has no `WATCH`; under `correct` it compares
/// with the value when the CAS began), and a swap that reports `cas-failed`
/// hands back a new CAS on which `current` has been called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum KvSemantics {
    /// As Spin 4.1 does today (the default).
    #[default]
    Spin,
    /// As Spin with only the Redis `UNWATCH` bug fixed.
    SpinNext,
    /// Truthful get-many and compare-and-swap on every backend.
    Correct,
}

impl KvSemantics {
    /// Every mode.
    pub const ALL: [KvSemantics; 3] = [
        KvSemantics::Spin,
        KvSemantics::SpinNext,
        KvSemantics::Correct,
    ];

    /// The name `--kv-semantics` takes: `spin`, `spin-next` or `correct`.
    pub fn name(self) -> &'static str {
        match self {
            KvSemantics::Spin => "spin",
            KvSemantics::SpinNext => "spin-next",
            KvSemantics::Correct => "correct",
        }
    }
}

impl std::fmt::Display for KvSemantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KvSemantics {
    type Err = String;

    fn from_str(s: &str) -> Result<KvSemantics, String> {
        KvSemantics::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("unknown key-value semantics {s:?} (spin, spin-next or correct)")
            })
    }
}

/// Why a swap did not report success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapError {
    /// The store reports that the compare-and-swap failed (`cas-failed`);
    /// under [`KvSemantics::Spin`] on Redis it may have written anyway.
    CasFailed(String),
    /// Any other failure (`store-error`).
    Other(String),
}

impl std::fmt::Display for SwapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwapError::CasFailed(why) => write!(f, "compare-and-swap failed: {why}"),
            SwapError::Other(why) => f.write_str(why),
        }
    }
}

/// One compare-and-swap on one key, as Spin's `Cas`: [`current`](Cas::current)
/// reads the value (and, on Redis under the Spin modes, `WATCH`es the key on
/// the connection this CAS holds), [`swap`](Cas::swap) writes. Dropping a CAS
/// without swapping releases what it holds (a Redis connection is `UNWATCH`ed
/// before it goes back to the pool).
pub trait Cas: Send {
    /// The current value; the value a later swap compares with.
    fn current(&mut self) -> KvResult<Option<Vec<u8>>>;
    /// Writes `value`, as the backend's mode decides (see [`KvSemantics`]).
    fn swap(self: Box<Self>, value: &[u8]) -> Result<(), SwapError>;
}

/// What the host needs from a store. `store` is the label (`default`).
///
/// Counters (`wasi:keyvalue` `increment`) are stored as each Spin backend
/// stores them: 8-byte little-endian `i64` values in memory and SQLite (as
/// Spin's `key-value-spin`), Redis integers (decimal text, `INCRBY`) in Redis.
/// Guests read a counter with `get` and decode either form, and fall back
/// to `increment(key, 0)` for a value in neither.
///
/// Guests reach [`batch_get_many`](Backend::batch_get_many) and
/// [`cas`](Backend::cas), which follow the backend's [`KvSemantics`].
/// [`get_many`](Backend::get_many) and [`swap_if`](Backend::swap_if) are
/// truthful in every mode, for host-side code (test snapshots, seeding).
pub trait Backend: Send + Sync {
    /// The value at `key`.
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>>;
    /// `wasi:keyvalue` `get-many`: key/value pairs as the backend's mode
    /// answers them (Spin's SQLite store leaves absent keys out, Spin's
    /// Redis store sends `KEYS`); under [`KvSemantics::Correct`], every key
    /// in order with `None` for an absent one.
    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>>;
    /// Writes a value.
    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()>;
    /// Removes a key.
    fn delete(&self, store: &str, key: &str) -> KvResult<()>;
    /// Every key of the store.
    fn keys(&self, store: &str) -> KvResult<Vec<String>>;
    /// Atomically adds `delta` (absent counts as 0) and returns the new value.
    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64>;
    /// Begins a compare-and-swap on `key`, as Spin's `new_compare_and_swap`.
    fn cas(&self, store: &str, key: &str) -> KvResult<Box<dyn Cas>>;
    /// Values at `keys`, in order, absent as `None`, in every mode.
    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>>;
    /// Atomically writes `new` if the value still equals `expected` (`None`:
    /// absent), in every mode; `false` if it did not write.
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

/// Runs one store operation as Spin's `key-value-spin` store (SQLite, also
/// its in-memory store) runs each of its own: in
/// [`tokio::task::block_in_place`] on a multi-threaded runtime, which hands
/// the worker's other tasks to another thread meanwhile. That changes how a
/// guest and hyper interleave (on Spin a handler that read the store nearly
/// always has its body written apart from its head), so devhost does it too;
/// off such a runtime the operation runs inline.
pub(crate) fn as_spin_store_runs<T>(op: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(op)
        }
        _ => op(),
    }
}

/// Whether `spec` names a Redis server rather than a file.
pub fn is_redis_url(spec: &str) -> bool {
    ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| spec.starts_with(scheme))
}

/// Opens `memory`, a Redis URL (`redis://host:port`) or a SQLite file, with
/// [`KvSemantics::Spin`] and Spin's SQLite settings.
pub fn open(spec: &str) -> anyhow::Result<Arc<dyn Backend>> {
    open_with(spec, KvSemantics::default(), SqliteSettings::default())
}

/// [`open`] with the given semantics, and a SQLite file opened with `sqlite`.
pub fn open_with(
    spec: &str,
    semantics: KvSemantics,
    sqlite: SqliteSettings,
) -> anyhow::Result<Arc<dyn Backend>> {
    Ok(if spec == "memory" {
        Arc::new(MemoryBackend::new(semantics))
    } else if is_redis_url(spec) {
        Arc::new(RedisBackend::connect_with(spec, semantics)?)
    } else {
        Arc::new(sqlite.open(Path::new(spec), semantics)?)
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

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        self.backend(store)?.batch_get_many(store, keys)
    }

    fn get_many(&self, store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        self.backend(store)?.get_many(store, keys)
    }

    fn cas(&self, store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        self.backend(store)?.cas(store, key)
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
