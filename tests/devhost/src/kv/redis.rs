//! The Redis backend: Spin's `redis` key-value store type.
//!
//! As in Spin, one store label is one Redis database and keys are stored as
//! they are, without a prefix; counters are Redis integers (`INCRBY`, decimal
//! text), so a counter written by Spin reads the same here and the other way
//! round. Compare-and-swap is one Lua script (`EVALSHA`, `EVAL` the first
//! time), which Redis runs atomically: it compares the current value, or its
//! absence, with the expected one and writes the new value only if they are
//! equal. Both therefore hold across any number of host processes sharing the
//! server.
//!
//! Connections come from a small pool: a request takes an idle connection or
//! opens a new one and gives it back afterwards, unless it failed on I/O (a
//! connection that timed out may still get a late answer, so it is dropped).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, anyhow};
use redis::{Client, Connection, ConnectionLike, RedisError, RedisResult, Script};

use super::{Backend, KvResult};

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
    client: Client,
    /// The URL without its password, for messages.
    shown: String,
    idle: Mutex<Vec<Connection>>,
    swap_if: Script,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &self.shown)
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
    /// a wrong or unreachable URL stops start-up with a message naming it.
    pub fn connect(url: &str) -> anyhow::Result<RedisBackend> {
        let shown = redact_url(url);
        let client = Client::open(url).with_context(|| format!("invalid Redis URL {shown}"))?;
        let backend = RedisBackend {
            client,
            shown,
            idle: Mutex::new(Vec::new()),
            swap_if: Script::new(SWAP_IF),
        };
        let connection = backend
            .open()
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c).map(|_| c))
            .map_err(|e| anyhow!("cannot reach Redis at {}: {e}", backend.shown))?;
        if let Ok(mut idle) = backend.idle.lock() {
            idle.push(connection);
        }
        Ok(backend)
    }

    /// The server's URL, without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    fn open(&self) -> RedisResult<Connection> {
        let connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        connection.set_read_timeout(Some(IO_TIMEOUT))?;
        connection.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(connection)
    }

    /// Runs `f` on a pooled connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> KvResult<T> {
        let pooled = self
            .idle
            .lock()
            .map_err(|_| "redis pool lock poisoned".to_string())?
            .pop();
        let mut connection = match pooled {
            Some(c) => c,
            None => self.open().map_err(|e| failed(&self.shown, &e))?,
        };
        let result = f(&mut connection);
        let reusable = connection.is_open()
            && result.as_ref().err().is_none_or(|e| {
                !(e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_unrecoverable_error())
            });
        if reusable
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
        result.map_err(|e| failed(&self.shown, &e))
    }
}

impl Backend for RedisBackend {
    fn get(&self, _store: &str, key: &str) -> KvResult<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("GET").arg(key).query(c))
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
                        self.shown,
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

    fn swap_if(
        &self,
        _store: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> KvResult<bool> {
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
