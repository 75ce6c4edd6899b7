//! Store operations per request, read from each host's store from outside
//! where the host cannot be asked: Spin counts nothing for us.
//!
//! - A SQLite file in rollback-journal mode (Spin's settings) increments its
//!   header's file change counter (4 bytes big-endian at offset 24) once per
//!   write transaction: what a write costs there (each an fsync'd commit).
//! - Redis counts every command it ran (`INFO commandstats`); a command queued
//!   in `MULTI` counts when `EXEC` runs it, and not if a `WATCH` aborted it.
//! - devhost counts its own calls in the host ([`Counts`]).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::counted::Counts;

/// Redis commands that change a key, as Spin's and devhost's Redis stores send them.
const REDIS_WRITES: &[&str] = &[
    "set", "mset", "setnx", "setex", "getset", "getdel", "del", "unlink", "incr", "incrby", "decr",
    "decrby", "evalsha", "eval",
];

/// Redis commands that read keys.
const REDIS_READS: &[&str] = &["get", "mget", "exists", "keys", "scan"];

/// Counters of one store at one moment; `None` where the store cannot tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ops {
    /// Reads (devhost: calls; Redis: read commands).
    pub reads: Option<u64>,
    /// Writes (devhost: calls; Redis: write commands run).
    pub writes: Option<u64>,
    /// SQLite write transactions committed to the file.
    pub commits: Option<u64>,
    /// Redis `EXEC`s (compare-and-swaps that got as far as a swap).
    pub execs: Option<u64>,
    /// Redis connections accepted.
    pub connections: Option<u64>,
}

/// [`Ops`] per request, between two readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerRequest {
    pub reads: Option<f64>,
    pub writes: Option<f64>,
    pub commits: Option<f64>,
    pub execs: Option<f64>,
    pub connections: Option<f64>,
}

impl Ops {
    /// What happened from `before` to `self`, divided by `requests`.
    pub fn per_request(&self, before: &Ops, requests: u64) -> Option<PerRequest> {
        if requests == 0 {
            return None;
        }
        let per = |after: Option<u64>, before: Option<u64>| {
            Some(after?.saturating_sub(before?) as f64 / requests as f64)
        };
        Some(PerRequest {
            reads: per(self.reads, before.reads),
            writes: per(self.writes, before.writes),
            commits: per(self.commits, before.commits),
            execs: per(self.execs, before.execs),
            connections: per(self.connections, before.connections),
        })
    }
}

/// Where a host's store operations are read.
pub enum Meter {
    /// Spin's SQLite store: the file's change counter.
    SqliteFile(PathBuf),
    /// A Redis server's command statistics, over a connection of our own
    /// (opened once, so it adds no connection per reading).
    Redis(Box<redis::Connection>),
    /// devhost: its own counts, and its SQLite file's change counter.
    Devhost(Arc<Counts>, PathBuf),
}

impl Meter {
    /// Meter on the Redis server at `url`.
    pub fn redis(url: &str) -> Result<Meter> {
        let connection = redis::Client::open(url)?
            .get_connection()
            .with_context(|| format!("cannot connect to {url}"))?;
        Ok(Meter::Redis(Box::new(connection)))
    }

    /// The counters now.
    pub fn read(&mut self) -> Result<Ops> {
        Ok(match self {
            Meter::SqliteFile(path) => Ops {
                commits: Some(change_counter(path)?.into()),
                ..Ops::default()
            },
            Meter::Devhost(counts, path) => {
                let (reads, writes) = counts.now();
                Ops {
                    reads: Some(reads),
                    writes: Some(writes),
                    commits: Some(change_counter(path)?.into()),
                    ..Ops::default()
                }
            }
            Meter::Redis(connection) => {
                let info: String = redis::cmd("INFO")
                    .arg("commandstats")
                    .query(&mut **connection)?;
                let calls = command_calls(&info);
                let sum = |names: &[&str]| names.iter().filter_map(|n| calls.get(*n)).sum();
                let stats: String = redis::cmd("INFO").arg("stats").query(&mut **connection)?;
                Ops {
                    reads: Some(sum(REDIS_READS)),
                    writes: Some(sum(REDIS_WRITES)),
                    execs: Some(calls.get("exec").copied().unwrap_or(0)),
                    connections: Some(info_field(&stats, "total_connections_received")?),
                    ..Ops::default()
                }
            }
        })
    }
}

/// How often [`Meter::settle`] reads the counters.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// How many equal readings in a row count as settled.
const SETTLED_AFTER: usize = 4;

impl Meter {
    /// The counters once they stop moving (the same for [`SETTLED_AFTER`]
    /// readings in a row), or at `limit`: requests wrk left in flight still
    /// run after it exits, and their store work belongs to the cell that sent
    /// them, not to the next one.
    pub fn settle(&mut self, limit: std::time::Duration) -> Result<Ops> {
        let deadline = std::time::Instant::now() + limit;
        let mut last = self.read()?;
        let mut same = 1;
        while same < SETTLED_AFTER && std::time::Instant::now() < deadline {
            std::thread::sleep(SETTLE_POLL);
            let now = self.read()?;
            same = if now == last { same + 1 } else { 1 };
            last = now;
        }
        Ok(last)
    }
}

/// The SQLite header's file change counter of the database at `path`.
pub fn change_counter(path: &Path) -> Result<u32> {
    let mut header = [0u8; 28];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let mut counter = [0u8; 4];
    counter.copy_from_slice(&header[24..28]);
    Ok(u32::from_be_bytes(counter))
}

/// `cmdstat_<name>:calls=N,...` lines of `INFO commandstats`, by name.
fn command_calls(info: &str) -> BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_ascii_lowercase(), calls))
        })
        .collect()
}

/// A `name:value` number of an `INFO` section.
fn info_field(info: &str, name: &str) -> Result<u64> {
    info.lines()
        .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
        .with_context(|| format!("INFO has no {name}"))?
        .trim()
        .parse()
        .with_context(|| format!("INFO's {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_command_statistics() {
        let info = "# Commandstats\r\ncmdstat_get:calls=10,usec=5,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\ncmdstat_set:calls=3,usec=1\r\ncmdstat_exec:calls=2,usec=1\r\n";
        let calls = command_calls(info);
        assert_eq!(calls.get("get"), Some(&10));
        assert_eq!(calls.get("set"), Some(&3));
        assert_eq!(calls.get("exec"), Some(&2));
        let stats = "# Stats\r\ntotal_connections_received:42\r\n";
        assert_eq!(
            info_field(stats, "total_connections_received").ok(),
            Some(42)
        );
    }

    #[test]
    fn per_request_is_the_difference_over_requests() {
        let before = Ops {
            commits: Some(100),
            ..Ops::default()
        };
        let after = Ops {
            commits: Some(120),
            ..Ops::default()
        };
        let per = after.per_request(&before, 10).expect("requests");
        assert_eq!(per.commits, Some(2.0));
        assert_eq!(per.reads, None);
        assert!(after.per_request(&before, 0).is_none());
    }
}
