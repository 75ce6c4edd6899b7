//! Spin's runtime configuration file (`spin up --runtime-config-file`), the
//! part devhost implements: `[key_value_store.<label>]` tables.
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://127.0.0.1:6379"
//!
//! [key_value_store.user_data]
//! type = "spin"                 # SQLite, as Spin's built-in store
//! path = ".spin/user_data.db"   # relative to this file's directory
//! ```
//!
//! As in Spin: `type = "spin"` without `path` is an in-memory store; a label
//! the file does not configure is undefined, except `default`, which keeps
//! the host's default store; keys a table does not know are errors. devhost
//! adds `type = "memory"`. Other tables of Spin's file (variable providers,
//! SQLite databases, LLM, TLS) and Spin's other store types (`azure_cosmos`,
//! `aws_dynamo`) are refused with a message saying so, rather than ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use toml::Value;

use crate::kv::{self, Backend, KvSemantics, SqliteSettings, Stores};

/// The key of Spin's key-value tables.
const KEY_VALUE_STORE: &str = "key_value_store";

/// Spin's store types devhost does not implement.
const SPIN_ONLY_TYPES: &[&str] = &["azure_cosmos", "aws_dynamo"];

/// One `[key_value_store.<label>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `type = "spin"`: a SQLite file (`path`, made absolute against the
    /// file's directory), or in memory without a `path`, as in Spin.
    Spin {
        /// The database file; `None`: in memory.
        path: Option<PathBuf>,
    },
    /// `type = "redis"`: the server at `url`.
    Redis {
        /// `redis://[user:password@]host[:port][/db]`.
        url: String,
    },
    /// `type = "memory"` (devhost's own): a fresh in-memory store.
    Memory,
}

impl StoreConfig {
    /// Opens the backend, with [`KvSemantics::Spin`] and Spin's SQLite settings.
    pub fn open(&self) -> Result<Arc<dyn Backend>> {
        self.open_with(KvSemantics::default(), SqliteSettings::default())
    }

    /// Opens the backend, answering as `semantics` says; a SQLite file with
    /// `sqlite`.
    pub fn open_with(
        &self,
        semantics: KvSemantics,
        sqlite: SqliteSettings,
    ) -> Result<Arc<dyn Backend>> {
        Ok(match self {
            StoreConfig::Spin { path: Some(path) } => Arc::new(sqlite.open(path, semantics)?),
            StoreConfig::Spin { path: None } | StoreConfig::Memory => {
                Arc::new(kv::MemoryBackend::new(semantics))
            }
            StoreConfig::Redis { url } => Arc::new(kv::RedisBackend::connect_with(url, semantics)?),
        })
    }
}

impl std::fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Spin { path: Some(path) } => write!(f, "SQLite {}", path.display()),
            StoreConfig::Spin { path: None } | StoreConfig::Memory => f.write_str("memory"),
            StoreConfig::Redis { url } => write!(f, "Redis {}", kv::redact_url(url)),
        }
    }
}

/// The parsed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Stores by label.
    pub key_value_stores: BTreeMap<String, StoreConfig>,
}

impl RuntimeConfig {
    /// Reads and parses the file at `path`; relative store paths are taken
    /// from the file's directory, as Spin takes them.
    pub fn load(path: &Path) -> Result<RuntimeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config file {}", path.display()))?;
        let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => dir.to_path_buf(),
            None => PathBuf::from("."),
        };
        let dir = std::path::absolute(&dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        RuntimeConfig::parse(&text, &dir)
            .with_context(|| format!("runtime config file {}", path.display()))
    }

    /// Parses `text`; relative store paths are joined to `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<RuntimeConfig> {
        let table: toml::Table = toml::from_str(text).context("not valid TOML")?;
        let mut config = RuntimeConfig::default();
        for (key, value) in table {
            if key != KEY_VALUE_STORE {
                bail!(
                    "`{key}` is not supported: devhost reads only [{KEY_VALUE_STORE}.<label>] tables"
                );
            }
            let stores = value
                .as_table()
                .ok_or_else(|| anyhow!("`{KEY_VALUE_STORE}` must be a table of stores"))?;
            for (label, store) in stores {
                let parsed = parse_store(store, base_dir)
                    .with_context(|| format!("[{KEY_VALUE_STORE}.{label}]"))?;
                config.key_value_stores.insert(label.clone(), parsed);
            }
        }
        Ok(config)
    }

    /// A configuration whose `default` store is the Redis server at `url`.
    pub fn redis_default(url: impl Into<String>) -> RuntimeConfig {
        RuntimeConfig {
            key_value_stores: BTreeMap::from([(
                kv::DEFAULT_LABEL.to_string(),
                StoreConfig::Redis { url: url.into() },
            )]),
        }
    }

    /// Whether the file configures store `label`.
    pub fn defines(&self, label: &str) -> bool {
        self.key_value_stores.contains_key(label)
    }

    /// Opens every configured store, with [`KvSemantics::Spin`] and Spin's
    /// SQLite settings; `default`, if the file does not configure it, comes
    /// from `default`.
    pub fn open_stores(
        &self,
        default: impl FnOnce() -> Result<Arc<dyn Backend>>,
    ) -> Result<Stores> {
        self.open_stores_with(KvSemantics::default(), SqliteSettings::default(), default)
    }

    /// [`open_stores`](Self::open_stores), each store answering as
    /// `semantics` says, SQLite files opened with `sqlite`.
    pub fn open_stores_with(
        &self,
        semantics: KvSemantics,
        sqlite: SqliteSettings,
        default: impl FnOnce() -> Result<Arc<dyn Backend>>,
    ) -> Result<Stores> {
        let mut by_label = BTreeMap::new();
        for (label, store) in &self.key_value_stores {
            let backend = store
                .open_with(semantics, sqlite)
                .with_context(|| format!("key-value store {label:?}"))?;
            by_label.insert(label.clone(), backend);
        }
        Stores::new(by_label, default)
    }

    /// `label: what` for each configured store, for the start-up line.
    pub fn describe(&self) -> String {
        self.key_value_stores
            .iter()
            .map(|(label, store)| format!("{label}: {store}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_store(store: &Value, base_dir: &Path) -> Result<StoreConfig> {
    let table = store
        .as_table()
        .ok_or_else(|| anyhow!("must be a table with `type`"))?;
    let ty = match table.get("type") {
        Some(Value::String(ty)) => ty.as_str(),
        Some(_) => bail!("`type` must be a string"),
        None => bail!("`type` is missing (spin, redis or memory)"),
    };
    let string = |key: &str| -> Result<Option<&str>> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => bail!("`{key}` must be a string"),
        }
    };
    let allowed: &[&str] = match ty {
        "spin" => &["type", "path"],
        "redis" => &["type", "url"],
        "memory" => &["type"],
        t if SPIN_ONLY_TYPES.contains(&t) => {
            bail!(
                "type {t:?} is a Spin store type devhost does not implement (spin, redis or memory)"
            )
        }
        t => bail!("unknown type {t:?} (spin, redis or memory)"),
    };
    if let Some(unknown) = table.keys().find(|k| !allowed.contains(&k.as_str())) {
        bail!("unknown key `{unknown}` for type {ty:?}");
    }
    Ok(match ty {
        "spin" => StoreConfig::Spin {
            path: string("path")?.map(|p| base_dir.join(p)),
        },
        "redis" => {
            let url = string("url")?
                .ok_or_else(|| anyhow!("type \"redis\" needs `url` (redis://host:port)"))?;
            if !kv::is_redis_url(url) {
                bail!(
                    "url {} is not a Redis URL (redis://, rediss:// or redis+unix://)",
                    kv::redact_url(url)
                );
            }
            StoreConfig::Redis {
                url: url.to_string(),
            }
        }
        _ => StoreConfig::Memory,
    })
}
