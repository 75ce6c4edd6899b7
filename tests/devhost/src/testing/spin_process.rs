//! The app served by a real Spin (4.1 or later) in a process of its own: what
//! users get, for the end-to-end suite and the load benchmark to run on beside
//! devhost.
//!
//! Spin is found through [`SPIN_VARIABLE`] or as `spin` on `PATH`
//! ([`spin_binary`]). Each [`SpinProcess`] gets a folder of its own for Spin's
//! state, logs and runtime config, and its store from [`SpinStore`]: a SQLite
//! file (Spin's default store type) or a Redis server. The test opens the
//! same store with devhost's backends ([`SpinStore::open`]) to read and edit
//! what Spin wrote: devhost's SQLite backend uses Spin's schema and settings,
//! so both can have the file open at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::resolve;
use crate::kv::{self, Backend, KvSemantics};

/// The environment variable naming the Spin executable.
pub const SPIN_VARIABLE: &str = "SPIN";

/// The oldest Spin that runs spin-sdk 7 components (`wasi:http@0.3.0`).
const OLDEST: (u64, u64) = (4, 1);

/// How long Spin may take to load the components and listen (compiling them
/// takes several seconds the first time; Spin caches the result).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// What Spin prints once it listens: `Serving http://<addr>`.
const SERVING: &str = "Serving http://";

/// The Spin to run, if any: [`SPIN_VARIABLE`] if set (an error if it is not
/// a Spin of 4.1 or later), else `spin` on `PATH` if it is one. `None` says
/// how to enable the runs that need it.
pub fn spin_binary() -> Result<Option<PathBuf>> {
    if let Some(path) = std::env::var_os(SPIN_VARIABLE).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let version = spin_version(&path)
            .with_context(|| format!("{SPIN_VARIABLE}={} is not a Spin", path.display()))?;
        if !supported(&version) {
            bail!(
                "{SPIN_VARIABLE}={} is {version}; the app needs Spin {}.{} or later",
                path.display(),
                OLDEST.0,
                OLDEST.1
            );
        }
        return Ok(Some(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("spin"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    Ok(on_path.filter(|p| spin_version(p).is_ok_and(|v| supported(&v))))
}

/// `spin --version`'s first line, such as `spin 4.1.0-pre0 (94a8fc8a 2026-08-21)`.
pub fn spin_version(binary: &Path) -> Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default().trim().to_string();
    if !out.status.success() || !line.starts_with("spin ") {
        bail!("`{} --version` answered {line:?}", binary.display());
    }
    Ok(line)
}

/// Whether `spin X.Y.Z...` is [`OLDEST`] or later.
fn supported(version: &str) -> bool {
    let number = version.split_whitespace().nth(1).unwrap_or_default();
    let mut parts = number
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= OLDEST
}

/// Where a [`SpinProcess`] keeps the app's state.
#[derive(Debug, Clone)]
pub enum SpinStore {
    /// Spin's own store type (`type = "spin"`): a SQLite file.
    Sqlite(PathBuf),
    /// A Redis server (`redis://host:port`).
    Redis(String),
}

impl SpinStore {
    /// The runtime config that gives the app's `default` store this place.
    pub fn runtime_config_toml(&self) -> String {
        match self {
            SpinStore::Sqlite(path) => format!(
                "[key_value_store.default]\ntype = \"spin\"\npath = {}\n",
                toml_string(&path.to_string_lossy())
            ),
            SpinStore::Redis(url) => format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = {}\n",
                toml_string(url)
            ),
        }
    }

    /// The same store opened by devhost's backend, answering truthfully
    /// ([`KvSemantics::Correct`]): to read and edit what Spin wrote.
    pub fn open(&self) -> Result<Arc<dyn Backend>> {
        Ok(match self {
            SpinStore::Sqlite(path) => {
                Arc::new(kv::SqliteBackend::open_with(path, KvSemantics::Correct)?)
            }
            SpinStore::Redis(url) => {
                Arc::new(kv::RedisBackend::connect_with(url, KvSemantics::Correct)?)
            }
        })
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `spin up` serving the app on `127.0.0.1` and a free port; killed
/// (SIGKILL) when dropped, and its folder removed.
///
/// `spin up` serves from a child process of its own (`spin trigger http`),
/// so the two run in a process group of their own and are killed together:
/// a SIGKILL to `spin up` alone would leave the trigger serving.
pub struct SpinProcess {
    child: Child,
    base_url: String,
    dir: PathBuf,
}

impl SpinProcess {
    /// Runs `spin up --from <manifest>` (a relative manifest is taken from
    /// the repository root) with the app's store at `store` and `variables`
    /// (as `SPIN_VARIABLE_<NAME>`), and waits until it listens; fails with
    /// its output if it exits first. The components must be built.
    pub fn start(
        spin: &Path,
        manifest: impl AsRef<Path>,
        store: &SpinStore,
        variables: &BTreeMap<String, String>,
    ) -> Result<SpinProcess> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "spin-process-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let config = dir.join("runtime-config.toml");
        std::fs::write(&config, store.runtime_config_toml())?;
        // Spin takes no port 0: a free port, taken again if another process
        // got it first.
        let mut last = None;
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut command = Command::new(spin);
            command
                .arg("up")
                .arg("--from")
                .arg(resolve(manifest.as_ref()))
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--runtime-config-file")
                .arg(&config)
                .arg("--state-dir")
                .arg(dir.join("state"))
                .arg("--log-dir")
                .arg(dir.join("logs"));
            for (name, value) in variables {
                command.env(
                    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()),
                    value,
                );
            }
            match SpinProcess::spawn(command, &dir) {
                Ok(process) => return Ok(process),
                Err(e) if format!("{e:#}").contains("in use") => last = Some(e),
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }

    /// Runs `command` and waits until Spin says where it serves; kills it
    /// if it does not.
    fn spawn(mut command: Command, dir: &Path) -> Result<SpinProcess> {
        let log_path = dir.join("spin.log");
        let out = std::fs::File::create(&log_path)?;
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot run {:?}", command.get_program()))?;
        let started = Instant::now();
        let failed = loop {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(url) = log.lines().find_map(|line| {
                let from = line.find(SERVING)?;
                line[from..].split_whitespace().nth(1).map(str::to_string)
            }) {
                return Ok(SpinProcess {
                    child,
                    base_url: url.trim_end_matches('/').to_string(),
                    dir: dir.to_path_buf(),
                });
            }
            if let Some(status) = child.try_wait()? {
                break format!("spin exited ({status}): {}", log.trim());
            }
            if started.elapsed() > START_TIMEOUT {
                break format!(
                    "spin did not listen within {START_TIMEOUT:?}: {}",
                    log.trim()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        kill_group(&mut child);
        bail!(failed)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What Spin printed so far, and what the components wrote to their
    /// standard error.
    pub fn log(&self) -> String {
        let mut all = std::fs::read_to_string(self.dir.join("spin.log")).unwrap_or_default();
        if let Ok(entries) = std::fs::read_dir(self.dir.join("logs")) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    let _ = write!(all, "\n== {}\n{text}", entry.file_name().to_string_lossy());
                }
            }
        }
        all
    }

    /// Kills the process with SIGKILL, as a crash would, and waits for it.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// SIGKILLs the process group `child` leads (see [`SpinProcess`]) and
/// reaps `child`.
fn kill_group(child: &mut Child) {
    let group = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for SpinProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_four_one_on_are_supported() {
        assert!(supported("spin 4.1.0-pre0 (94a8fc8a 2026-08-21)"));
        assert!(supported("spin 4.2.3"));
        assert!(supported("spin 5.0.0"));
        assert!(!supported("spin 4.0.1 (abc 2026-01-01)"));
        assert!(!supported("spin 3.6.0"));
        assert!(!supported("spin"));
    }

    #[test]
    fn runtime_configs_name_the_default_store() {
        let sqlite = SpinStore::Sqlite(PathBuf::from("/tmp/a \"b\"/kv.db")).runtime_config_toml();
        let parsed: toml::Value = toml::from_str(&sqlite).expect("TOML");
        assert_eq!(
            parsed["key_value_store"]["default"]["type"].as_str(),
            Some("spin")
        );
        assert_eq!(
            parsed["key_value_store"]["default"]["path"].as_str(),
            Some("/tmp/a \"b\"/kv.db")
        );
        let redis = SpinStore::Redis("redis://127.0.0.1:1234".into()).runtime_config_toml();
        let parsed: toml::Value = toml::from_str(&redis).expect("TOML");
        assert_eq!(
            parsed["key_value_store"]["default"]["type"].as_str(),
            Some("redis")
        );
    }
}
