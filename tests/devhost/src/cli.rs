//! The `devhost` command line: build, serve and mint tokens for the app in
//! `spin.toml`. The binary is [`main`]; tests may run the same code in a
//! process of their own ([`crate::testing::HostProcess::start_self`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::kv::{Backend, KvSemantics, SqliteSettings};
use crate::manifest::Manifest;
use crate::runtime_config::RuntimeConfig;
use crate::server::{Limits, Runtime, serve};
use crate::{build, dev_keys, variables};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use partner_invites::token::{Claims, KeyRing, Purpose, Role};

/// The `default` store without `--kv`: Spin's own default file.
const DEFAULT_KV: &str = ".spin/sqlite_key_value.db";

#[derive(Parser)]
#[command(
    version,
    about = "A local Spin-compatible host for the partner-invites app"
)]
struct Cli {
    /// The application manifest.
    #[arg(long, global = true, default_value = "spin.toml")]
    manifest: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run each component's build command, as `spin build` does.
    Build,
    /// Serve the app as Spin 4.1 serves it: instances reused (128 requests
    /// each, 16 at once, kept 1 s when idle), the response body streamed
    /// without TCP_NODELAY (on a keep-alive connection a body written after
    /// its head waits for the client's delayed ACK, about 40 ms, as on Spin),
    /// SQLite stores with Spin's settings (rollback journal, full sync).
    Up {
        /// Build the components first.
        #[arg(long)]
        build: bool,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: String,
        /// The `default` key-value store: a SQLite file (relative to the
        /// manifest), `memory`, or a Redis URL [default: .spin/sqlite_key_value.db].
        #[arg(long)]
        kv: Option<String>,
        /// A runtime config file in Spin's syntax: `[key_value_store.<label>]`
        /// tables with `type = "spin"` (`path`), `"redis"` (`url`) or `"memory"`.
        /// Its `default` store, if it has one, overrides `--kv`.
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
        /// How every key-value store answers `wasi:keyvalue` get-many and
        /// compare-and-swap: `spin` as Spin 4.1's stores do today, flaws
        /// included (Redis: get-many of two or more keys fails, every swap
        /// reports cas-failed though it may have written; SQLite and memory:
        /// get-many leaves absent keys out, a swap on a key that was absent
        /// overwrites and reports success); `spin-next` as Spin with only its
        /// Redis UNWATCH bug fixed (a swap that lost reports success);
        /// `correct` truthful everywhere.
        #[arg(
            long,
            value_enum,
            env = "DEVHOST_KV_SEMANTICS",
            default_value_t = KvSemantics::Spin
        )]
        kv_semantics: KvSemantics,
        /// Application variable, `name=value` (repeatable).
        #[arg(long = "variable", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Longest a request may run, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Largest request body, in bytes.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body: usize,
        /// Kinder than Spin, for quick local work only (never for tests or
        /// measurements): TCP_NODELAY set and each response's whole body
        /// written with its head (no Nagle stall), and SQLite stores opened
        /// in WAL mode with synchronous NORMAL (writes many times cheaper).
        #[arg(long)]
        fast: bool,
    },
    /// Print a bearer access token signed with the app's key ring.
    Token {
        /// The caller's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The partner (role partner).
        #[arg(long)]
        partner_id: Option<String>,
        /// The organization (role customer_admin).
        #[arg(long)]
        organization_id: Option<String>,
        /// The user.
        #[arg(long, default_value = "dev-user")]
        subject: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// `signing_keys=...` to sign with a given ring (else the environment, else the dev keys).
        #[arg(long = "variable", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RoleArg {
    Partner,
    CustomerAdmin,
    Operator,
}

fn parse_variable(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

fn manifest_dir(manifest: &Path) -> PathBuf {
    manifest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The key ring: `--variable`, then `SPIN_VARIABLE_SIGNING_KEYS`, then the kept dev keys.
fn signing_keys(
    overrides: &BTreeMap<String, String>,
    dir: &Path,
    create: bool,
) -> Result<(String, &'static str)> {
    if let Some(v) = overrides.get(dev_keys::VARIABLE) {
        return Ok((v.clone(), "--variable"));
    }
    if let Ok(v) = std::env::var("SPIN_VARIABLE_SIGNING_KEYS") {
        return Ok((v, "SPIN_VARIABLE_SIGNING_KEYS"));
    }
    if !create && !dev_keys::path(dir).exists() {
        bail!(
            "no signing keys: run `devhost up` once (it creates development keys) or pass --variable signing_keys=..."
        );
    }
    let (spec, created) = dev_keys::load_or_create(dir)?;
    Ok((
        spec,
        if created {
            "new development keys"
        } else {
            "development keys"
        },
    ))
}

/// The key-value stores: `--kv` for `default`, unless the runtime config
/// file configures it; every other label only from that file, as in Spin.
fn open_stores(
    manifest: &Manifest,
    dir: &Path,
    kv: Option<&str>,
    runtime_config_file: Option<&Path>,
    semantics: KvSemantics,
    sqlite: SqliteSettings,
) -> Result<(Arc<dyn Backend>, String)> {
    let spec = kv.unwrap_or(DEFAULT_KV);
    let (default_spec, default_shown) = if spec == "memory" {
        (spec.to_string(), spec.to_string())
    } else if crate::kv::is_redis_url(spec) {
        (spec.to_string(), crate::kv::redact_url(spec))
    } else {
        let path = dir.join(spec).to_string_lossy().into_owned();
        (path.clone(), path)
    };
    let open_default = || crate::kv::open_with(&default_spec, semantics, sqlite);
    let Some(file) = runtime_config_file else {
        return Ok((open_default()?, default_shown));
    };
    let config = RuntimeConfig::load(file)?;
    if let Some(kv) = kv
        && config.defines(crate::kv::DEFAULT_LABEL)
    {
        eprintln!(
            "devhost: --kv {} is ignored: {} configures key_value_store.default",
            crate::kv::redact_url(kv),
            file.display()
        );
    }
    let stores = config.open_stores_with(semantics, sqlite, open_default)?;
    stores.check(manifest)?;
    let mut description = config.describe();
    if !config.defines(crate::kv::DEFAULT_LABEL) {
        description = [format!("default: {default_shown}"), description]
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
    }
    Ok((Arc::new(stores), description))
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// Runs the command line `args` (the first is the program name); errors are
/// printed as `devhost: <error>`. `up` serves until Ctrl-C.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are "errors" that print and succeed.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("devhost: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devhost: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build => build::build_all(&Manifest::load(&cli.manifest)?),
        Command::Up {
            build,
            listen,
            kv,
            runtime_config_file,
            kv_semantics,
            variables,
            timeout,
            max_body,
            fast,
        } => {
            let manifest = Manifest::load(&cli.manifest)?;
            if build {
                build::build_all(&manifest)?;
            }
            let mut overrides: BTreeMap<String, String> = variables.into_iter().collect();
            let dir = manifest_dir(&cli.manifest);
            if manifest.variables.contains_key(dev_keys::VARIABLE)
                && !overrides.contains_key(dev_keys::VARIABLE)
            {
                let (spec, source) = signing_keys(&overrides, &dir, true)?;
                if source.contains("development") {
                    eprintln!(
                        "devhost: no signing_keys given; using {source} from {}",
                        dev_keys::path(&dir).display()
                    );
                }
                overrides.insert(dev_keys::VARIABLE.to_string(), spec);
            }
            let values = variables::resolve(&manifest, &overrides, |k| std::env::var(k).ok())?;
            let sqlite = if fast {
                SqliteSettings::Fast
            } else {
                SqliteSettings::Spin
            };
            let (store, kv_description) = open_stores(
                &manifest,
                &dir,
                kv.as_deref(),
                runtime_config_file.as_deref(),
                kv_semantics,
                sqlite,
            )?;
            let limits = Limits {
                timeout: Duration::from_secs(timeout),
                max_body,
                ..Limits::default()
            };
            let mut runtime = Runtime::new(&manifest, &values, store, limits)?;
            if fast {
                runtime = runtime.fast();
            }
            let runtime = Arc::new(runtime);
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            eprintln!(
                "devhost: serving {} on http://{} (key-value: {kv_description}; \
                 kv semantics: {kv_semantics}{})",
                manifest.name,
                listener.local_addr()?,
                if fast { "; fast, kinder than Spin" } else { "" }
            );
            for t in &manifest.triggers {
                eprintln!("  {:<40} -> {}", t.route, t.component);
            }
            // Ctrl-C stops accepting and waits for the requests and the
            // post-return work still running, up to the timeout; a second
            // Ctrl-C stops at once.
            let twice = async {
                let _ = tokio::signal::ctrl_c().await;
                let _ = tokio::signal::ctrl_c().await;
            };
            tokio::select! {
                () = serve(listener, runtime, async {
                    let _ = tokio::signal::ctrl_c().await;
                }) => {}
                () = twice => eprintln!("devhost: stopped without waiting for running instances"),
            }
            Ok(())
        }
        Command::Token {
            role,
            partner_id,
            organization_id,
            subject,
            ttl,
            variables,
        } => {
            let overrides: BTreeMap<String, String> = variables.into_iter().collect();
            let (spec, _) = signing_keys(&overrides, &manifest_dir(&cli.manifest), false)?;
            let keys = KeyRing::parse(&spec).context("signing_keys")?;
            let (role, partner_id, organization_id) = match role {
                RoleArg::Partner => (
                    Role::Partner,
                    Some(partner_id.context("--role partner needs --partner-id")?),
                    None,
                ),
                RoleArg::CustomerAdmin => (
                    Role::CustomerAdmin,
                    None,
                    Some(organization_id.context("--role customer_admin needs --organization-id")?),
                ),
                RoleArg::Operator => (Role::Operator, None, None),
            };
            let now = partner_invites::clock::Clock::now(&partner_invites::clock::SystemClock);
            let random =
                partner_invites::random::Entropy::hex(&partner_invites::random::OsEntropy, 8);
            let token = keys.sign(&Claims {
                purpose: Purpose::Access,
                record_id: format!("at_{random}"),
                partner_id,
                organization_id,
                subject: Some(subject),
                role: Some(role),
                issued_at: now,
                expires_at: now.saturating_add(ttl),
                generation: 0,
            })?;
            println!("{token}");
            Ok(())
        }
    }
}
