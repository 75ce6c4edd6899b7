//! The SQLite backend: Spin's schema and Spin's settings, and atomic
//! operations in `BEGIN IMMEDIATE` transactions, so they hold across host
//! processes.
//!
//! As Spin 4.1's `key-value-spin` store opens it, by default: SQLite's own
//! defaults (a rollback journal, `synchronous = FULL`), one connection behind
//! one lock, so every write is an fsync'd transaction taken in turn. That is
//! what a write costs on Spin, and a database file Spin serves can be opened
//! here at the same time (the test harnesses read and edit Spin's store this
//! way) without changing its journal mode. [`SqliteBackend::open_fast`] keeps
//! the kinder settings devhost used before (WAL, `synchronous = NORMAL`), for
//! quick local work only (`devhost up --fast`).
//!
//! Under the Spin modes, `get-many` and compare-and-swap run the statements
//! Spin's `key-value-spin` store runs (see [`KvSemantics`]): `get-many`
//! selects `key IN rarray(...)`, so absent keys are left out; a swap is an
//! `UPDATE ... WHERE value = <seen>`, or an unconditional upsert when
//! `current` saw no value.

use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, named_params, params};

use super::{Backend, Cas, KvResult, KvSemantics, SwapError, counter};

/// One connection per host process; SQLite serialises writers across processes.
#[derive(Debug)]
pub struct SqliteBackend {
    connection: Arc<Mutex<Connection>>,
    semantics: KvSemantics,
    /// With [`SqliteBackend::open_fast`]: dropped with the backend, which
    /// stops the WAL checkpointer.
    _checkpointer: Option<mpsc::Sender<()>>,
}

/// How a SQLite store is opened: as Spin opens it, or faster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSettings {
    /// Spin's: rollback journal, `synchronous = FULL` (the default).
    #[default]
    Spin,
    /// WAL, `synchronous = NORMAL` ([`SqliteBackend::open_fast`]; `devhost
    /// up --fast`).
    Fast,
}

impl SqliteSettings {
    /// Opens (creating if needed) the database at `path` with these settings.
    pub fn open(self, path: &Path, semantics: KvSemantics) -> anyhow::Result<SqliteBackend> {
        match self {
            SqliteSettings::Spin => SqliteBackend::open_with(path, semantics),
            SqliteSettings::Fast => SqliteBackend::open_fast(path, semantics),
        }
    }
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`, with
    /// [`KvSemantics::Spin`].
    pub fn open(path: &Path) -> anyhow::Result<SqliteBackend> {
        SqliteBackend::open_with(path, KvSemantics::default())
    }

    /// Opens (creating if needed) the database at `path`, answering as
    /// `semantics` says, with Spin's settings.
    pub fn open_with(path: &Path, semantics: KvSemantics) -> anyhow::Result<SqliteBackend> {
        let connection = create(path)?;
        Ok(SqliteBackend {
            connection: Arc::new(Mutex::new(connection)),
            semantics,
            _checkpointer: None,
        })
    }

    /// Opens the database at `path` in WAL mode with `synchronous = NORMAL`
    /// and a checkpointer off the request path: writes many times cheaper
    /// than on Spin. The journal mode stays with the file.
    pub fn open_fast(path: &Path, semantics: KvSemantics) -> anyhow::Result<SqliteBackend> {
        let connection = create(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        let checkpointer = spawn_checkpointer(connect(path)?)?;
        // Left to SQLite, the commit that takes the WAL past 1,000 pages
        // copies it back and fsyncs, holding the one connection every
        // request waits for: a stall of several milliseconds every few
        // hundred writes, which showed as the writes' p99.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(SqliteBackend {
            connection: Arc::new(Mutex::new(connection)),
            semantics,
            _checkpointer: Some(checkpointer),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> KvResult<T> {
        with(&self.connection, f)
    }
}

/// One operation, as Spin runs one ([`super::as_spin_store_runs`]).
fn with<T>(
    connection: &Mutex<Connection>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> KvResult<T> {
    super::as_spin_store_runs(|| {
        let mut c = connection
            .lock()
            .map_err(|_| "database lock poisoned".to_string())?;
        f(&mut c).map_err(err)
    })
}

/// Opens `path` (and its folder) as Spin does: the table, `rarray` for
/// get-many, and SQLite's default journal and synchronous settings.
fn create(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let connection = connect(path)?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
            store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
            PRIMARY KEY (store, key)
        )",
    )?;
    // `rarray`, for get-many as Spin's store queries it.
    rusqlite::vtab::array::load_module(&connection)?;
    Ok(connection)
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open(path)
        .with_context(|| format!("cannot open key-value database {}", path.display()))?;
    // Another process (a second host, or a test reading Spin's file) may
    // hold the lock for a while.
    connection.busy_timeout(Duration::from_secs(10))?;
    Ok(connection)
}

/// Checkpoints the WAL on its own thread and connection, off the request
/// path, until the returned sender is dropped. `PASSIVE` waits for no reader
/// or writer, so requests go on while it copies.
fn spawn_checkpointer(connection: Connection) -> anyhow::Result<mpsc::Sender<()>> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("devhost-sqlite-checkpoint".into())
        .spawn(move || {
            let mut reported = false;
            loop {
                let stopping = !matches!(
                    stopped.recv_timeout(CHECKPOINT_INTERVAL),
                    Err(RecvTimeoutError::Timeout)
                );
                // A failed round leaves the frames in the WAL, where readers
                // still find them; the next round tries again.
                if let Err(e) =
                    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    && !std::mem::replace(&mut reported, true)
                {
                    eprintln!("devhost: SQLite checkpoint failed (will retry): {e}");
                }
                if stopping {
                    break;
                }
            }
        })
        .context("cannot start the SQLite checkpoint thread")?;
    Ok(stop)
}

fn read(c: &Connection, store: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
        .query_row(params![store, key], |row| row.get(0))
        .optional()
}

fn write(c: &Connection, store: &str, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![store, key, value])
    .map(drop)
}

/// Writes `new` if the value at `key` still equals `expected` (`None`:
/// absent), in one `BEGIN IMMEDIATE` transaction.
fn swap_if(
    c: &mut Connection,
    store: &str,
    key: &str,
    expected: Option<&[u8]>,
    new: &[u8],
) -> rusqlite::Result<bool> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if read(&tx, store, key)?.as_deref() != expected {
        return Ok(false);
    }
    write(&tx, store, key, new)?;
    tx.commit()?;
    Ok(true)
}

/// A compare-and-swap on one key.
struct SqliteCas {
    connection: Arc<Mutex<Connection>>,
    store: String,
    key: String,
    /// What the swap compares with: under the Spin modes what `current` saw
    /// (`None` until it is called), under Correct the value when the CAS
    /// began or the latest `current` saw.
    seen: Option<Vec<u8>>,
    semantics: KvSemantics,
}

impl Cas for SqliteCas {
    fn current(&mut self) -> KvResult<Option<Vec<u8>>> {
        let value = with(&self.connection, |c| read(c, &self.store, &self.key))?;
        self.seen.clone_from(&value);
        Ok(value)
    }

    fn swap(self: Box<Self>, value: &[u8]) -> Result<(), SwapError> {
        let (store, key) = (&self.store, &self.key);
        let swapped = match self.semantics {
            KvSemantics::Correct => with(&self.connection, |c| {
                swap_if(c, store, key, self.seen.as_deref(), value)
            }),
            // Spin's statements: one row changed is success.
            KvSemantics::Spin | KvSemantics::SpinNext => with(&self.connection, |c| {
                let rows = match &self.seen {
                    Some(old) => c
                        .prepare_cached(
                            "UPDATE spin_key_value SET value = :new_value
                             WHERE store = :name AND key = :key AND value = :old_value",
                        )?
                        .execute(named_params! {
                            ":name": store,
                            ":key": key,
                            ":old_value": old,
                            ":new_value": value,
                        })?,
                    None => {
                        let tx = c.transaction()?;
                        let rows = tx
                            .prepare_cached(
                                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                                 ON CONFLICT (store, key) DO UPDATE SET value = ?3",
                            )?
                            .execute(params![store, key, value])?;
                        tx.commit()?;
                        rows
                    }
                };
                Ok(rows == 1)
            }),
        }
        .map_err(SwapError::Other)?;
        if swapped {
            Ok(())
        } else {
            Err(SwapError::CasFailed("failed to update 1 row".to_string()))
        }
    }
}

impl Backend for SqliteBackend {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|c| read(c, store, key))
    }

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        match self.semantics {
            KvSemantics::Spin | KvSemantics::SpinNext => self.with(|c| {
                let keys: Vec<rusqlite::types::Value> = keys
                    .iter()
                    .cloned()
                    .map(rusqlite::types::Value::from)
                    .collect();
                let mut stmt = c.prepare_cached(
                    "SELECT key, value FROM spin_key_value
                     WHERE store = :name AND key IN rarray(:keys)",
                )?;
                stmt.query_map(
                    named_params! {":name": store, ":keys": Rc::new(keys)},
                    |row| <(String, Option<Vec<u8>>)>::try_from(row),
                )?
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
        self.with(|c| {
            let tx = c.transaction()?;
            let values = keys
                .iter()
                .map(|k| read(&tx, store, k))
                .collect::<rusqlite::Result<_>>()?;
            tx.commit()?;
            Ok(values)
        })
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.with(|c| write(c, store, key, value))
    }

    fn delete(&self, store: &str, key: &str) -> KvResult<()> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(params![store, key])
                .map(drop)
        })
    }

    fn keys(&self, store: &str) -> KvResult<Vec<String>> {
        self.with(|c| {
            let mut stmt =
                c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            stmt.query_map(params![store], |row| row.get(0))?.collect()
        })
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> KvResult<i64> {
        let mut c = self
            .connection
            .lock()
            .map_err(|_| "database lock poisoned".to_string())?;
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let current = read(&tx, store, key)
            .map_err(err)?
            .map(|v| counter(&v))
            .transpose()?
            .unwrap_or(0);
        let next = current.checked_add(delta).ok_or("counter overflow")?;
        write(&tx, store, key, &next.to_le_bytes()).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(next)
    }

    fn cas(&self, store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        let seen = match self.semantics {
            KvSemantics::Spin | KvSemantics::SpinNext => None,
            KvSemantics::Correct => self.get(store, key)?,
        };
        Ok(Box::new(SqliteCas {
            connection: self.connection.clone(),
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
        self.with(|c| swap_if(c, store, key, expected, new))
    }
}
