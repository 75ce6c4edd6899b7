//! devhost against the fixture component: routing, headers, key-value,
//! atomics, variables, outbound allow-list, traps, limits.

use std::time::Duration;

use devhost::server::Limits;
use devhost::testing::{OutboundSink, TestApp, build_components};

const MANIFEST: &str = "tests/fixture/spin.toml";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Option<TestApp>,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

impl Fixture {
    fn start(
        configure: impl FnOnce(devhost::testing::TestAppBuilder) -> devhost::testing::TestAppBuilder,
    ) -> Fixture {
        build_components(MANIFEST).expect("fixture builds");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let builder = configure(TestApp::builder(MANIFEST).variable("secret_thing", "s3cret"));
        let app = runtime.block_on(builder.start()).expect("starts");
        Fixture {
            runtime,
            app: Some(app),
            agent: agent(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.as_ref().expect("running").base_url())
    }

    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<(String, String)>) {
        call(&self.agent, method, &self.url(path), body)
    }

    fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            self.runtime.block_on(app.shutdown());
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop();
    }
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: &[u8],
) -> (u16, String, Vec<(String, String)>) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .body(body.to_vec())
        .expect("request");
    let mut response = agent.run(request).expect("answer");
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
        .collect();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
        headers,
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("json")
}

#[test]
fn routes_like_spin_and_sets_its_headers() {
    let f = Fixture::start(|b| b);
    let route = |path: &str| json(&f.call("GET", path, b"").1);
    assert_eq!(
        route("/routes/exact")["spin-matched-route"],
        "/routes/exact"
    );
    let named = route("/routes/alpha");
    assert_eq!(named["spin-matched-route"], "/routes/:name");
    assert_eq!(named["spin-path-match-name"], "alpha");
    let deeper = route("/routes/alpha/more/x/y");
    assert_eq!(deeper["spin-matched-route"], "/routes/:name/more/...");
    assert_eq!(deeper["spin-path-info"], "/x/y");
    assert_eq!(deeper["spin-component-route"], "/routes/:name/more");
    assert_eq!(route("/routes/a/b")["spin-matched-route"], "/routes/...");
    let headers = route("/headers?q=1");
    assert_eq!(headers["spin-matched-route"], "/...");
    assert_eq!(headers["spin-raw-component-route"], "/...");
    assert_eq!(headers["spin-base-path"], "/");
    assert!(
        headers["spin-full-url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/headers?q=1"))
    );
    assert!(
        headers["spin-client-addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
}

#[test]
fn key_value_persists_across_requests_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kv.db");
    let mut f = Fixture::start(|b| b.kv_sqlite(&db));
    assert_eq!(f.call("GET", "/kv/greeting", b"").0, 404);
    assert_eq!(f.call("PUT", "/kv/greeting", b"hi there").0, 204);
    assert_eq!(f.call("GET", "/kv/greeting", b"").1, "hi there");
    let snapshot = f.app.as_ref().expect("running").kv_snapshot("default");
    assert_eq!(
        snapshot,
        std::collections::BTreeMap::from([("greeting".to_string(), b"hi there".to_vec())])
    );
    f.stop();
    let f = Fixture::start(|b| b.kv_sqlite(&db));
    assert_eq!(
        f.call("GET", "/kv/greeting", b"").1,
        "hi there",
        "survives a restart"
    );
    assert_eq!(f.call("DELETE", "/kv/greeting", b"").0, 204);
    assert_eq!(f.call("GET", "/kv/greeting", b"").0, 404);
    let (status, body, _) = f.call("GET", "/kv-denied", b"");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("AccessDenied"), "{body}");
    let batch = json(&f.call("GET", "/batch", b"").1);
    assert_eq!(
        batch["got"],
        serde_json::json!([["b1", "one"], ["b2", "two"], ["b3", null]])
    );
    assert_eq!(batch["four"], "four");
    assert_eq!(batch["exists"], true);
    assert_eq!(batch["b1_after_delete"], false);
}

fn concurrent(f: &Fixture, path: &str, n: usize) -> Vec<String> {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let (status, body, _) = f.call("POST", path, b"");
                    assert_eq!(status, 200, "{body}");
                    body
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    })
}

#[test]
fn increment_and_cas_are_atomic_under_64_concurrent_requests() {
    for sqlite in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("kv.db");
        let f = Fixture::start(|b| {
            if sqlite {
                b.kv_sqlite(&db)
            } else {
                b.kv_memory()
            }
        });
        let mut seen: Vec<i64> = concurrent(&f, "/incr/hits", 64)
            .iter()
            .map(|b| b.parse().expect("n"))
            .collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=64).collect::<Vec<_>>(),
            "every increment seen once (sqlite: {sqlite})"
        );
        let attempts: u32 = concurrent(&f, "/cas/counter", 64)
            .iter()
            .map(|b| b.parse::<u32>().expect("n"))
            .sum();
        assert!(attempts >= 64);
        assert_eq!(
            f.call("GET", "/kv/counter", b"").1,
            "64",
            "no lost update (sqlite: {sqlite}, {attempts} attempts)"
        );
    }
}

#[test]
fn atomics_hold_across_two_host_processes_on_one_sqlite_file() {
    build_components(MANIFEST).expect("fixture builds");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kv.db");
    let f = Fixture::start(|b| b.kv_sqlite(&db));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let manifest = devhost::testing::workspace_root().join(MANIFEST);
    let mut other = std::process::Command::new(env!("CARGO_BIN_EXE_devhost"))
        .args([
            "--manifest",
            &manifest.to_string_lossy(),
            "up",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--kv",
            &db.to_string_lossy(),
            "--variable",
            "secret_thing=s3cret",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("second host");
    let other_url = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let ready = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        ureq::get(&format!("{other_url}/headers")).call().is_ok()
    });
    assert!(ready, "the second host starts");
    let results: Vec<i64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..64)
            .map(|i| {
                let (agent, other_url, f) = (&agent, &other_url, &f);
                s.spawn(move || {
                    let url = if i % 2 == 0 {
                        format!("{other_url}/incr/shared")
                    } else {
                        f.url("/incr/shared")
                    };
                    let (status, body, _) = call(agent, "POST", &url, b"");
                    assert_eq!(status, 200, "{body}");
                    body.parse::<i64>().expect("n")
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let _ = other.kill();
    let _ = other.wait();
    let mut results = results;
    results.sort_unstable();
    assert_eq!(results, (1..=64).collect::<Vec<_>>());
}

#[test]
fn variables_resolve_and_required_ones_are_enforced() {
    let f = Fixture::start(|b| b.variable("greeting", "hey"));
    assert_eq!(f.call("GET", "/var/greeting", b"").1, "hey, world");
    assert_eq!(f.call("GET", "/var/token", b"").1, "s3cret");
    assert_eq!(f.call("GET", "/var/unknown", b"").0, 404);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let missing = runtime.block_on(TestApp::builder(MANIFEST).start());
    let message = format!("{:#}", missing.err().expect("refused"));
    assert!(
        message.contains("secret_thing") && message.contains("SPIN_VARIABLE_SECRET_THING"),
        "{message}"
    );
}

#[test]
fn outbound_requests_follow_the_allow_list() {
    build_components(MANIFEST).expect("fixture builds");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sink = runtime.block_on(OutboundSink::start()).expect("sink");
    let app = runtime
        .block_on(
            TestApp::builder(MANIFEST)
                .variable("secret_thing", "x")
                .variable("allowed_origin", sink.origin())
                .start(),
        )
        .expect("starts");
    let agent = agent();
    let (status, body, _) = call(
        &agent,
        "GET",
        &format!("{}/outbound?url={}/ping", app.base_url(), sink.url()),
        b"",
    );
    assert_eq!((status, body.as_str()), (200, "200"));
    assert_eq!(sink.requests().len(), 1);
    let (status, body, _) = call(
        &agent,
        "GET",
        &format!("{}/outbound?url=http://127.0.0.1:9/x", app.base_url()),
        b"",
    );
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert_eq!(sink.requests().len(), 1, "the denied request never left");
    runtime.block_on(app.shutdown());
}

#[test]
fn traps_timeouts_and_large_bodies_get_problems_and_the_host_keeps_serving() {
    let f = Fixture::start(|b| {
        b.limits(Limits {
            timeout: Duration::from_secs(2),
            max_body: 1024,
        })
    });
    let (status, body, headers) = f.call("GET", "/trap", b"");
    assert_eq!(status, 500);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/problem+json")
    );
    assert_eq!(json(&body)["status"], 500);
    assert_eq!(
        f.call("GET", "/headers", b"").0,
        200,
        "still serving after a trap"
    );

    assert_eq!(f.call("POST", "/echo-size", &[b'x'; 1024]).1, "1024");
    let (status, body, _) = f.call("POST", "/echo-size", &[b'x'; 1025]);
    assert_eq!(status, 413);
    assert_eq!(json(&body)["status"], 413);

    let (status, body, _) = f.call("GET", "/spin-forever", b"");
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        f.call("GET", "/headers", b"").0,
        200,
        "still serving after a timeout"
    );
}
