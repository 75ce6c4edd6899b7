//! Test support: start the app from `spin.toml` on an ephemeral port, with a
//! fresh store and chosen variables, and a real HTTP server that records what
//! the components send out (mail relay, webhooks).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devhost::testing::{OutboundSink, TestApp, build_components};
//! build_components("spin.toml")?;
//! let sink = OutboundSink::start().await?;
//! let app = TestApp::builder("spin.toml")
//!     .kv_memory()
//!     .variable("mail_relay_url", format!("{}/send", sink.url()))
//!     .start()
//!     .await?;
//! println!("{}", app.base_url());
//! app.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Key-value stores answer as Spin's do today ([`KvSemantics::Spin`]);
//! `.kv_semantics(KvSemantics::Correct)` (or `SpinNext`) chooses another
//! mode, and `devhost up --kv-semantics <mode>` does the same for a
//! [`HostProcess`].
//!
//! For the Redis store, [`RedisServer`] starts a `redis-server` of the test's
//! own (`apt-get install redis-server`) and `.kv_redis(server.url())` or
//! `.runtime_config_file(path)` points the app at it; [`HostProcess`] runs
//! `devhost up` as a separate process (the `devhost` binary, or the test
//! executable itself running devhost's command line), so two hosts can share
//! one store.
//!
//! [`SpinProcess`] serves the same app on a real Spin (4.1 or later, found by
//! [`spin_binary`]) instead, on a SQLite file or a Redis server
//! ([`SpinStore`]), which the test opens with devhost's backends to read what
//! Spin wrote.

mod host_process;
mod redis_server;
mod spin_process;

pub use host_process::{
    CHILD_ARGS_VARIABLE, HostProcess, KV_SEMANTICS_VARIABLE, run_devhost_if_child,
};
pub use redis_server::{RedisServer, redis_server_binary};
pub use spin_process::{SPIN_VARIABLE, SpinProcess, SpinStore, spin_binary, spin_version};

/// The key-value modes, for [`TestAppBuilder::kv_semantics`].
pub use crate::kv::KvSemantics;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::kv::{self, Backend, SqliteSettings};
use crate::manifest::Manifest;
use crate::runtime_config::RuntimeConfig;
use crate::server::{Limits, Runtime, serve};

/// The repository root (where `spin.toml` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        path.to_path_buf()
    } else {
        workspace_root().join(path)
    }
}

/// Set (to anything) when the components are already built, as
/// `scripts/test` builds them first: [`build_components`] then only checks
/// that every `.wasm` is there, and runs no cargo (which would wait for any
/// other build holding the target folder's lock).
pub const PREBUILT_VARIABLE: &str = "DEVHOST_PREBUILT";

/// Builds the components of `manifest` once per test process; parallel test
/// processes wait for each other on a lock file. With [`PREBUILT_VARIABLE`]
/// set, checks that they were built instead.
pub fn build_components(manifest: impl AsRef<Path>) -> Result<()> {
    static BUILT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    let path = resolve(manifest.as_ref());
    BUILT
        .get_or_init(|| {
            let run = || -> Result<()> {
                let manifest = Manifest::load(&path)?;
                if std::env::var_os(PREBUILT_VARIABLE).is_some() {
                    for (id, component) in &manifest.components {
                        let wasm = manifest.dir.join(&component.source);
                        anyhow::ensure!(
                            wasm.is_file(),
                            "{PREBUILT_VARIABLE} is set, but component {id} is not built: {}",
                            wasm.display()
                        );
                    }
                    return Ok(());
                }
                let lock_path = workspace_root().join("target").join(".devhost-build.lock");
                if let Some(dir) = lock_path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let lock = std::fs::File::create(&lock_path)?;
                lock.lock()?;
                let result = crate::build::build_all(&manifest);
                lock.unlock()?;
                result
            };
            run().map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Where the app keeps its state.
#[derive(Debug, Clone)]
pub enum KvChoice {
    /// A fresh in-memory store.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Redis server (`redis://host:port`).
    Redis(String),
}

impl KvChoice {
    fn open(&self, semantics: KvSemantics, sqlite: SqliteSettings) -> Result<Arc<dyn Backend>> {
        Ok(match self {
            KvChoice::Memory => Arc::new(kv::MemoryBackend::new(semantics)),
            KvChoice::Sqlite(path) => Arc::new(sqlite.open(path, semantics)?),
            KvChoice::Redis(url) => Arc::new(kv::RedisBackend::connect_with(url, semantics)?),
        })
    }
}

/// Configures a [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestAppBuilder {
    manifest: PathBuf,
    kv: KvChoice,
    semantics: KvSemantics,
    runtime_config: Option<RuntimeConfigSource>,
    variables: BTreeMap<String, String>,
    limits: Limits,
    fast: bool,
}

#[derive(Debug, Clone)]
enum RuntimeConfigSource {
    File(PathBuf),
    Parsed(RuntimeConfig),
}

impl TestAppBuilder {
    /// An in-memory store (the default).
    pub fn kv_memory(mut self) -> Self {
        self.kv = KvChoice::Memory;
        self
    }

    /// A SQLite store at `path`.
    pub fn kv_sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.kv = KvChoice::Sqlite(path.into());
        self
    }

    /// The Redis server at `url` (`redis://127.0.0.1:<port>`); see
    /// [`RedisServer`] for one of the test's own.
    pub fn kv_redis(mut self, url: impl Into<String>) -> Self {
        self.kv = KvChoice::Redis(url.into());
        self
    }

    /// How every store answers `get-many` and compare-and-swap (the
    /// `kv_*` choice and the runtime config's stores alike); by default
    /// [`KvSemantics::Spin`], as Spin's stores do today.
    pub fn kv_semantics(mut self, semantics: KvSemantics) -> Self {
        self.semantics = semantics;
        self
    }

    /// Stores from a runtime config file in Spin's syntax, as `devhost up
    /// --runtime-config-file` reads it: its `default` store overrides the
    /// `kv_*` choice, which otherwise stays the `default` store.
    pub fn runtime_config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_config = Some(RuntimeConfigSource::File(path.into()));
        self
    }

    /// Stores from an already parsed runtime config, as
    /// [`runtime_config_file`](Self::runtime_config_file).
    pub fn runtime_config(mut self, config: RuntimeConfig) -> Self {
        self.runtime_config = Some(RuntimeConfigSource::Parsed(config));
        self
    }

    /// Sets an application variable.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Host limits (timeout, body size, instance reuse).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// As `devhost up --fast`, kinder than Spin: `TCP_NODELAY` and whole
    /// bodies written with their heads ([`Runtime::fast`]), SQLite stores in
    /// WAL mode with `synchronous = NORMAL`. Only for a test that compares
    /// with it; every other test runs as Spin does.
    pub fn fast(mut self) -> Self {
        self.fast = true;
        self
    }

    /// Loads the components and serves them on `127.0.0.1:0`.
    pub async fn start(self) -> Result<TestApp> {
        let manifest = Manifest::load(&self.manifest)?;
        let values = crate::variables::resolve(&manifest, &self.variables, |_| None)?;
        let config = match self.runtime_config {
            None => None,
            Some(RuntimeConfigSource::File(path)) => Some(RuntimeConfig::load(&path)?),
            Some(RuntimeConfigSource::Parsed(config)) => Some(config),
        };
        let semantics = self.semantics;
        let sqlite = if self.fast {
            SqliteSettings::Fast
        } else {
            SqliteSettings::Spin
        };
        let kv: Arc<dyn Backend> = match config {
            None => self.kv.open(semantics, sqlite)?,
            Some(config) => {
                let stores = config
                    .open_stores_with(semantics, sqlite, || self.kv.open(semantics, sqlite))?;
                stores.check(&manifest)?;
                Arc::new(stores)
            }
        };
        let mut runtime = Runtime::new(&manifest, &values, kv.clone(), self.limits)?;
        if self.fast {
            runtime = runtime.fast();
        }
        let runtime = Arc::new(runtime);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, runtime.clone(), async {
            let _ = stopped.await;
        }));
        Ok(TestApp {
            base_url: format!("http://{addr}"),
            kv,
            runtime,
            stop: Some(stop),
            task,
        })
    }
}

/// A running app.
pub struct TestApp {
    base_url: String,
    kv: Arc<dyn Backend>,
    runtime: Arc<Runtime>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// Starts configuring an app from `manifest` (relative paths: from the repository root).
    pub fn builder(manifest: impl AsRef<Path>) -> TestAppBuilder {
        TestAppBuilder {
            manifest: resolve(manifest.as_ref()),
            kv: KvChoice::Memory,
            semantics: KvSemantics::default(),
            runtime_config: None,
            variables: BTreeMap::new(),
            limits: Limits::default(),
            fast: false,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every key and value of store `label`, sorted: for "nothing was
    /// written" checks. Read truthfully ([`Backend::get_many`]), whatever the
    /// store's [`KvSemantics`].
    pub fn kv_snapshot(&self, label: &str) -> BTreeMap<String, Vec<u8>> {
        let keys = self.kv.keys(label).unwrap_or_default();
        let values = self.kv.get_many(label, &keys).unwrap_or_default();
        keys.into_iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    /// The key-value backend.
    pub fn kv(&self) -> &Arc<dyn Backend> {
        &self.kv
    }

    /// How many requests have no answer yet, plus how many instances have
    /// answered all theirs but still run post-return work (a task the
    /// component spawned); zero when nothing runs.
    pub fn running_instances(&self) -> usize {
        self.runtime.running_instances()
    }

    /// Stops serving, then waits (at most the request timeout) for the
    /// requests and the post-return work still running, so that it can
    /// finish. Idle instances are kept for reuse a little longer (1 s), as
    /// on Spin.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A request the sink received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP server on loopback that records every request and answers
/// with a settable status (the mail relay and webhook endpoints of tests).
pub struct OutboundSink {
    url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    _stop: oneshot::Sender<()>,
}

impl OutboundSink {
    /// Starts the sink on `127.0.0.1:0`.
    pub async fn start() -> Result<OutboundSink> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the sink")?;
        let url = format!("http://{}", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let (recorded, answer, delay) = (requests.clone(), status.clone(), delay_ms.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
                    _ = &mut stopped => break,
                };
                let (recorded, answer, delay) = (recorded.clone(), answer.clone(), delay.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (recorded, answer, delay) =
                                (recorded.clone(), answer.clone(), delay.clone());
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes().to_vec())
                                    .unwrap_or_default();
                                if let Ok(mut r) = recorded.lock() {
                                    r.push(RecordedRequest {
                                        method: parts.method.to_string(),
                                        path: parts
                                            .uri
                                            .path_and_query()
                                            .map_or("/", |p| p.as_str())
                                            .to_string(),
                                        headers: parts
                                            .headers
                                            .iter()
                                            .filter_map(|(k, v)| {
                                                v.to_str()
                                                    .ok()
                                                    .map(|v| (k.to_string(), v.to_string()))
                                            })
                                            .collect(),
                                        body,
                                    });
                                }
                                let wait = delay.load(Ordering::SeqCst);
                                if wait > 0 {
                                    tokio::time::sleep(std::time::Duration::from_millis(wait))
                                        .await;
                                }
                                let mut response =
                                    http::Response::new(Full::new(Bytes::from_static(b"{}")));
                                *response.status_mut() =
                                    http::StatusCode::from_u16(answer.load(Ordering::SeqCst))
                                        .unwrap_or_default();
                                Ok::<_, Infallible>(response)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(OutboundSink {
            url,
            requests,
            status,
            delay_ms,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The origin for `allowed_outbound_hosts`.
    pub fn origin(&self) -> &str {
        &self.url
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The status later requests get.
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// How long the sink waits before answering later requests (recorded
    /// when they arrive): an endpoint that is slow or never answers.
    pub fn set_delay(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}
