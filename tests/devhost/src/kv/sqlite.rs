//! The SQLite backend: Spin's schema, WAL, and atomic operations in
//! `BEGIN IMMEDIATE` transactions, so they hold across host processes.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Backend, KvResult, counter};

/// One connection per host process; SQLite serialises writers across processes.
#[derive(Debug)]
pub struct SqliteBackend {
    connection: Mutex<Connection>,
    /// Dropped with the backend, which stops the checkpointer.
    _checkpointer: mpsc::Sender<()>,
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<SqliteBackend> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let connection = connect(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
        )?;
        let checkpointer = spawn_checkpointer(connect(path)?)?;
        // Left to SQLite, the commit that takes the WAL past 1,000 pages
        // copies it back and fsyncs, holding the one connection every
        // request waits for: a stall of several milliseconds every few
        // hundred writes, which showed as the writes' p99.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(SqliteBackend {
            connection: Mutex::new(connection),
            _checkpointer: checkpointer,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> KvResult<T> {
        let mut c = self
            .connection
            .lock()
            .map_err(|_| "database lock poisoned".to_string())?;
        f(&mut c).map_err(err)
    }
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open(path)
        .with_context(|| format!("cannot open key-value database {}", path.display()))?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
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

impl Backend for SqliteBackend {
    fn get(&self, store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|c| read(c, store, key))
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

    fn swap_if(
        &self,
        store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if read(&tx, store, key)?.as_deref() != expected {
                return Ok(false);
            }
            write(&tx, store, key, new)?;
            tx.commit()?;
            Ok(true)
        })
    }
}
