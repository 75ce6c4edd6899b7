//! `cargo run --release -p bench --bin load`: every endpoint of the app on a
//! real Spin and on devhost in one run, on the same seeded data: Spin with
//! its SQLite store, Spin with Redis, and devhost with its faithful defaults
//! (SQLite), taking turns cell by cell so that a shared machine's drift
//! falls on all three alike. Each host serves the same hello-world and
//! single-get baseline components beside the app, measured with `wrk` at one
//! keep-alive connection (the latency a pooled client sees) and at 64
//! connections; store writes per request as each store shows them; list
//! paging at 1,000 and 100,000 invites; time to the first answer; component
//! sizes. Writes the results into `BENCHMARKS.md` between the `load` markers,
//! Spin's figures first: that is what users get.
//!
//! Spin is found through `SPIN` or as `spin` on `PATH`; without one, the run
//! measures devhost alone and says so. A host that stops answering (Spin on
//! Redis has been seen to) is reported as wedged for that cell and restarted.

mod counted;
mod direct;
mod host;
mod meter;
mod report;
mod scripts;
mod seed;
mod tee;
mod wrk;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use counted::Counts;
use devhost::testing::{RedisServer, SpinStore};
use host::{Kind, Launcher, Server, Target};
use meter::Meter;
use partner_invites::token::KeyRing;
use report::{Cell, GET, HELLO, HostRun, Run, Scaling};
use scripts::{Shares, header_script, lua};
use seed::{RING, Seeded, Sizes, bearer};
use wrk::Measured;

const COMPONENTS: [&str; 5] = [
    "generate-invite",
    "redeem-invite",
    "list-invites",
    "connect-existing-organization",
    "partner-settings",
];

const HELP: &str = "\
cargo run --release -p bench --bin load -- [OPTIONS]

Every endpoint on Spin (SQLite, then Redis) and on devhost, in one run, on the
same seeded data; writes the results into BENCHMARKS.md. Spin comes from $SPIN
or `spin` on PATH (4.1 or later); without one only devhost runs.

  --seconds N        seconds per cell (default 5)
  --quick            2 s cells and a small seed, for trying things
  --out PATH         where to write the report (default BENCHMARKS.md)
  --only ENDPOINT    just this endpoint (repeatable), at 64 connections,
                     without baselines: printed, not written
  --host HOST        just this host (repeatable): spin-sqlite, spin-redis,
                     devhost; printed, not written
  --help             this text
";

struct Settings {
    seconds: u32,
    sizes: Sizes,
    out: PathBuf,
    /// With `--only`: just these endpoints, at 64 connections, without the
    /// baselines: a run to profile under `perf`.
    only: Vec<String>,
    /// With `--host`: just these hosts.
    hosts: Vec<Kind>,
}

impl Settings {
    /// A run of part of the matrix is printed, and BENCHMARKS.md keeps the whole one.
    fn partial(&self) -> bool {
        !self.only.is_empty() || self.hosts.len() < Kind::ALL.len()
    }
}

fn settings(root: &Path) -> Result<Option<Settings>> {
    let mut s = Settings {
        seconds: 5,
        sizes: Sizes {
            unique: 25_000,
            big: 100_000,
        },
        out: root.join("BENCHMARKS.md"),
        only: Vec::new(),
        hosts: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => s.seconds = args.next().context("--seconds N")?.parse()?,
            "--quick" => {
                s.seconds = 2;
                s.sizes = Sizes {
                    unique: 4_000,
                    big: 5_000,
                };
            }
            "--out" => s.out = PathBuf::from(args.next().context("--out PATH")?),
            "--only" => {
                let name = args.next().context("--only ENDPOINT")?;
                if !scripts::NAMES.contains(&name.as_str()) {
                    bail!("unknown endpoint {name:?}; one of {:?}", scripts::NAMES);
                }
                s.only.push(name);
            }
            "--host" => {
                let name = args.next().context("--host HOST")?;
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.key() == name)
                    .with_context(|| {
                        format!("unknown host {name:?}; spin-sqlite, spin-redis or devhost")
                    })?;
                s.hosts.push(kind);
            }
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(None);
            }
            other => bail!("unknown argument {other}\n\n{HELP}"),
        }
    }
    if s.hosts.is_empty() {
        s.hosts = Kind::ALL.to_vec();
    }
    Ok(Some(s))
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

async fn raw_hello() -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(b"hello"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}

/// Rounds of the list scaling measurement, each size once per round.
const SCALING_ROUNDS: usize = 3;

/// The round with the median p50.
fn median_p50(mut rounds: Vec<Measured>) -> Measured {
    rounds.sort_by(|a, b| a.p50_ms.total_cmp(&b.p50_ms));
    rounds.get(rounds.len() / 2).copied().unwrap_or_default()
}

fn sizes(root: &Path) -> Result<Vec<(String, u64)>> {
    let release = root.join("target/wasm32-wasip2/release");
    let mut out = Vec::new();
    for name in ["baseline_kv_get", "baseline_hello"]
        .iter()
        .chain(&COMPONENTS)
        .map(|n| n.replace('-', "_"))
    {
        out.push((
            name.clone(),
            std::fs::metadata(release.join(format!("{name}.wasm")))?.len(),
        ));
    }
    Ok(out)
}

/// What every host's cells need.
struct Shared<'a> {
    s: &'a Settings,
    work: PathBuf,
    keys: KeyRing,
    seeded: Seeded,
    shares: Shares,
    launcher: Launcher<'a>,
}

/// One host during the run: its server (`None` once it could not be
/// started again), where its store is read, and its results.
struct Live<'t> {
    target: &'t Target,
    server: Option<Server>,
    meter: Option<Meter>,
    run: HostRun,
}

impl<'t> Live<'t> {
    /// Starts `target`'s host; a host that does not start is reported so.
    fn start(cx: &Shared, target: &'t Target) -> Live<'t> {
        let mut live = Live {
            target,
            server: None,
            meter: None,
            run: HostRun {
                kind: target.kind,
                startups: Vec::new(),
                cells: Vec::new(),
                scaling: None,
                error: None,
            },
        };
        let title = target.kind.title();
        let started = cx
            .launcher
            .start(target)
            .and_then(|(server, startup)| Ok((server, startup, target.meter()?)));
        match started {
            Ok((server, startup, meter)) => {
                eprintln!(
                    "bench: {title} answers at {} after {:.2}s",
                    server.base,
                    startup.first_answer.as_secs_f64()
                );
                live.run.startups.push(("start".into(), startup));
                live.server = Some(server);
                live.meter = Some(meter);
            }
            Err(e) => {
                eprintln!("bench: {title} did not start: {e:#}");
                live.run.error = Some(format!("did not start: {e:#}"));
            }
        }
        live
    }
}

/// Runs every cell on every host, the hosts taking turns cell by cell so
/// that the machine's drift (other work on a shared machine, the disk's
/// fsync times) falls on all of them alike; a host that stops answering is
/// restarted. `loads` gets the 1-minute load average after each cell.
fn measure_all(cx: &Shared, targets: &[Target], loads: &mut Vec<f64>) -> Result<Vec<HostRun>> {
    let mut hosts: Vec<Live> = targets.iter().map(|t| Live::start(cx, t)).collect();
    let levels: &[u32] = if cx.s.only.is_empty() {
        &[1, 64]
    } else {
        &[64]
    };
    for &connections in levels {
        let mut cells: Vec<(String, String, Option<PathBuf>)> = Vec::new();
        if cx.s.only.is_empty() {
            for (name, route) in [(HELLO, "/baseline/hello"), (GET, "/baseline/kv-get")] {
                cells.push((name.into(), route.into(), None));
            }
        }
        let share = if connections == 1 { 0 } else { 1 };
        for e in scripts::endpoints(&cx.work, &cx.keys, &cx.seeded, &cx.shares, share)? {
            if cx.s.only.is_empty() || cx.s.only.iter().any(|o| o == e.name) {
                cells.push((e.name.into(), e.path, Some(e.script)));
            }
        }
        for (name, path, script) in &cells {
            for live in &mut hosts {
                let (Some(server), Some(meter)) = (live.server.as_mut(), live.meter.as_mut())
                else {
                    continue;
                };
                let cell = measure_cell(
                    server,
                    meter,
                    cx,
                    live.target,
                    &mut live.run,
                    (name, path, script.as_deref(), connections),
                );
                match cell {
                    Ok(cell) => live.run.cells.push(cell),
                    Err(e) => {
                        eprintln!("bench: {}: {e:#}", live.target.kind.title());
                        live.run.error =
                            Some(format!("stopped after {name} at {connections}: {e:#}"));
                        live.server = None;
                    }
                }
                loads.push(report::load_1min());
            }
        }
    }
    if cx.s.only.is_empty() {
        list_scaling(cx, &mut hosts)?;
    }
    Ok(hosts.into_iter().map(|live| live.run).collect())
}

/// One cell: wrk, then the host's liveness, then the store's counters; a
/// host that stopped answering is restarted (on the same store) before the
/// next cell.
fn measure_cell(
    server: &mut Server,
    meter: &mut Meter,
    cx: &Shared,
    target: &Target,
    run: &mut HostRun,
    (name, path, script, connections): (&str, &str, Option<&Path>, u32),
) -> Result<Cell> {
    let title = target.kind.title();
    let before = meter.read()?;
    let measured = wrk::run(
        &format!("{}{path}", server.base),
        connections,
        cx.s.seconds,
        script,
    );
    let alive = server.check();
    let after = meter.settle(SETTLE_LIMIT)?;
    let mut cell = Cell {
        name: name.into(),
        connections,
        measured: None,
        ops: None,
        trouble: None,
        wedged: false,
    };
    match measured {
        Ok(m) => {
            eprintln!(
                "bench: {title}: {name} c={connections}: {:.0} rps, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}, errors {} (timeouts {})",
                m.rps, m.p50_ms, m.p99_ms, m.non_2xx, m.errors, m.timeouts
            );
            cell.ops = after.per_request(&before, m.requests);
            if m.requests == 0 {
                cell.trouble = Some(format!(
                    "no answer in {} s ({} timeouts of {REQUEST_TIMEOUT} s)",
                    cx.s.seconds, m.timeouts
                ));
            } else if m.timeouts > 0 {
                cell.trouble = Some(format!(
                    "{} requests unanswered after {REQUEST_TIMEOUT} s",
                    m.timeouts
                ));
            }
            cell.measured = Some(m);
        }
        Err(e) => {
            eprintln!("bench: {title}: {name} c={connections}: {e:#}");
            cell.trouble = Some(format!("wrk: {e:#}"));
        }
    }
    if let Err(seen) = alive {
        let answered = cell.measured.map_or(0, |m| m.requests);
        let what = format!(
            "{answered} answers in the {} s cell{}; then {seen}; restarted",
            cx.s.seconds,
            cell.measured
                .filter(|m| m.timeouts > 0)
                .map_or(String::new(), |m| format!(
                    ", {} requests unanswered after {REQUEST_TIMEOUT} s",
                    m.timeouts
                ))
        );
        eprintln!("bench: {title} stopped answering after {name} c={connections}: {what}");
        cell.wedged = true;
        cell.trouble = Some(what);
        server.stop();
        let (fresh, startup) = cx.launcher.start(target)?;
        *server = fresh;
        run.startups
            .push((format!("restart after {name} at {connections}"), startup));
    }
    Ok(cell)
}

/// Longest wait after a cell for the host's store work to stop.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

/// wrk's per-request timeout, for the report's words.
const REQUEST_TIMEOUT: u32 = wrk::REQUEST_TIMEOUT_S;

/// One page of 50 at one connection on each SQLite host, for a partner
/// with 1,000 invites and one with `big`; each request on a new connection.
fn list_scaling(cx: &Shared, hosts: &mut [Live]) -> Result<()> {
    let script = |partner: &str| -> Result<PathBuf> {
        lua(
            &cx.work,
            &format!("{partner}-close"),
            &header_script(&bearer(&cx.keys, partner)?, "GET", None, true),
        )
    };
    let (small_script, big_script) = (script("scale-small")?, script("scale-big")?);
    let mut rounds: Vec<(Vec<Measured>, Vec<Measured>)> = vec![Default::default(); hosts.len()];
    // The sizes and the hosts alternate, so that the machine's drift falls
    // on all alike; each keeps the median of its rounds.
    for _ in 0..SCALING_ROUNDS {
        for (live, (small, big)) in hosts.iter_mut().zip(&mut rounds) {
            let Some(server) = live.server.as_ref() else {
                continue;
            };
            if !matches!(live.target.store, SpinStore::Sqlite(_)) {
                continue;
            }
            for (script, out) in [(&small_script, &mut *small), (&big_script, &mut *big)] {
                match wrk::run(
                    &format!("{}/api/invites?limit=50", server.base),
                    1,
                    cx.s.seconds,
                    Some(script),
                ) {
                    Ok(m) => out.push(m),
                    Err(e) => eprintln!("bench: {}: list scaling: {e:#}", live.target.kind.title()),
                }
            }
        }
    }
    for (live, (small, big)) in hosts.iter_mut().zip(rounds) {
        if small.is_empty() || big.is_empty() {
            continue;
        }
        let (small, big) = (median_p50(small), median_p50(big));
        eprintln!(
            "bench: {}: list scaling: {:.3} ms at 1,000 invites, {:.3} ms at {}",
            live.target.kind.title(),
            small.p50_ms,
            big.p50_ms,
            cx.s.sizes.big
        );
        live.run.scaling = Some(Scaling { small, big });
    }
    Ok(())
}

fn main() -> Result<()> {
    let root = devhost::testing::workspace_root().canonicalize()?;
    let Some(s) = settings(&root)? else {
        return Ok(());
    };
    let mut build = vec!["build", "--quiet", "--target", "wasm32-wasip2", "--release"];
    for p in COMPONENTS
        .iter()
        .chain(&["baseline-hello", "baseline-kv-get"])
    {
        build.extend(["-p", p]);
    }
    cargo(&root, &build)?;

    let spin = devhost::testing::spin_binary()?;
    let spin_version = match &spin {
        Some(path) => Ok(devhost::testing::spin_version(path)?),
        None => Err(format!(
            "no Spin 4.1 or later found (set {} or put `spin` on PATH)",
            devhost::testing::SPIN_VARIABLE
        )),
    };
    match &spin_version {
        Ok(v) => eprintln!("bench: {v}"),
        Err(why) => eprintln!("bench: {why}: measuring devhost only"),
    }
    let hosts: Vec<Kind> = s
        .hosts
        .iter()
        .copied()
        .filter(|k| spin.is_some() || !k.is_spin())
        .collect();

    let work = root.join("target/bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let redis = if hosts.contains(&Kind::SpinRedis) {
        Some(RedisServer::start()?)
    } else {
        None
    };
    let seed_path = work.join("seed.db");
    let started = Instant::now();
    let redis_url = redis.as_ref().map(RedisServer::url);
    let seeded = seed::seed_stores(&seed_path, redis_url.as_deref(), s.sizes)?;
    let seeding = started.elapsed();
    eprintln!("bench: seeded in {:.1}s", seeding.as_secs_f64());
    let shares = Shares::write(&work, &seeded)?;

    // The limits stay on (each request still reads its counters), set far
    // above what one machine can send, so that every answer is the
    // endpoint's own; that far below them a counter is almost never written
    // (`ops/limits.rs`, strides).
    let unlimited = "1000000000".to_string();
    let variables = BTreeMap::from([
        ("signing_keys".to_string(), RING.to_string()),
        ("rate_limit_link_per_address".to_string(), unlimited.clone()),
        ("rate_limit_link_per_token".to_string(), unlimited.clone()),
        ("rate_limit_partner".to_string(), unlimited),
    ]);
    let manifest = host::devhost_manifest(&root)?;
    let values = devhost::variables::resolve(&manifest, &variables, |_| None)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cx = Shared {
        s: &s,
        keys: KeyRing::parse(RING)?,
        seeded,
        shares,
        launcher: Launcher {
            spin,
            spin_manifest: host::write_spin_manifest(&root, &work)?,
            variables,
            manifest,
            values,
            tokio: &tokio,
        },
        work: work.clone(),
    };

    let load_before = report::load_average();
    // The floor: HTTP with no Wasm and no host, in this process.
    let mut floor = Vec::new();
    if s.only.is_empty() {
        let raw = tokio.block_on(raw_hello())?;
        for connections in [1, 64] {
            let m = wrk::run(&raw, connections, s.seconds, None)?;
            eprintln!(
                "bench: raw hyper c={connections}: {:.0} rps, p50 {:.3} ms",
                m.rps, m.p50_ms
            );
            floor.push((connections, m));
        }
    }

    let mut targets = Vec::new();
    for kind in hosts {
        let store = match kind {
            Kind::SpinRedis => SpinStore::Redis(redis_url.clone().context("Redis")?),
            Kind::SpinSqlite | Kind::Devhost => {
                let copy = work.join(format!("{}.db", kind.key()));
                std::fs::copy(&seed_path, &copy).with_context(|| {
                    format!("cannot copy the seeded store to {}", copy.display())
                })?;
                // On disk before the host starts, so that its first commits
                // do not pay for writing back the copy.
                std::fs::File::open(&copy)?.sync_all()?;
                SpinStore::Sqlite(copy)
            }
        };
        targets.push(Target {
            kind,
            store,
            counts: Arc::new(Counts::default()),
        });
    }
    let mut loads = Vec::new();
    let runs = measure_all(&cx, &targets, &mut loads)?;

    let run = Run {
        seconds: s.seconds,
        unique: s.sizes.unique,
        big: s.sizes.big,
        seeding,
        spin: spin_version,
        floor,
        hosts: runs,
        sizes: sizes(&root)?,
        scaling_rounds: SCALING_ROUNDS,
        load: (load_before, report::load_average()),
        peak_load: loads.into_iter().fold(0.0, f64::max),
    };
    let text = report::render(&run);
    println!("{text}");
    if s.partial() {
        eprintln!("bench: a partial run (--only or --host): BENCHMARKS.md left as it was");
    } else {
        report::write_section(&s.out, &text)?;
    }
    Ok(())
}
