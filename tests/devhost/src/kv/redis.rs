//! The Redis backend: Spin's `redis` key-value store type.
//!
//! As in Spin, one store label is one Redis database and keys are stored as
//! they are, without a prefix; counters are Redis integers (`INCRBY`, decimal
//! text), so a counter written by Spin reads the same here and the other way
//! round.
//!
//! `get-many` and compare-and-swap follow the backend's [`KvSemantics`].
//! Under the Spin modes they send what Spin's `key-value-redis` sends:
//! `get-many` is `KEYS k1 k2 ...`, decoded as key/value pairs; a CAS holds a
//! connection of its own, `current` runs `WATCH key` and `GET key` on it, and
//! the swap runs `MULTI; SET key value; EXEC` (decoded as `()`, so an aborted
//! `EXEC` reads as success) and then `UNWATCH key`, which Redis refuses
//! (`UNWATCH` takes no argument) under [`KvSemantics::Spin`], or `UNWATCH`
//! under [`KvSemantics::SpinNext`]. Under [`KvSemantics::Correct`],
//! `get-many` is `MGET` and the swap is one Lua script (`EVALSHA`, `EVAL` the
//! first time), which Redis runs atomically: it compares the current value,
//! or its absence, with the one the CAS saw and writes only if they are
//! equal. Every mode holds across any number of host processes sharing the
//! server.
//!
//! Connections come from a small pool: a request takes an idle connection or
//! opens a new one and gives it back afterwards, unless it failed on I/O (a
//! connection that timed out may still get a late answer, so it is dropped).
//! A CAS keeps its connection until it is swapped or dropped, and a
//! connection that may still `WATCH` a key is `UNWATCH`ed before it goes
//! back, or closed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use redis::{Client, Connection, ConnectionLike, RedisError, RedisResult, Script};

use super::{Backend, Cas, KvResult, KvSemantics, SwapError};

/// Idle connections kept for reuse; more may be open while requests run.
const MAX_IDLE: usize = 16;
/// Longest wait for a connection to be set up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one command's answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Keys asked for per `SCAN` round trip.
const SCAN_COUNT: usize = 1000;

/// `KEYS[1]`: the key. `ARGV[1]`: `1` if a value is expected, `0` if absence
/// is. `ARGV[2]`: the expected value. `ARGV[3]`: the new value. Returns 1 if
/// it wrote, 0 if the current value differed.
const SWAP_IF: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
";

/// A Redis server reached at one URL (`redis://[user:password@]host[:port][/db]`
/// or `redis+unix:///path`).
pub struct RedisBackend {
    pool: Arc<Pool>,
    semantics: KvSemantics,
}

/// The connections to one server, shared with the CAS operations in flight.
struct Pool {
    client: Client,
    /// The URL without its password, for messages.
    shown: String,
    idle: Mutex<Vec<Connection>>,
    swap_if: Script,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.pool.shown)
            .field("semantics", &self.semantics)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, to name it in messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have credentials, and this one has.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn failed(shown: &str, e: &RedisError) -> String {
    format!("redis at {shown}: {e}")
}

impl RedisBackend {
    /// Connects to the server at `url` and checks that it answers `PING`, so
    /// a wrong or unreachable URL stops start-up with a message naming it;
    /// with [`KvSemantics::Spin`].
    pub fn connect(url: &str) -> anyhow::Result<RedisBackend> {
        RedisBackend::connect_with(url, KvSemantics::default())
    }

    /// [`connect`](Self::connect), answering as `semantics` says.
    pub fn connect_with(url: &str, semantics: KvSemantics) -> anyhow::Result<RedisBackend> {
        let shown = redact_url(url);
        let client = Client::open(url).with_context(|| format!("invalid Redis URL {shown}"))?;
        let pool = Pool {
            client,
            shown,
            idle: Mutex::new(Vec::new()),
            swap_if: Script::new(SWAP_IF),
        };
        let connection = pool
            .open()
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).map(|_| c))
            .map_err(|e| anyhow!("cannot reach Redis at {}: {e}", pool.shown))?;
        pool.put(connection);
        Ok(RedisBackend {
            pool: Arc::new(pool),
            semantics,
        })
    }

    /// The server's URL, without its password.
    pub fn url(&self) -> &str {
        &self.pool.shown
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> KvResult<T> {
        self.pool.with(f)
    }
}

/// Whether a connection that returned `e` can no longer be trusted.
fn broken(e: &RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

impl Pool {
    fn open(&self) -> RedisResult<Connection> {
        let connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        connection.set_read_timeout(Some(IO_TIMEOUT))?;
        connection.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(connection)
    }

    /// An idle connection, or a new one.
    fn take(&self) -> KvResult<Connection> {
        let pooled = self
            .idle
            .lock()
            .map_err(|_| "redis pool lock poisoned".to_string())?
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.open().map_err(|e| failed(&self.shown, &e)),
        }
    }

    /// Gives back a connection that is in a clean state (no `WATCH`, no
    /// `MULTI`), unless it is closed or the pool is full.
    fn put(&self, connection: Connection) {
        if connection.is_open()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
    }

    /// Runs `f` on a pooled connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> KvResult<T> {
        let mut connection = self.take()?;
        let result = f(&mut connection);
        if result.as_ref().err().is_none_or(|e| !broken(e)) {
            self.put(connection);
        }
        result.map_err(|e| failed(&self.shown, &e))
    }

    fn get(&self, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("GET").arg(key).query(c))
    }

    /// The compare-and-set script: `Ok(true)` if it wrote.
    fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> KvResult<bool> {
        let (present, expected) = match expected {
            Some(v) => ("1", v),
            None => ("0", &[][..]),
        };
        let written: i64 = self.with(|c| {
            self.swap_if
                .key(key)
                .arg(present)
                .arg(expected)
                .arg(new)
                .invoke(c as &mut dyn ConnectionLike)
        })?;
        Ok(written == 1)
    }
}

/// A CAS as Spin's `key-value-redis` runs it (the Spin modes): a connection
/// of its own, `WATCH`ed by `current`.
struct WatchCas {
    pool: Arc<Pool>,
    key: String,
    /// `None` once the connection broke.
    connection: Option<Connection>,
    /// Whether the connection may still watch a key.
    watching: bool,
    /// [`KvSemantics::SpinNext`]: `UNWATCH` without the key.
    fixed_unwatch: bool,
}

impl WatchCas {
    fn connection(&mut self) -> KvResult<&mut Connection> {
        if self.connection.is_none() {
            // As Spin's connection manager reconnects; a new connection
            // watches nothing.
            self.connection = Some(self.pool.take()?);
            self.watching = false;
        }
        self.connection
            .as_mut()
            .ok_or_else(|| "redis connection lost".to_string())
    }

    /// Forgets the connection if `result` says it broke.
    fn check<T>(&mut self, result: &RedisResult<T>) {
        if result.as_ref().err().is_some_and(broken) {
            self.connection = None;
            self.watching = false;
        }
    }
}

impl Cas for WatchCas {
    fn current(&mut self) -> KvResult<Option<Vec<u8>>> {
        let key = self.key.clone();
        let connection = self.connection()?;
        let watched = redis::cmd("WATCH").arg(&key).exec(connection);
        self.watching = true;
        self.check(&watched);
        watched.map_err(|e| failed(&self.pool.shown, &e))?;
        let connection = self.connection()?;
        let value = redis::cmd("GET").arg(&key).query(connection);
        self.check(&value);
        value.map_err(|e| failed(&self.pool.shown, &e))
    }

    fn swap(mut self: Box<Self>, value: &[u8]) -> Result<(), SwapError> {
        let key = self.key.clone();
        let mut unwatch = redis::cmd("UNWATCH");
        if !self.fixed_unwatch {
            // Spin's bug: UNWATCH takes no argument, and Redis refuses it.
            unwatch.arg(&key);
        }
        let connection = self.connection().map_err(SwapError::CasFailed)?;
        // MULTI; SET; EXEC, decoded as `()`: an aborted EXEC (nil) is `Ok`.
        let exec: RedisResult<()> = redis::pipe().atomic().set(&key, value).query(connection);
        let unwatched = unwatch.exec(connection);
        // A finished EXEC, or an UNWATCH that Redis accepted, ends the WATCH.
        self.watching = exec.is_err() && unwatched.is_err();
        self.check(&exec);
        self.check(&unwatched);
        unwatched.map_err(|e| SwapError::CasFailed(format!("{e:?}")))?;
        exec.map_err(|e| SwapError::CasFailed(format!("{e:?}")))
    }
}

impl Drop for WatchCas {
    fn drop(&mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        if self.watching && redis::cmd("UNWATCH").exec(&mut connection).is_err() {
            // Closing the connection ends its WATCH.
            return;
        }
        self.pool.put(connection);
    }
}

/// A truthful CAS ([`KvSemantics::Correct`]): the swap writes, atomically,
/// only if the value is still the one seen when the CAS began or by the
/// latest `current`.
struct ScriptCas {
    pool: Arc<Pool>,
    key: String,
    seen: Option<Vec<u8>>,
}

impl Cas for ScriptCas {
    fn current(&mut self) -> KvResult<Option<Vec<u8>>> {
        let value = self.pool.get(&self.key)?;
        self.seen.clone_from(&value);
        Ok(value)
    }

    fn swap(self: Box<Self>, value: &[u8]) -> Result<(), SwapError> {
        match self.pool.swap_if(&self.key, self.seen.as_deref(), value) {
            Ok(true) => Ok(()),
            Ok(false) => Err(SwapError::CasFailed(
                "the value changed since it was read".to_string(),
            )),
            Err(e) => Err(SwapError::Other(e)),
        }
    }
}

impl Backend for RedisBackend {
    fn get(&self, _store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.pool.get(key)
    }

    fn batch_get_many(
        &self,
        store: &str,
        keys: &[String],
    ) -> KvResult<Vec<(String, Option<Vec<u8>>)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        match self.semantics {
            // Spin sends `KEYS` with the keys as its arguments and decodes
            // the matching key names as pairs.
            KvSemantics::Spin | KvSemantics::SpinNext => self.with(|c| {
                redis::cmd("KEYS")
                    .arg(keys)
                    .query::<Vec<(String, Option<Vec<u8>>)>>(c)
            }),
            KvSemantics::Correct => Ok(keys
                .iter()
                .cloned()
                .zip(self.get_many(store, keys)?)
                .collect()),
        }
    }

    fn get_many(&self, _store: &str, keys: &[String]) -> KvResult<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| redis::cmd("MGET").arg(keys).query(c))
    }

    fn set(&self, _store: &str, key: &str, value: &[u8]) -> KvResult<()> {
        self.with(|c| redis::cmd("SET").arg(key).arg(value).exec(c))
    }

    fn delete(&self, _store: &str, key: &str) -> KvResult<()> {
        self.with(|c| redis::cmd("DEL").arg(key).exec(c))
    }

    fn keys(&self, _store: &str) -> KvResult<Vec<String>> {
        let raw: BTreeSet<Vec<u8>> = self.with(|c| {
            // SCAN may return a key more than once; the set keeps one.
            let mut keys = BTreeSet::new();
            let mut cursor = 0u64;
            loop {
                let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .cursor_arg(cursor)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(c)?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })?;
        raw.into_iter()
            .map(|k| {
                String::from_utf8(k).map_err(|e| {
                    format!(
                        "redis at {}: key {:?} is not UTF-8",
                        self.pool.shown,
                        String::from_utf8_lossy(e.as_bytes())
                    )
                })
            })
            .collect()
    }

    fn increment(&self, _store: &str, key: &str, delta: i64) -> KvResult<i64> {
        // INCRBY is atomic and refuses (rather than wraps) on overflow or a
        // value that is not an integer.
        self.with(|c| redis::cmd("INCRBY").arg(key).arg(delta).query(c))
    }

    fn cas(&self, _store: &str, key: &str) -> KvResult<Box<dyn Cas>> {
        Ok(match self.semantics {
            // Spin opens a connection per CAS, at once.
            KvSemantics::Spin | KvSemantics::SpinNext => Box::new(WatchCas {
                pool: self.pool.clone(),
                key: key.to_string(),
                connection: Some(self.pool.take()?),
                watching: false,
                fixed_unwatch: self.semantics == KvSemantics::SpinNext,
            }),
            KvSemantics::Correct => Box::new(ScriptCas {
                pool: self.pool.clone(),
                key: key.to_string(),
                seen: self.pool.get(key)?,
            }),
        })
    }

    fn swap_if(
        &self,
        _store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
        self.pool.swap_if(key, expected, new)
    }
}
