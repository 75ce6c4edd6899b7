//! The hosts the app is measured on, each started on its own copy of the
//! seeded store: a real Spin (`spin up`, found through `SPIN` or `PATH`) on
//! its SQLite store and on Redis, and devhost in this process with its
//! faithful defaults. Each is checked after every cell and restarted if it
//! stopped answering, so one wedged host cannot stop the run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use devhost::manifest::{Component, HttpTrigger, Manifest};
use devhost::server::{Limits, Runtime, serve};
use devhost::testing::{SpinProcess, SpinStore};

use crate::counted::{Counted, Counts};
use crate::meter::Meter;

/// The baseline components: id, file in the release folder, route.
pub const BASELINES: [(&str, &str, &str); 2] = [
    ("baseline-hello", "baseline_hello.wasm", "/baseline/hello"),
    (
        "baseline-kv-get",
        "baseline_kv_get.wasm",
        "/baseline/kv-get",
    ),
];

/// A public route that reads no store: the liveness probe.
const PROBE: &str = "/api/capabilities";

/// The single-get baseline: whether the host's store still answers (Spin on
/// Redis has been seen to answer routes without the store, but no store
/// read).
const STORE_PROBE: &str = "/baseline/kv-get";

/// How long one probe waits for its answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a host may take from its start to its first answer.
const START_LIMIT: Duration = Duration::from_secs(240);

/// Which host, on which store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SpinSqlite,
    SpinRedis,
    Devhost,
}

impl Kind {
    /// In the order they run and are reported: Spin first, as users get it.
    pub const ALL: [Kind; 3] = [Kind::SpinSqlite, Kind::SpinRedis, Kind::Devhost];

    /// The name `--host` takes.
    pub fn key(self) -> &'static str {
        match self {
            Kind::SpinSqlite => "spin-sqlite",
            Kind::SpinRedis => "spin-redis",
            Kind::Devhost => "devhost",
        }
    }

    /// The name in the report.
    pub fn title(self) -> &'static str {
        match self {
            Kind::SpinSqlite => "Spin (SQLite)",
            Kind::SpinRedis => "Spin (Redis)",
            Kind::Devhost => "devhost (SQLite)",
        }
    }

    /// Whether it needs a Spin.
    pub fn is_spin(self) -> bool {
        matches!(self, Kind::SpinSqlite | Kind::SpinRedis)
    }
}

/// The app on one host, answering at `base`.
pub struct Server {
    pub base: String,
    /// Spin: killed when dropped. devhost: stops serving when dropped.
    running: Option<Running>,
}

/// Held only to be dropped: that ends the host.
enum Running {
    Spin {
        _process: SpinProcess,
    },
    Devhost {
        _stop: tokio::sync::oneshot::Sender<()>,
    },
}

/// What the time to a first answer was made of.
#[derive(Debug, Clone, Copy)]
pub struct Startup {
    /// From the start to listening (Spin prints `Serving http://...`;
    /// devhost: the components loaded and the socket bound).
    pub listening: Duration,
    /// From the start to the first answer of the probe.
    pub first_answer: Duration,
}

/// Everything a host needs to start.
pub struct Launcher<'a> {
    /// The Spin to run, if any.
    pub spin: Option<PathBuf>,
    /// The bench's Spin manifest (the app and the baselines).
    pub spin_manifest: PathBuf,
    /// The app's variables, for Spin as `SPIN_VARIABLE_*`.
    pub variables: BTreeMap<String, String>,
    /// The same manifest for devhost.
    pub manifest: Manifest,
    /// The variables resolved for devhost.
    pub values: BTreeMap<String, String>,
    /// Where devhost serves.
    pub tokio: &'a tokio::runtime::Runtime,
}

/// One host and its store.
pub struct Target {
    pub kind: Kind,
    /// Spin's store (for devhost: the SQLite file it opens).
    pub store: SpinStore,
    /// devhost's counts of its own store calls.
    pub counts: Arc<Counts>,
}

impl Target {
    /// Where this host's store operations are read.
    pub fn meter(&self) -> Result<Meter> {
        Ok(match (&self.store, self.kind) {
            (SpinStore::Sqlite(path), Kind::Devhost) => {
                Meter::Devhost(self.counts.clone(), path.clone())
            }
            (SpinStore::Sqlite(path), _) => Meter::SqliteFile(path.clone()),
            (SpinStore::Redis(url), _) => Meter::redis(url)?,
        })
    }
}

impl Launcher<'_> {
    /// Starts `target`'s host and waits for its first answer.
    pub fn start(&self, target: &Target) -> Result<(Server, Startup)> {
        let started = Instant::now();
        let (base, running) = if target.kind.is_spin() {
            let spin = self.spin.as_deref().context("no Spin to run")?;
            let process =
                SpinProcess::start(spin, &self.spin_manifest, &target.store, &self.variables)?;
            (
                process.base_url().to_string(),
                Running::Spin { _process: process },
            )
        } else {
            let SpinStore::Sqlite(path) = &target.store else {
                bail!("devhost is measured on SQLite");
            };
            // Spin's settings: a rollback journal, every write an fsync'd
            // transaction (devhost::kv's default).
            let kv = devhost::kv::open(&path.to_string_lossy())?;
            let counted = Arc::new(Counted {
                inner: kv,
                counts: target.counts.clone(),
            });
            let host = Arc::new(Runtime::new(
                &self.manifest,
                &self.values,
                counted,
                Limits::default(),
            )?);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let base = self.tokio.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let base = format!("http://{}", listener.local_addr()?);
                tokio::spawn(serve(listener, host, async {
                    let _ = stopped.await;
                }));
                anyhow::Ok(base)
            })?;
            (base, Running::Devhost { _stop: stop })
        };
        let listening = started.elapsed();
        let server = Server {
            base,
            running: Some(running),
        };
        loop {
            if probe(&server.base, PROBE, PROBE_TIMEOUT).is_ok() {
                break;
            }
            if started.elapsed() > START_LIMIT {
                bail!(
                    "{} did not answer within {START_LIMIT:?}",
                    target.kind.title()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok((
            server,
            Startup {
                listening,
                first_answer: started.elapsed(),
            },
        ))
    }
}

impl Server {
    /// Kills Spin, or stops devhost serving, now: a wedged host goes before
    /// its replacement starts.
    pub fn stop(&mut self) {
        self.running = None;
    }

    /// Whether the host still answers, on a route without the store and on
    /// one with it: up to three tries of each, a second apart, each with
    /// [`PROBE_TIMEOUT`] (a host may still be draining the queue wrk left).
    /// `Err` says what the last tries saw.
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut seen = Vec::new();
        for route in [PROBE, STORE_PROBE] {
            let mut last = String::new();
            for attempt in 0..3 {
                if attempt > 0 {
                    std::thread::sleep(Duration::from_secs(1));
                }
                match probe(&self.base, route, PROBE_TIMEOUT) {
                    Ok(()) => {
                        last.clear();
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            if !last.is_empty() {
                seen.push(last);
            }
        }
        if seen.is_empty() {
            Ok(())
        } else {
            Err(seen.join("; "))
        }
    }
}

/// One `GET` of `route`: `Ok` for any answer below 500.
fn probe(base: &str, route: &str, timeout: Duration) -> std::result::Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let started = Instant::now();
    match agent.get(format!("{base}{route}")).call() {
        Ok(answer) if answer.status().as_u16() < 500 => Ok(()),
        Ok(answer) => Err(format!("GET {route} answered {}", answer.status())),
        Err(e) => Err(format!(
            "GET {route}: {e} after {:.1} s",
            started.elapsed().as_secs_f64()
        )),
    }
}

/// The app's manifest with the two baselines added, for devhost.
pub fn devhost_manifest(root: &Path) -> Result<Manifest> {
    let mut manifest = Manifest::load(&root.join("spin.toml"))?;
    let release = root.join("target/wasm32-wasip2/release");
    for (id, file, route) in BASELINES {
        manifest.components.insert(
            id.to_string(),
            Component {
                source: release.join(file).to_string_lossy().into_owned(),
                description: None,
                key_value_stores: vec!["default".into()],
                allowed_outbound_hosts: vec![],
                variables: BTreeMap::new(),
                build: None,
            },
        );
        manifest.triggers.push(HttpTrigger {
            route: route.into(),
            component: id.into(),
        });
    }
    Ok(manifest)
}

/// Writes the app's `spin.toml` with the two baselines added into `dir`, its
/// sources as absolute paths and without build sections (nothing is built
/// from it), and returns its path.
pub fn write_spin_manifest(root: &Path, dir: &Path) -> Result<PathBuf> {
    let mut doc: toml::Table = std::fs::read_to_string(root.join("spin.toml"))?.parse()?;
    let release = root.join("target/wasm32-wasip2/release");
    let components = doc
        .get_mut("component")
        .and_then(toml::Value::as_table_mut)
        .context("spin.toml has no [component]")?;
    for (id, component) in components.iter_mut() {
        let table = component
            .as_table_mut()
            .with_context(|| format!("component.{id}"))?;
        let source = table
            .get("source")
            .and_then(toml::Value::as_str)
            .with_context(|| format!("component.{id}.source"))?;
        let source = root.join(source).to_string_lossy().into_owned();
        table.insert("source".into(), source.into());
        table.remove("build");
    }
    for (id, file, _) in BASELINES {
        let mut table = toml::Table::new();
        table.insert(
            "source".into(),
            release.join(file).to_string_lossy().into_owned().into(),
        );
        table.insert(
            "key_value_stores".into(),
            toml::Value::Array(vec!["default".into()]),
        );
        components.insert(id.into(), table.into());
    }
    let triggers = doc
        .get_mut("trigger")
        .and_then(|t| t.get_mut("http"))
        .and_then(toml::Value::as_array_mut)
        .context("spin.toml has no [[trigger.http]]")?;
    for (id, _, route) in BASELINES {
        let mut table = toml::Table::new();
        table.insert("route".into(), route.into());
        table.insert("component".into(), id.into());
        triggers.push(table.into());
    }
    let path = dir.join("spin.toml");
    std::fs::write(&path, doc.to_string())?;
    Ok(path)
}
