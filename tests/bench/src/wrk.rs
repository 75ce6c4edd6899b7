//! Runs `wrk` and reads its report. Every run is bounded: wrk's own duration
//! and request timeout, and a kill if it outlives them (a host that stops
//! answering must not stop the benchmark).

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long wrk waits for one answer before counting a timeout.
pub const REQUEST_TIMEOUT_S: u32 = 5;

/// How long past its duration a wrk run may take before it is killed.
const GRACE: Duration = Duration::from_secs(20);

/// What one `wrk` run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// Requests answered.
    pub requests: u64,
    /// Socket errors of every kind (connect, read, write, timeout).
    pub errors: u64,
    /// Of `errors`, requests not answered within [`REQUEST_TIMEOUT_S`].
    pub timeouts: u64,
}

fn millis(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Parses `wrk --latency` output. A run that got no answer parses too (zero
/// throughput): whether that is a failure is the caller's to say.
pub fn parse(output: &str) -> Result<Measured> {
    let mut m = Measured::default();
    let mut throughput = false;
    for line in output.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => {
                m.rps = v.parse().context("Requests/sec")?;
                throughput = true;
            }
            (Some("50%"), Some(v)) => m.p50_ms = millis(v).context("50%")?,
            (Some("99%"), Some(v)) => m.p99_ms = millis(v).context("99%")?,
            (Some("Non-2xx"), _) => {
                m.non_2xx = line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            }
            // `Socket errors: connect 0, read 0, write 0, timeout 12`
            (Some("Socket"), Some("errors:")) => {
                let counts = line.trim_start_matches("Socket errors:").split(',');
                for part in counts {
                    let mut kv = part.split_whitespace();
                    let (kind, n) = (kv.next(), kv.next().and_then(|n| n.parse::<u64>().ok()));
                    if let Some(n) = n {
                        m.errors += n;
                        if kind == Some("timeout") {
                            m.timeouts = n;
                        }
                    }
                }
            }
            (Some(n), Some("requests")) => m.requests = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    if !throughput {
        bail!("wrk printed no throughput:\n{output}");
    }
    Ok(m)
}

/// Runs `wrk` against `url` with `connections` (two threads, one for a
/// single connection), for `seconds`, with an optional Lua script.
pub fn run(url: &str, connections: u32, seconds: u32, script: Option<&Path>) -> Result<Measured> {
    let threads = connections.clamp(1, 2);
    let mut cmd = Command::new("wrk");
    cmd.args([
        "--latency",
        "-t",
        &threads.to_string(),
        "-c",
        &connections.to_string(),
    ])
    .args([
        "-d",
        &format!("{seconds}s"),
        "--timeout",
        &format!("{REQUEST_TIMEOUT_S}s"),
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let mut child = cmd
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run wrk (apt-get install wrk)")?;
    // wrk's report is a few hundred bytes: it fits the pipe while we wait.
    let deadline = Instant::now() + Duration::from_secs(seconds.into()) + GRACE;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("wrk did not finish within {seconds}s + {GRACE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    if !status.success() {
        bail!("wrk failed ({status}): {stderr}");
    }
    parse(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_report() {
        let report = "Running 1s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     90%    2.00ms\n     99%    1.50s\n  9000 requests in 1.00s, 1.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 12\n  Non-2xx or 3xx responses: 12\nRequests/sec:   8990.12\nTransfer/sec:      1.00MB\n";
        let m = parse(report).expect("parsed");
        assert_eq!(m.requests, 9000);
        assert_eq!(m.non_2xx, 12);
        assert_eq!((m.errors, m.timeouts), (14, 12));
        assert!((m.p50_ms - 0.512).abs() < 1e-9 && (m.p99_ms - 1500.0).abs() < 1e-9);
        assert!((m.rps - 8990.12).abs() < 1e-9);
    }

    #[test]
    fn a_run_without_answers_parses_as_zero() {
        let report = "Running 2s test @ http://127.0.0.1:1/\n  1 threads and 1 connections\n  0 requests in 2.00s, 0.00B read\n  Socket errors: connect 0, read 0, write 0, timeout 1\nRequests/sec:      0.00\nTransfer/sec:       0.00B\n";
        let m = parse(report).expect("parsed");
        assert_eq!((m.requests, m.timeouts), (0, 1));
        assert!(m.rps == 0.0);
        assert!(parse("wrk: connection refused").is_err());
    }
}
