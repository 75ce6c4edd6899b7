//! The load section of BENCHMARKS.md: Spin's figures first, then devhost's,
//! then the two side by side.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::host::{Kind, Startup};
use crate::meter::PerRequest;
use crate::wrk::{Measured, REQUEST_TIMEOUT_S};

/// The hello-world baseline's row name.
pub const HELLO: &str = "baseline: hello world";
/// The single-get baseline's row name.
pub const GET: &str = "baseline: one key-value get";

/// One endpoint at one concurrency on one host.
pub struct Cell {
    pub name: String,
    pub connections: u32,
    /// `None` if wrk itself failed.
    pub measured: Option<Measured>,
    /// Store operations per request.
    pub ops: Option<PerRequest>,
    /// What went wrong, if anything.
    pub trouble: Option<String>,
    /// Whether the host stopped answering after this cell (and was restarted).
    pub wedged: bool,
}

/// List paging on one host: one connection, each request on a new one.
#[derive(Debug, Clone, Copy)]
pub struct Scaling {
    pub small: Measured,
    pub big: Measured,
}

/// One host's part of the run.
pub struct HostRun {
    pub kind: Kind,
    /// Its start and each restart, with what caused it.
    pub startups: Vec<(String, Startup)>,
    pub cells: Vec<Cell>,
    pub scaling: Option<Scaling>,
    /// Why it did not run, or stopped early.
    pub error: Option<String>,
}

impl HostRun {
    fn cell(&self, name: &str, connections: u32) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.name == name && c.connections == connections)
    }

    fn measured(&self, name: &str, connections: u32) -> Option<Measured> {
        self.cell(name, connections)?
            .measured
            .filter(|m| m.requests > 0)
    }
}

/// Everything the report says.
pub struct Run {
    pub seconds: u32,
    pub unique: usize,
    pub big: usize,
    pub seeding: Duration,
    /// `spin --version`, or why no Spin ran.
    pub spin: std::result::Result<String, String>,
    /// A raw hyper server at 1 and 64 connections.
    pub floor: Vec<(u32, Measured)>,
    pub hosts: Vec<HostRun>,
    pub sizes: Vec<(String, u64)>,
    pub scaling_rounds: usize,
    /// `/proc/loadavg`'s three averages before the first cell and after the
    /// last: other work on the machine shows here.
    pub load: (String, String),
    /// The highest 1-minute load average seen after a cell.
    pub peak_load: f64,
}

/// The 1-minute load average now (0 if unknown).
pub fn load_1min() -> f64 {
    load_average()
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0.0)
}

/// The 1, 5 and 15 minute load averages now.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn date() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
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

/// `n` with a comma every three digits, as the text around it writes numbers.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b > 0.0).then(|| a / b)
}

fn show(x: Option<f64>, digits: usize) -> String {
    x.map_or(String::new(), |x| format!("{x:.digits$}"))
}

/// The report.
pub fn render(run: &Run) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "## Load: Spin and devhost, same endpoints, same run\n");
    let _ = writeln!(
        r,
        "Command: `SPIN=<spin 4.1> cargo run --release -p bench --bin load` ({}s per cell, wrk `--latency` with a {REQUEST_TIMEOUT_S} s request timeout, 1 connection and 64). Machine: {}. Date: {}.",
        run.seconds,
        machine(),
        date()
    );
    let _ = writeln!(
        r,
        "Load average (1, 5, 15 min) before the first cell {}, after the last {}, at most {:.2} (1 min) after any cell: other work on this shared machine during the run shows there, and fsync'd commits slow down with any other writer on the disk.",
        run.load.0, run.load.1, run.peak_load
    );
    match &run.spin {
        Ok(version) => {
            let _ = writeln!(r, "Spin: `{version}`.");
        }
        Err(why) => {
            let _ = writeln!(r, "**No Spin ran: {why}.** Only devhost's figures follow.");
        }
    }
    let _ = writeln!(
        r,
        "\nOne seeding ({:.0} s) wrote {} invites of partner `bench` (200 of them redeemed), as many organizations, and the list-scaling partners (1,000 and {} invites, two others with 1,000) into a SQLite file and into Redis at once; each host serves its own copy, so every host starts from the same data and the redemptions and connection requests of one never use up another's. The SQLite copies are in Spin's journal mode (a rollback journal; Spin and devhost both commit each write with an fsync). The three hosts run side by side: Spin with its SQLite store, Spin with Redis, and devhost with its faithful defaults (instances reused and answers written as Spin does, Spin's SQLite settings) in this process; they take turns cell by cell (each cell runs on one host while the others idle), so that the drift of a shared machine falls on all of them alike.\n",
        run.seeding.as_secs_f64(),
        thousands(run.unique),
        thousands(run.big)
    );
    let _ = writeln!(
        r,
        "*1 connection* is one keep-alive connection (`wrk -c1 -t1`): the latency a pooled client sees. *64* is 64 connections on 2 wrk threads: throughput. Ratios compare with the same host's baselines at the same concurrency in the same run: *÷ get* with the component that does one key-value get, *÷ hello* with hello-world. Store operations per request (from the start of the cell until the store's counters stood still for 0.4 s (at most 15 s after it), divided by wrk's answered requests: the requests wrk left in flight finish in that time and count, so a slow cell at 64 connections overstates its figure by up to 64 requests' work; the one-connection figures are exact to one request): *commits*, SQLite write transactions, read from the file header's change counter (Spin and devhost alike); *reads* and *writes*, on devhost the calls it served (a get, a get-many and a swap's read of the current value are a read each; a set, delete, increment or swap a write), on Redis the commands Redis ran (`INFO commandstats`: GET, MGET, EXISTS, KEYS, SCAN; SET, MSET, DEL, INCRBY, EVALSHA and the like; a SET inside an aborted `MULTI`/`EXEC` is not run); *EXEC*, Redis transactions (compare-and-swaps that reached their swap); *Redis conns*, connections Redis accepted (Spin opens one for every compare-and-swap). After each cell the host must answer `GET /api/capabilities` (no store) and `GET /baseline/kv-get` (one store read), each within 3 s (three tries a second apart); if it does not, the cell is marked *wedged*, with what the probes saw, and the host is restarted on the same store.\n"
    );
    goals(&mut r, run);
    for host in &run.hosts {
        host_section(&mut r, run, host);
    }
    side_by_side(&mut r, run);
    startups(&mut r, run);
    wedges(&mut r, run);
    scaling(&mut r, run);
    sizes(&mut r, run);
    r
}

/// A median at one connection from which the delayed-ACK stall (40 ms on
/// Linux) is taken to be in it.
const STALL_MS: f64 = 38.0;

/// One store-operations column: its figure of a cell.
type Column = fn(&PerRequest) -> Option<f64>;

fn host_section(r: &mut String, run: &Run, host: &HostRun) {
    let _ = writeln!(r, "### {}\n", host.kind.title());
    if let Some(e) = &host.error {
        let _ = writeln!(r, "**Did not finish: {e}**\n");
    }
    if host.cells.is_empty() {
        return;
    }
    let has = |f: Column| {
        host.cells
            .iter()
            .any(|c| c.ops.as_ref().and_then(f).is_some())
    };
    let columns: Vec<(&str, Column)> = [
        ("reads", (|p: &PerRequest| p.reads) as Column),
        ("writes", |p| p.writes),
        ("commits", |p| p.commits),
        ("EXEC", |p| p.execs),
        ("Redis conns", |p| p.connections),
    ]
    .into_iter()
    .filter(|(_, f)| has(*f))
    .collect();
    let notes = host.cells.iter().any(|c| c.trouble.is_some());
    let _ = write!(
        r,
        "| endpoint | conn | req/s | p50 ms | p99 ms | non-2xx | errors | req/s ÷ get | req/s ÷ hello | p50 ÷ get | p50 ÷ hello |"
    );
    for (name, _) in &columns {
        let _ = write!(r, " {name} |");
    }
    if notes {
        let _ = write!(r, " note |");
    }
    let _ = write!(
        r,
        "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for _ in &columns {
        let _ = write!(r, "---:|");
    }
    if notes {
        let _ = write!(r, "---|");
    }
    r.push('\n');
    for c in &host.cells {
        let m = c.measured.unwrap_or_default();
        let get = host.measured(GET, c.connections).unwrap_or_default();
        let hello = host.measured(HELLO, c.connections).unwrap_or_default();
        let name = if c.wedged {
            format!("**{}: wedged**", c.name)
        } else {
            c.name.clone()
        };
        let _ = write!(
            r,
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |",
            c.connections,
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.non_2xx,
            m.errors,
            show(ratio(m.rps, get.rps), 2),
            show(ratio(m.rps, hello.rps), 2),
            show(ratio(m.p50_ms, get.p50_ms), 2),
            show(ratio(m.p50_ms, hello.p50_ms), 2),
        );
        for (_, f) in &columns {
            let _ = write!(r, " {} |", show(c.ops.as_ref().and_then(f), 2));
        }
        if notes {
            let _ = write!(r, " {} |", c.trouble.as_deref().unwrap_or(""));
        }
        r.push('\n');
    }
    let raw = run
        .floor
        .iter()
        .find(|(c, _)| *c == 1)
        .map(|(_, m)| *m)
        .unwrap_or_default();
    let ones: Vec<&Cell> = host
        .cells
        .iter()
        .filter(|c| c.connections == 1 && c.name != HELLO)
        .collect();
    let stalled = ones
        .iter()
        .filter(|c| c.measured.is_some_and(|m| m.p50_ms >= STALL_MS))
        .count();
    if !ones.is_empty() {
        let _ = writeln!(
            r,
            "\nAt one keep-alive connection {stalled} of the {} rows after hello-world (the single get and the endpoints, each of which awaits a host call) have a median of {STALL_MS:.0} ms or more: the stall of an answer whose body, written after its head on a connection without `TCP_NODELAY`, waits for the client's delayed ACK (Nagle's algorithm).",
            ones.len()
        );
    }
    if let (Some(hello), Some(get)) = (host.measured(HELLO, 1), host.measured(GET, 1)) {
        let _ = writeln!(
            r,
            "\nAt one keep-alive connection: hello-world {:.3} ms median, one key-value get {:.3} ms, a raw hyper server in this process (no Wasm, body written with its head) {:.3} ms.",
            hello.p50_ms, get.p50_ms, raw.p50_ms
        );
    }
    r.push('\n');
}

/// The throughput goals on Spin with SQLite at 64 connections, as a
/// fraction of the single-get baseline's, and the store write budgets
/// (SQLite commits per request at one connection).
const GOALS: [(&str, f64, f64); 7] = [
    ("generate", 0.045, 2.0),
    ("redeem preview", 0.3, 0.0),
    ("redeem", 0.02, 4.0),
    ("list page (50)", 0.3, 0.0),
    ("relationship", 0.0, 0.0),
    ("customers", 0.3, 0.0),
    ("connection request", 0.0, 4.0),
];

/// One keep-alive connection on Spin with SQLite: the most a median and a
/// 99th percentile may take, in milliseconds.
const KEEP_ALIVE_GOAL_MS: (f64, f64) = (3.0, 10.0);

fn held(ok: bool) -> &'static str {
    if ok { "held" } else { "**missed**" }
}

/// The goals of the performance work, each held or missed with its figure.
fn goals(r: &mut String, run: &Run) {
    let Some(spin) = run.hosts.iter().find(|h| h.kind == Kind::SpinSqlite) else {
        return;
    };
    let _ = writeln!(
        r,
        "### Goals on Spin
"
    );
    let _ = writeln!(
        r,
        "Spin with SQLite: throughput at 64 connections as a fraction of the single-get baseline's (*÷ get*), store write transactions per request at one connection against the write budget, and one keep-alive connection's median and 99th percentile against {} ms and {} ms.\n",
        KEEP_ALIVE_GOAL_MS.0, KEEP_ALIVE_GOAL_MS.1
    );
    let _ = writeln!(
        r,
        "| endpoint | ÷ get (64) | goal | | commits (1) | budget | | p50 / p99 ms (1) | |\n|---|---:|---:|---|---:|---:|---|---:|---|"
    );
    let get = spin.measured(GET, 64).map_or(0.0, |m| m.rps);
    for (name, floor, budget) in GOALS {
        let share = ratio(spin.measured(name, 64).map_or(0.0, |m| m.rps), get);
        let commits = spin
            .cell(name, 1)
            .and_then(|c| c.ops.as_ref())
            .and_then(|o| o.commits);
        let one = spin.measured(name, 1);
        let throughput = match (floor > 0.0, share) {
            (false, _) => String::new(),
            (true, Some(x)) => held(x >= floor).into(),
            (true, None) => "n/a".into(),
        };
        // Within half a write of the budget: a cell's count includes its
        // share of the work after the answers (redelivery), rounded.
        let writes = commits.map_or("n/a", |c| held(c <= budget + 0.5));
        let latency = one.map_or("n/a", |m| {
            held(m.p50_ms < KEEP_ALIVE_GOAL_MS.0 && m.p99_ms < KEEP_ALIVE_GOAL_MS.1)
        });
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {throughput} | {} | {budget} | {writes} | {} | {latency} |",
            show(share, 3),
            if floor > 0.0 {
                format!("{floor}")
            } else {
                String::new()
            },
            show(commits, 2),
            one.map_or(String::new(), |m| format!(
                "{:.2} / {:.2}",
                m.p50_ms, m.p99_ms
            )),
        );
    }
    if let Some(redis) = run.hosts.iter().find(|h| h.kind == Kind::SpinRedis) {
        let wedged: Vec<String> = redis
            .cells
            .iter()
            .filter(|c| c.wedged)
            .map(|c| format!("{} at {}", c.name, c.connections))
            .collect();
        let _ = writeln!(
            r,
            "\nSpin with Redis, every endpoint at 64 connections and then every route still answering: {}.",
            if wedged.is_empty() {
                "held".to_string()
            } else {
                format!("**missed**, wedged after {}", wedged.join(", "))
            }
        );
    }
    r.push('\n');
}

/// Whether `devhost / spin` is within a factor of 2 either way.
fn within_2x(x: Option<f64>) -> Option<bool> {
    x.map(|x| (0.5..=2.0).contains(&x))
}

fn side_by_side(r: &mut String, run: &Run) {
    let spin = run.hosts.iter().find(|h| h.kind == Kind::SpinSqlite);
    let devhost = run.hosts.iter().find(|h| h.kind == Kind::Devhost);
    let (Some(spin), Some(devhost)) = (spin, devhost) else {
        return;
    };
    let _ = writeln!(
        r,
        "### Side by side: devhost against Spin, both on SQLite\n"
    );
    let _ = writeln!(
        r,
        "*Within 2x*: devhost's throughput at 64 connections and its median at one connection are each between half and twice Spin's.\n"
    );
    let _ = writeln!(
        r,
        "| endpoint | Spin req/s (64) | devhost req/s (64) | devhost ÷ Spin req/s | Spin p50 / p99 ms (1) | devhost p50 / p99 ms (1) | devhost ÷ Spin p50 | within 2x? |\n|---|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut names: Vec<&str> = Vec::new();
    for c in &spin.cells {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    for name in names {
        let (s64, d64) = (spin.measured(name, 64), devhost.measured(name, 64));
        let (s1, d1) = (spin.measured(name, 1), devhost.measured(name, 1));
        let rps = ratio(d64.map_or(0.0, |m| m.rps), s64.map_or(0.0, |m| m.rps));
        let p50 = ratio(d1.map_or(0.0, |m| m.p50_ms), s1.map_or(0.0, |m| m.p50_ms));
        let verdict = match (within_2x(rps), within_2x(p50)) {
            (Some(true), Some(true)) => "yes".to_string(),
            (Some(a), Some(b)) => format!(
                "**no** ({})",
                [(!a).then_some("throughput"), (!b).then_some("latency")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "n/a (a cell is missing or wedged)".into(),
        };
        let wedged = |h: &HostRun, c| h.cell(name, c).is_some_and(|c| c.wedged);
        let mark = |x: String, w: bool| if w { format!("{x} (wedged)") } else { x };
        let latency = |m: Option<Measured>| {
            m.map_or(String::new(), |m| {
                format!("{:.2} / {:.2}", m.p50_ms, m.p99_ms)
            })
        };
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {} | {} | {} | {} | {verdict} |",
            mark(show(s64.map(|m| m.rps), 0), wedged(spin, 64)),
            mark(show(d64.map(|m| m.rps), 0), wedged(devhost, 64)),
            show(rps, 3),
            mark(latency(s1), wedged(spin, 1)),
            mark(latency(d1), wedged(devhost, 1)),
            show(p50, 3),
        );
    }
    r.push('\n');
}

fn startups(r: &mut String, run: &Run) {
    let _ = writeln!(r, "### Startup\n");
    let _ = writeln!(
        r,
        "From the host's start to its first answer (`GET /api/capabilities`). Spin: from spawning `spin up` (it loads the seven components; wasmtime's compiled-code cache, if it has these files, spares the compilation) to listening and to the first answer. devhost: in this process, from loading the seven components (compiling them) to the first answer.\n"
    );
    let _ = writeln!(
        r,
        "| host | start | to listening s | to first answer s |\n|---|---|---:|---:|"
    );
    for host in &run.hosts {
        for (why, s) in &host.startups {
            let _ = writeln!(
                r,
                "| {} | {why} | {:.2} | {:.2} |",
                host.kind.title(),
                s.listening.as_secs_f64(),
                s.first_answer.as_secs_f64()
            );
        }
    }
    r.push('\n');
}

fn wedges(r: &mut String, run: &Run) {
    let _ = writeln!(r, "### Wedged hosts\n");
    let mut any = false;
    for host in &run.hosts {
        for c in host.cells.iter().filter(|c| c.wedged) {
            any = true;
            let _ = writeln!(
                r,
                "- {}, {} at {} connection{}: {}",
                host.kind.title(),
                c.name,
                c.connections,
                if c.connections == 1 { "" } else { "s" },
                c.trouble.as_deref().unwrap_or("stopped answering")
            );
        }
    }
    if !any {
        let _ = writeln!(r, "No host stopped answering in this run.");
    }
    r.push('\n');
}

fn scaling(r: &mut String, run: &Run) {
    let _ = writeln!(r, "## List scaling\n");
    let mut any = false;
    for host in &run.hosts {
        let Some(Scaling { small, big }) = host.scaling else {
            continue;
        };
        any = true;
        let _ = writeln!(
            r,
            "On {}: one page of 50 invites (one connection, each request on a new connection (`Connection: close`, so Nagle's stall on a kept-alive connection does not hide the page's own time); median latency; {} alternating rounds, the median round of each), partner with 1,000 invites: {:.3} ms; partner with {} invites: {:.3} ms; ratio {:.2}. Other partners' invites share the store.\n",
            host.kind.title(),
            run.scaling_rounds,
            small.p50_ms,
            thousands(run.big),
            big.p50_ms,
            big.p50_ms / small.p50_ms.max(1e-9)
        );
    }
    if !any {
        let _ = writeln!(r, "Not measured in this run.\n");
    }
}

fn sizes(r: &mut String, run: &Run) {
    let _ = writeln!(r, "## Component sizes (release, `wasm32-wasip2`)\n");
    let base = run.sizes.first().map_or(1, |(_, b)| *b).max(1);
    let _ = writeln!(
        r,
        "| component | bytes | vs key-value baseline |\n|---|---:|---:|"
    );
    for (name, bytes) in &run.sizes {
        let _ = writeln!(
            r,
            "| {name} | {bytes} | {:.2} |",
            *bytes as f64 / base as f64
        );
    }
}

/// Replaces the text between the load markers of `path`, or appends it.
pub fn write_section(path: &Path, report: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
