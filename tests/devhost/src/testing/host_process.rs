//! `devhost up` in a process of its own, for tests that need two hosts
//! sharing one store.
//!
//! The process's key-value semantics are what its arguments say
//! (`--kv-semantics <mode>`, else `spin`), as a [`TestAppBuilder`]'s are what
//! it was told: [`HostProcess::start`] and [`HostProcess::start_self`] do not
//! pass on this process's `DEVHOST_KV_SEMANTICS`.
//!
//! [`TestAppBuilder`]: super::TestAppBuilder

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::resolve;

/// How long a host may take to load its components and listen.
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// What `devhost up` prints once it listens: `devhost: serving <app> on http://<addr> (...)`.
const SERVING: &str = "devhost: serving ";

/// The environment variable `devhost up` takes its `--kv-semantics` from.
pub const KV_SEMANTICS_VARIABLE: &str = "DEVHOST_KV_SEMANTICS";

/// The environment variable that makes a test executable started by
/// [`HostProcess::start_self`] run devhost's command line: a JSON array of
/// its arguments.
pub const CHILD_ARGS_VARIABLE: &str = "DEVHOST_TEST_CHILD_ARGS";

/// The body of the test named in [`HostProcess::start_self`]: in the child
/// process that call starts, runs `devhost` with the arguments it was given
/// and exits with its status (serving until killed); anywhere else, returns
/// at once, so the test passes as a no-op.
pub fn run_devhost_if_child() {
    let Some(args) = std::env::var_os(CHILD_ARGS_VARIABLE) else {
        return;
    };
    let args: Vec<String> = match serde_json::from_str(&args.to_string_lossy()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("devhost: {CHILD_ARGS_VARIABLE} is not a JSON array of strings: {e}");
            std::process::exit(2);
        }
    };
    let code = crate::cli::main_from(args);
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

/// A `devhost up` process listening on `127.0.0.1` and a free port; killed
/// when dropped. Its standard error goes to a file (see [`HostProcess::log`]).
pub struct HostProcess {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl HostProcess {
    /// Runs `exe --manifest <manifest> up --listen 127.0.0.1:0 <args...>`
    /// (a relative manifest is taken from the repository root) and waits
    /// until it listens; fails with its output if it exits first.
    pub fn start<I, S>(
        exe: impl AsRef<Path>,
        manifest: impl AsRef<Path>,
        args: I,
    ) -> Result<HostProcess>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(exe.as_ref());
        command
            .arg("--manifest")
            .arg(resolve(manifest.as_ref()))
            .args(["up", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove(KV_SEMANTICS_VARIABLE);
        HostProcess::spawn(command)
    }

    /// Runs the same `devhost up` as [`start`](Self::start) in a copy of the
    /// running test executable, for tests in packages that cannot name the
    /// `devhost` binary: the copy runs only the test `entry_test` (its full
    /// path, such as `redis::devhost_process`; a test whose body is
    /// [`run_devhost_if_child`]), which runs devhost's command line, the
    /// binary's own code, in that process.
    pub fn start_self(
        entry_test: &str,
        manifest: impl AsRef<Path>,
        args: &[String],
    ) -> Result<HostProcess> {
        let mut cli = vec![
            "devhost".to_string(),
            "--manifest".to_string(),
            resolve(manifest.as_ref()).to_string_lossy().into_owned(),
            "up".to_string(),
            "--listen".to_string(),
            "127.0.0.1:0".to_string(),
        ];
        cli.extend(args.iter().cloned());
        let exe = std::env::current_exe().context("the test executable")?;
        let mut command = Command::new(exe);
        command
            .args([entry_test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ARGS_VARIABLE, serde_json::to_string(&cli)?)
            .env_remove(KV_SEMANTICS_VARIABLE);
        HostProcess::spawn(command)
    }

    /// Runs `command`, which must end up serving with devhost's `up`, and
    /// waits until it prints the address it listens on. The command's
    /// environment is left as it is, `DEVHOST_KV_SEMANTICS` included.
    pub fn spawn(mut command: Command) -> Result<HostProcess> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let log = std::env::temp_dir().join(format!(
            "devhost-host-{}-{}.log",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot run {:?}", command.get_program()))?;
        let mut host = HostProcess {
            child,
            base_url: String::new(),
            log,
        };
        host.base_url = host.wait_serving()?;
        Ok(host)
    }

    fn wait_serving(&mut self) -> Result<String> {
        let started = Instant::now();
        loop {
            let log = self.log();
            if let Some(url) = log.lines().find_map(|line| {
                let rest = line.strip_prefix(SERVING)?;
                let from = rest.find("http://")?;
                rest[from..].split_whitespace().next().map(str::to_string)
            }) {
                return Ok(url);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("devhost exited ({status}): {}", log.trim());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "devhost did not listen within {START_TIMEOUT:?}: {}",
                    log.trim()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What the process wrote to standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the process and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}
