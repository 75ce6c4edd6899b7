//! `cargo run --release -p bench --bin load`: every endpoint of the app served
//! by devhost, next to a hello-world and a single-get baseline component and
//! a raw hyper server, all measured in the same run with `wrk`; list paging
//! at 1,000 and 100,000 invites; component sizes. Writes the results into
//! `BENCHMARKS.md` between the `load` markers.

mod counted;
mod direct;
mod wrk;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use counted::{Counted, Counts};
use devhost::manifest::{Component, HttpTrigger, Manifest};
use devhost::server::{Limits, Runtime, serve};
use direct::Direct;
use partner_invites::auth::Principal;
use partner_invites::clock::SystemClock;
use partner_invites::ops::{App, Config, StatusFilter};
use partner_invites::outbound::RecordingTransport;
use partner_invites::random::OsEntropy;
use partner_invites::store::KeyValue;
use partner_invites::token::{Claims, KeyRing, Purpose, Role};
use wrk::Measured;

const RING: &str = "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const COMPONENTS: [&str; 5] = [
    "generate-invite",
    "redeem-invite",
    "list-invites",
    "connect-existing-organization",
    "partner-settings",
];

struct Settings {
    seconds: u32,
    unique: usize,
    big: usize,
    out: PathBuf,
    /// With `--only`: just these endpoints, at 64 connections, without the
    /// baselines, printed and not written: a run to profile under `perf`.
    only: Vec<String>,
}

fn settings(root: &Path) -> Result<Settings> {
    let mut s = Settings {
        seconds: 5,
        unique: 25_000,
        big: 100_000,
        out: root.join("BENCHMARKS.md"),
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => s.seconds = args.next().context("--seconds N")?.parse()?,
            "--quick" => {
                s.seconds = 2;
                s.unique = 8_000;
                s.big = 10_000;
            }
            "--out" => s.out = PathBuf::from(args.next().context("--out PATH")?),
            "--only" => s.only.push(args.next().context("--only ENDPOINT")?),
            other => bail!(
                "unknown argument {other}; use --seconds N, --quick, --out PATH, --only ENDPOINT"
            ),
        }
    }
    Ok(s)
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

fn bearer(keys: &KeyRing, partner: &str) -> Result<String> {
    let now = partner_invites::clock::Clock::now(&SystemClock);
    Ok(keys.sign(&Claims {
        purpose: Purpose::Access,
        record_id: "at_bench".into(),
        partner_id: Some(partner.into()),
        organization_id: None,
        subject: Some("bench".into()),
        role: Some(Role::Partner),
        issued_at: now,
        expires_at: now + 24 * 3600,
        generation: 0,
    })?)
}

fn invite_body(i: usize) -> String {
    format!(
        r#"{{"connection":"msp","send_email":false,"customer":{{"company":{{"name":"Customer {i}","address":{{"country":"DE"}}}},"contact":{{"first_name":"Ada","last_name":"Lovelace","email":"ada{i}@customer.example"}}}}}}"#
    )
}

/// What the endpoints need, seeded.
struct Seeded {
    /// Invite tokens to redeem.
    tokens: Vec<String>,
    /// Organizations to ask for.
    organizations: Vec<String>,
    /// One of partner "bench"'s relationships.
    relationship: String,
}

/// Seeds what the endpoints need.
async fn seed(app: &App<Direct, RecordingTransport>, s: &Settings) -> Result<Seeded> {
    let profile =
        r#"{"display_name":"Bench Partner","billing_accounts":["billing@bench.example"]}"#;
    let bench = Principal::Partner {
        partner_id: "bench".into(),
        user: None,
    };
    app.partners()
        .put(&bench, serde_json::from_str(profile)?)
        .await?;
    let mut tokens = Vec::with_capacity(s.unique);
    for i in 0..s.unique {
        let view = app
            .invites()
            .create(&bench, serde_json::from_str(&invite_body(i))?, None)
            .await?;
        tokens.push(view.token.context("token")?);
    }
    // Some customers for the customers list, through real redemptions.
    for token in tokens.drain(..200) {
        app.redemption()
            .redeem(
                None,
                serde_json::from_str(&format!(r#"{{"token":"{token}"}}"#))?,
            )
            .await?;
    }
    // Organizations for connection requests, by partner "bench-connect".
    let mut organizations = Vec::with_capacity(s.unique);
    for i in 0..s.unique {
        let id = format!("org_bench{i}");
        let org = partner_invites::domain::Organization {
            id: partner_invites::domain::OrganizationId::parse(&id).context("org id")?,
            details: Default::default(),
            admin_email: format!("admin{i}@org.example"),
            admins: Vec::new(),
            settings: Default::default(),
            created_at: 0,
            source: Default::default(),
        };
        // The ledger first, as every organization has one before it can be read.
        let records = app.records();
        records
            .put(
                &partner_invites::store::keys::ledger(&id),
                &partner_invites::domain::Ledger::default(),
            )
            .await?;
        records
            .put(&partner_invites::store::keys::organization(&id), &org)
            .await?;
        organizations.push(id);
    }
    // List scaling: a partner with 1,000 invites and one with 100,000, among others.
    for (partner, n) in [
        ("scale-small", 1_000),
        ("scale-big", s.big),
        ("other-a", 1_000),
        ("other-b", 1_000),
    ] {
        let who = Principal::Partner {
            partner_id: partner.into(),
            user: None,
        };
        for i in 0..n {
            app.invites()
                .create(&who, serde_json::from_str(&invite_body(i))?, None)
                .await?;
        }
    }
    app.store.set("baseline", b"baseline value").await?;
    let customers = app
        .relationships()
        .customers(&bench, StatusFilter::All, Default::default())
        .await?;
    let relationship = customers
        .items
        .first()
        .context("a customer")?
        .relationship_id
        .clone();
    Ok(Seeded {
        tokens,
        organizations,
        relationship,
    })
}

fn lua(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn header_script(bearer: &str, method: &str, body: Option<&str>) -> String {
    let mut s = format!(
        "wrk.method = \"{method}\"\nwrk.headers[\"authorization\"] = \"Bearer {bearer}\"\nwrk.headers[\"accept\"] = \"application/json\"\n"
    );
    if let Some(b) = body {
        let _ = write!(
            s,
            "wrk.headers[\"content-type\"] = \"application/json\"\nwrk.body = [[{b}]]\n"
        );
    }
    s
}

/// A script that sends each line of `list` once, split between the two wrk threads.
fn unique_script(list: &Path, path: &str, bearer: Option<&str>, body: &str) -> String {
    let auth = bearer.map_or(String::new(), |b| {
        format!("[\"authorization\"] = \"Bearer {b}\", ")
    });
    format!(
        r#"local items = {{}}
for line in io.lines("{list}") do items[#items + 1] = line end
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local i = 0
function request()
  i = i + 1
  local index = ((tid or 0) * math.floor(#items / 2) + i - 1) % #items + 1
  local body = string.format('{body}', items[index])
  return wrk.format("POST", "{path}", {{ {auth}["content-type"] = "application/json" }}, body)
end
"#,
        list = list.display()
    )
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

fn bench_manifest(root: &Path) -> Result<Manifest> {
    let mut manifest = Manifest::load(&root.join("spin.toml"))?;
    let release = root.join("target/wasm32-wasip2/release");
    for (id, file, route) in [
        ("baseline-hello", "baseline_hello.wasm", "/baseline/hello"),
        (
            "baseline-kv-get",
            "baseline_kv_get.wasm",
            "/baseline/kv-get",
        ),
    ] {
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

fn main() -> Result<()> {
    let root = devhost::testing::workspace_root().canonicalize()?;
    let s = settings(&root)?;
    let mut build = vec!["build", "--quiet", "--target", "wasm32-wasip2", "--release"];
    for p in COMPONENTS
        .iter()
        .chain(&["baseline-hello", "baseline-kv-get"])
    {
        build.extend(["-p", p]);
    }
    cargo(&root, &build)?;

    let work = root.join("target/bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let kv = devhost::kv::open(&work.join("kv.db").to_string_lossy())?;
    let keys = KeyRing::parse(RING)?;
    let seeding = App {
        store: Direct(kv.clone()),
        transport: RecordingTransport::default(),
        keys: KeyRing::parse(RING)?,
        clock: Box::new(SystemClock),
        random: Box::new(OsEntropy),
        config: Config {
            public_base_url: "http://bench".into(),
            mail_relay_url: None,
            vendor_name: "Vendor".into(),
            ..Config::default()
        },
    };
    let started = std::time::Instant::now();
    let Seeded {
        tokens,
        organizations,
        relationship,
    } = futures::executor::block_on(seed(&seeding, &s))?;
    eprintln!("bench: seeded in {:.1}s", started.elapsed().as_secs_f64());
    // Redemptions and connection requests each need a fresh item per request:
    // the two concurrency levels get disjoint shares (a third and two thirds),
    // so the second run never replays what the first one used up.
    let split = |items: &[String], name: &str| -> Result<[PathBuf; 2]> {
        let (first, second) = items.split_at(items.len() / 3);
        let mut files = [
            work.join(format!("{name}-1.txt")),
            work.join(format!("{name}-64.txt")),
        ];
        for (file, part) in files.iter_mut().zip([first, second]) {
            std::fs::write(&*file, part.join("\n"))?;
        }
        Ok(files)
    };
    let token_files = split(&tokens, "tokens")?;
    let org_files = split(&organizations, "organizations")?;

    let manifest = bench_manifest(&root)?;
    // The limits stay on (each request still counts itself), set far above
    // what one machine can send, so that every answer is the endpoint's own.
    let unlimited = "1000000000".to_string();
    let overrides = BTreeMap::from([
        ("signing_keys".to_string(), RING.to_string()),
        ("rate_limit_link_per_address".to_string(), unlimited.clone()),
        ("rate_limit_link_per_token".to_string(), unlimited.clone()),
        ("rate_limit_partner".to_string(), unlimited),
    ]);
    let values = devhost::variables::resolve(&manifest, &overrides, |_| None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let counts = Arc::new(Counts::default());
    let counted = Arc::new(Counted {
        inner: kv.clone(),
        counts: counts.clone(),
    });
    let host = Arc::new(Runtime::new(
        &manifest,
        &values,
        counted,
        Limits::default(),
    )?);
    let (base, raw) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(serve(listener, host, std::future::pending()));
        anyhow::Ok((base, raw_hello().await?))
    })?;

    let bench = bearer(&keys, "bench")?;
    let preview_token = tokens.last().context("tokens")?.clone();
    let scripts = |share: usize| -> Result<Vec<(&str, &str, Option<PathBuf>)>> {
        Ok(vec![
            (
                "generate",
                "/api/invites/generate",
                Some(lua(
                    &work,
                    "generate",
                    &header_script(&bench, "POST", Some(&invite_body(0))),
                )?),
            ),
            (
                "redeem preview",
                "/invite/PREVIEW",
                Some(lua(
                    &work,
                    "preview",
                    "wrk.headers[\"accept\"] = \"application/json\"\n",
                )?),
            ),
            (
                "redeem",
                "/api/invites/redeem",
                Some(lua(
                    &work,
                    "redeem",
                    &unique_script(
                        &token_files[share],
                        "/api/invites/redeem",
                        None,
                        r#"{"token":"%s"}"#,
                    ),
                )?),
            ),
            (
                "list page (50)",
                "/api/invites?limit=50",
                Some(lua(&work, "list", &header_script(&bench, "GET", None))?),
            ),
            (
                "relationship",
                "/api/relationships/RELATIONSHIP",
                Some(lua(
                    &work,
                    "relationship",
                    &header_script(&bench, "GET", None),
                )?),
            ),
            (
                "customers",
                "/api/customers?limit=50",
                Some(lua(
                    &work,
                    "customers",
                    &header_script(&bench, "GET", None),
                )?),
            ),
            (
                "connection request",
                "/api/connections",
                Some(lua(
                    &work,
                    "connect",
                    &unique_script(
                        &org_files[share],
                        "/api/connections",
                        Some(&bearer(&keys, "bench-connect")?),
                        r#"{"organization_id":"%s","connection":"msp"}"#,
                    ),
                )?),
            ),
        ])
    };

    let mut rows: Vec<(String, u32, Measured)> = Vec::new();
    // Store reads and writes per request, by endpoint, at 64 connections.
    let mut trips: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let levels: &[u32] = if s.only.is_empty() { &[1, 64] } else { &[64] };
    for (share, &connections) in levels.iter().enumerate() {
        // The floors every endpoint is compared with; not when profiling.
        let baselines = [
            ("raw hyper (no Wasm)", raw.clone()),
            ("baseline: hello world", format!("{base}/baseline/hello")),
            (
                "baseline: one key-value get",
                format!("{base}/baseline/kv-get"),
            ),
        ];
        for (name, url) in baselines.iter().filter(|_| s.only.is_empty()) {
            let m = wrk::run(url, connections, s.seconds, None)?;
            rows.push((name.to_string(), connections, m));
        }
        for (name, path, script) in &scripts(share)? {
            if !s.only.is_empty() && !s.only.iter().any(|o| o == name) {
                continue;
            }
            let path = path
                .replace("PREVIEW", &preview_token)
                .replace("RELATIONSHIP", &relationship);
            let (reads, writes) = counts.now();
            let m = wrk::run(
                &format!("{base}{path}"),
                connections,
                s.seconds,
                script.as_deref(),
            )?;
            let (reads_after, writes_after) = counts.now();
            if connections == 64 && m.requests > 0 {
                let per = |n: u64| n as f64 / m.requests as f64;
                trips.insert(
                    name.to_string(),
                    (per(reads_after - reads), per(writes_after - writes)),
                );
            }
            eprintln!(
                "bench: {name} c={connections}: {:.0} rps, p50 {:.2} ms, p99 {:.2} ms, non-2xx {}",
                m.rps, m.p50_ms, m.p99_ms, m.non_2xx
            );
            rows.push((name.to_string(), connections, m));
        }
    }

    if !s.only.is_empty() {
        for (name, connections, m) in &rows {
            let (reads, writes) = trips.get(name).copied().unwrap_or_default();
            println!(
                "{name} c={connections}: {:.0} rps, {reads:.1} store reads and {writes:.1} writes a request",
                m.rps
            );
        }
        return Ok(());
    }
    let list_script = |partner: &str| -> Result<PathBuf> {
        lua(
            &work,
            partner,
            &header_script(&bearer(&keys, partner)?, "GET", None),
        )
    };
    // The two sizes alternate, so that the machine's drift over the run
    // falls on both alike; each keeps the median of its rounds.
    let (small_script, big_script) = (list_script("scale-small")?, list_script("scale-big")?);
    let mut small = Vec::new();
    let mut big = Vec::new();
    for _ in 0..SCALING_ROUNDS {
        for (script, out) in [(&small_script, &mut small), (&big_script, &mut big)] {
            out.push(wrk::run(
                &format!("{base}/api/invites?limit=50"),
                1,
                s.seconds,
                Some(script),
            )?);
        }
    }
    let (small, big) = (median_p50(small), median_p50(big));

    let report = report(&s, &rows, &trips, (small, big), &sizes(&root)?);
    println!("{report}");
    write_section(&s.out, &report)?;
    Ok(())
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
        .chain(&COMPONENTS.map(|c| c))
        .map(|n| n.replace('-', "_"))
    {
        out.push((
            name.clone(),
            std::fs::metadata(release.join(format!("{name}.wasm")))?.len(),
        ));
    }
    Ok(out)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

fn report(
    s: &Settings,
    rows: &[(String, u32, Measured)],
    trips: &BTreeMap<String, (f64, f64)>,
    (small, big): (Measured, Measured),
    sizes: &[(String, u64)],
) -> String {
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut r = String::new();
    let _ = writeln!(r, "## Load: endpoints against baselines (same run)\n");
    let _ = writeln!(
        r,
        "Command: `cargo run --release -p bench --bin load` ({}s per cell, wrk `--latency`, 1 and 64 connections). Machine: {}. Date: {date}.",
        s.seconds,
        machine()
    );
    let _ = writeln!(
        r,
        "devhost serves the release `.wasm` components with a SQLite store; a fresh instance per request, pre-instantiation, pooled instances reset as Spin 4.1 resets them (2 MiB of memory kept resident and cleared by memset). Throughput is also given as a fraction of the hello-world component's, and p99 as a multiple of its p99, at the same concurrency. *Own work* (at 64 connections, where both cores are busy) is the CPU time of one request beyond hello-world's: 2 cores divided by its requests per second, minus the same for hello-world. *Reads* and *writes* are the store operations one request made at 64 connections, counted in the host (a get, a get-many and a swap's read of the current value are a read each; each key set or deleted, each increment and each swap a write), the limits and the redelivery after the answer included: on SQLite every write is a transaction that waits for the one write lock.\n"
    );
    let _ = writeln!(
        r,
        "| endpoint | conn | req/s | p50 ms | p99 ms | non-2xx | req/s vs hello | p99 vs hello | own work µs | reads | writes |"
    );
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, c, m) in rows {
        let hello = rows
            .iter()
            .find(|(n, hc, _)| n == "baseline: hello world" && hc == c)
            .map(|(_, _, h)| *h)
            .unwrap_or_default();
        let own = match (*c, name.as_str()) {
            (64, n) if !n.starts_with("raw") && !n.starts_with("baseline: hello") => {
                own_work_us(m.rps, hello.rps).map_or("".into(), |us| format!("{us:.0}"))
            }
            _ => String::new(),
        };
        let (reads, writes) = match trips.get(name) {
            Some((reads, writes)) if *c == 64 => (format!("{reads:.1}"), format!("{writes:.1}")),
            _ => (String::new(), String::new()),
        };
        let _ = writeln!(
            r,
            "| {name} | {c} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {own} | {reads} | {writes} |",
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.non_2xx,
            if hello.rps > 0.0 {
                m.rps / hello.rps
            } else {
                0.0
            },
            if hello.p99_ms > 0.0 {
                m.p99_ms / hello.p99_ms
            } else {
                0.0
            }
        );
    }
    let raw = rows
        .iter()
        .find(|(n, c, _)| n.starts_with("raw") && *c == 1)
        .map(|(_, _, m)| *m)
        .unwrap_or_default();
    let hello = rows
        .iter()
        .find(|(n, c, _)| n == "baseline: hello world" && *c == 1)
        .map(|(_, _, m)| *m)
        .unwrap_or_default();
    let _ = writeln!(
        r,
        "\nHost overhead at one connection: hello-world through devhost {:.3} ms median against {:.3} ms for a raw hyper server: about {:.0} µs per request for routing, a fresh instance and the component itself.\n",
        hello.p50_ms,
        raw.p50_ms,
        (hello.p50_ms - raw.p50_ms) * 1000.0
    );
    let _ = writeln!(r, "## List scaling\n");
    let _ = writeln!(
        r,
        "One page of 50 invites (one connection, median latency; {SCALING_ROUNDS} alternating rounds, the median round of each), partner with 1,000 invites: {:.3} ms; partner with {} invites: {:.3} ms; ratio {:.2}. Other partners' invites share the store.\n",
        small.p50_ms,
        s.big,
        big.p50_ms,
        big.p50_ms / small.p50_ms.max(1e-9)
    );
    let _ = writeln!(r, "## Component sizes (release, `wasm32-wasip2`)\n");
    let base = sizes.first().map_or(1, |(_, b)| *b).max(1);
    let _ = writeln!(
        r,
        "| component | bytes | vs key-value baseline |\n|---|---:|---:|"
    );
    for (name, bytes) in sizes {
        let _ = writeln!(
            r,
            "| {name} | {bytes} | {:.2} |",
            *bytes as f64 / base as f64
        );
    }
    r
}

/// The CPU time of one request beyond hello-world's, in µs, with both cores
/// busy: 2 cores / its throughput − 2 cores / hello-world's.
fn own_work_us(rps: f64, hello_rps: f64) -> Option<f64> {
    let cores = 2.0;
    (rps > 0.0 && hello_rps > 0.0).then(|| (cores / rps - cores / hello_rps) * 1e6)
}

/// Replaces the text between the load markers of `path`, or appends it.
fn write_section(path: &Path, report: &str) -> Result<()> {
    const BEGIN: &str = "<!-- load:begin -->";
    const END: &str = "<!-- load:end -->";
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!("{BEGIN}\n{report}{END}");
    let next = match (current.find(BEGIN), current.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{section}{}", &current[..b], &current[e + END.len()..])
        }
        _ => format!("{}\n{section}\n", current.trim_end()),
    };
    std::fs::write(path, next)?;
    Ok(())
}
