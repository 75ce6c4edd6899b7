//! A throwaway `redis-server` on loopback for one test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Where `redis-server` is looked for after `REDIS_SERVER` and `PATH`.
const KNOWN_PATHS: &[&str] = &["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

/// How long the server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A `redis-server` of the test's own on `127.0.0.1` and a free port, with
/// persistence off (`--save '' --appendonly no`); killed when dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

/// The `redis-server` executable: `REDIS_SERVER`, else `PATH`, else the
/// Debian package's place; an error saying how to install it if none.
pub fn redis_server_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("redis-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(KNOWN_PATHS.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .context(
            "redis-server is not installed: `apt-get install redis-server` \
             (CI installs it), or set REDIS_SERVER to its path",
        )
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING`.
    pub fn start() -> Result<RedisServer> {
        let binary = redis_server_binary()?;
        let mut last_error = None;
        // A free port may be taken by someone else before the server binds it.
        for _ in 0..5 {
            match RedisServer::try_start(&binary) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("redis-server did not start")))
    }

    fn try_start(binary: &Path) -> Result<RedisServer> {
        let port = free_port()?;
        let dir = std::env::temp_dir();
        let log = dir.join(format!("devhost-redis-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(binary)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let mut server = RedisServer { child, port, log };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let client = redis::Client::open(self.url())?;
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "redis-server on port {} exited ({status}): {}",
                    self.port,
                    read_log(&self.log)
                );
            }
            let pong = client
                .get_connection_with_timeout(Duration::from_millis(500))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "redis-server on port {} did not answer PING within {READY_TIMEOUT:?}: {}",
                    self.port,
                    read_log(&self.log)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A runtime config file's text whose `default` store is this server.
    pub fn runtime_config_toml(&self) -> String {
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            self.url()
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
