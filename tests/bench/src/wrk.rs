//! Runs `wrk` and reads its report.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

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
    /// Requests made.
    pub requests: u64,
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

/// Parses `wrk --latency` output.
pub fn parse(output: &str) -> Result<Measured> {
    let mut m = Measured::default();
    for line in output.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => m.rps = v.parse().context("Requests/sec")?,
            (Some("50%"), Some(v)) => m.p50_ms = millis(v).context("50%")?,
            (Some("99%"), Some(v)) => m.p99_ms = millis(v).context("99%")?,
            (Some("Non-2xx"), _) => {
                m.non_2xx = line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            }
            (Some(n), Some("requests")) => m.requests = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    if m.rps == 0.0 {
        bail!("wrk reported no throughput:\n{output}");
    }
    Ok(m)
}

/// Runs `wrk` against `url` with `connections`, for `seconds`, with an optional Lua script.
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
    .args(["-d", &format!("{seconds}s"), "--timeout", "10s"]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd
        .arg(url)
        .output()
        .context("run wrk (apt-get install wrk)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_report() {
        let report = "Running 1s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     90%    2.00ms\n     99%    1.50s\n  9000 requests in 1.00s, 1.00MB read\n  Non-2xx or 3xx responses: 12\nRequests/sec:   8990.12\nTransfer/sec:      1.00MB\n";
        let m = parse(report).expect("parsed");
        assert_eq!(m.requests, 9000);
        assert_eq!(m.non_2xx, 12);
        assert!((m.p50_ms - 0.512).abs() < 1e-9 && (m.p99_ms - 1500.0).abs() < 1e-9);
        assert!((m.rps - 8990.12).abs() < 1e-9);
    }
}
