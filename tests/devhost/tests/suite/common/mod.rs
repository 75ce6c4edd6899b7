//! What the devhost test files share: the fixture app, an HTTP client, and
//! the key-value conformance suite: what every backend (memory, SQLite,
//! Redis) must do under each [`KvSemantics`], directly on
//! [`Backend`](devhost::kv::Backend) (`backend`) and through the fixture
//! component (here).
//!
//! Each check states per mode and backend what it expects: under `spin` what
//! Spin 4.1's store of that kind does today, under `spin-next` the same with
//! Spin's Redis `UNWATCH` bug fixed, under `correct` the truth.

mod backend;

pub use backend::{Kind, backend_conformance};

use devhost::kv::KvSemantics;
use devhost::testing::{TestApp, TestAppBuilder, build_components};

/// The fixture app.
pub const MANIFEST: &str = "tests/fixture/spin.toml";

/// The fixture's one required variable, as `devhost up` arguments.
pub const FIXTURE_VARIABLES: [&str; 2] = ["--variable", "secret_thing=s3cret"];

pub struct Fixture {
    pub runtime: tokio::runtime::Runtime,
    pub app: Option<TestApp>,
    pub agent: ureq::Agent,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

impl Fixture {
    pub fn start(configure: impl FnOnce(TestAppBuilder) -> TestAppBuilder) -> Fixture {
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

    pub fn app(&self) -> &TestApp {
        self.app.as_ref().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app().base_url())
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, String, Vec<(String, String)>) {
        call(&self.agent, method, &self.url(path), body)
    }

    pub fn stop(&mut self) {
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

pub fn call(
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

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("json")
}

/// `n` concurrent `POST`s, each to one of `bases` in turn. Returns each
/// answer's status and body.
pub fn concurrent_calls(
    agent: &ureq::Agent,
    bases: &[&str],
    path: &str,
    n: usize,
) -> Vec<(u16, String)> {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let url = format!("{}{path}", bases[i % bases.len()]);
                s.spawn(move || {
                    let (status, body, _) = call(agent, "POST", &url, b"");
                    (status, body)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    })
}

/// [`concurrent_calls`] whose every answer must be 200. Returns the bodies.
pub fn concurrent_posts(agent: &ureq::Agent, bases: &[&str], path: &str, n: usize) -> Vec<String> {
    concurrent_calls(agent, bases, path, n)
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{path}: {body}");
            body
        })
        .collect()
}

/// The fixture's `GET /kv/<key>` as a number.
fn read_number(agent: &ureq::Agent, base: &str, key: &str) -> i64 {
    let (status, body, _) = call(agent, "GET", &format!("{base}/kv/{key}"), b"");
    assert_eq!(status, 200, "{key}: {body}");
    body.parse().expect("a number")
}

/// Atomics under concurrency through the fixture component, spread over
/// `bases` (one host or several sharing a store).
///
/// Every mode: 64 concurrent increments of one counter each see a distinct
/// value, 1 to 64.
///
/// Then 64 concurrent requests each run the fixture's compare-and-swap loop
/// once (`Cas::new`, `current`, `swap(n + 1)`, again on `cas-failed`, at most
/// 1000 attempts), trusting what the swap reports:
///
/// - `correct`: no update is lost: the counter, absent at first, ends at 64.
/// - `spin`/`spin-next` on memory and SQLite: from a present value (`"0"`),
///   a swap is `UPDATE ... WHERE value = <seen>`, which is atomic: 64. From an
///   absent value the first swaps are unconditional upserts that all report
///   success, so updates may be lost, and none is reported lost: every
///   request answers 200 and the counter ends at 64 or less.
/// - `spin-next` on Redis: a swap whose `EXEC` was aborted reports success,
///   so every request stops after its first attempt and updates are lost:
///   64 attempts, the counter at 64 or less.
/// - `spin` on Redis: every swap reports `cas-failed`, including those that
///   wrote, so the loop never stops: 8 requests (not 64: each makes 1000
///   attempts) all give up with "too much contention", and the counter,
///   which only attempts that won their `WATCH` wrote, each one more than the
///   last, ends at 1000 or more (8000 attempts, of which each write aborts at
///   most the 7 others in flight).
pub fn atomics_hold(
    agent: &ureq::Agent,
    bases: &[&str],
    what: &str,
    kind: Kind,
    mode: KvSemantics,
) {
    let mut seen: Vec<i64> = concurrent_posts(agent, bases, "/incr/hits", 64)
        .iter()
        .map(|b| b.parse().expect("n"))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=64).collect::<Vec<_>>(),
        "every increment seen once ({what})"
    );
    let attempts = |bodies: Vec<String>| -> Vec<u32> {
        bodies
            .iter()
            .map(|b| b.parse::<u32>().expect("n"))
            .collect()
    };
    match (kind, mode) {
        (_, KvSemantics::Correct) => {
            let attempts: u32 = attempts(concurrent_posts(agent, bases, "/cas/counter", 64))
                .iter()
                .sum();
            assert!(attempts >= 64);
            assert_eq!(
                read_number(agent, bases[0], "counter"),
                64,
                "no lost update ({what}, {attempts} attempts)"
            );
        }
        (Kind::Memory | Kind::Sqlite, KvSemantics::Spin | KvSemantics::SpinNext) => {
            let (status, _, _) = call(agent, "PUT", &format!("{}/kv/counter", bases[0]), b"0");
            assert_eq!(status, 204, "{what}");
            concurrent_posts(agent, bases, "/cas/counter", 64);
            assert_eq!(
                read_number(agent, bases[0], "counter"),
                64,
                "from a present value no update is lost ({what})"
            );
            concurrent_posts(agent, bases, "/cas/from-absent", 64);
            let reached = read_number(agent, bases[0], "from-absent");
            eprintln!("{what}: 64 swaps from absent, all reported won, reached {reached}");
            assert!(
                (1..=64).contains(&reached),
                "from absent, 64 reported successes reach {reached} ({what})"
            );
        }
        (Kind::Redis, KvSemantics::SpinNext) => {
            let attempts = attempts(concurrent_posts(agent, bases, "/cas/counter", 64));
            assert_eq!(
                attempts,
                vec![1; 64],
                "every first swap reports success ({what})"
            );
            let reached = read_number(agent, bases[0], "counter");
            eprintln!("{what}: 64 swaps, all reported won, reached {reached}");
            assert!(
                (1..=64).contains(&reached),
                "64 reported successes reach {reached} ({what})"
            );
        }
        (Kind::Redis, KvSemantics::Spin) => {
            for (status, body) in concurrent_calls(agent, bases, "/cas/counter", 8) {
                assert_eq!(status, 500, "{what}: {body}");
                assert!(body.contains("too much contention"), "{what}: {body}");
            }
            let reached = read_number(agent, bases[0], "counter");
            eprintln!("{what}: 8000 swaps, all reported failed, wrote {reached}");
            assert!(
                (1000..=8000).contains(&reached),
                "swaps that wrote were reported failed: {reached} writes ({what})"
            );
        }
    }
}

/// The fixture component's view of a store: `spin:key-value` get, set and
/// delete, a label it may not open, `wasi:keyvalue` batch, and atomics under
/// concurrency ([`atomics_hold`]).
///
/// The batch (`set-many` b1, b2; `get-many` b1, b2, b3; ...) answers:
/// - `correct`: `[b1, "one"], [b2, "two"], [b3, null]`;
/// - `spin`/`spin-next` on memory and SQLite: `[b1, "one"], [b2, "two"]`:
///   the absent b3 is left out;
/// - `spin`/`spin-next` on Redis: the guest gets an error, Redis's
///   `ERR wrong number of arguments for 'keys' command`.
pub fn fixture_conformance(f: &Fixture, kind: Kind, mode: KvSemantics) {
    let what = &format!("{kind:?}, {mode}");
    assert_eq!(f.call("GET", "/kv/greeting", b"").0, 404, "{what}");
    assert_eq!(f.call("PUT", "/kv/greeting", b"hi there").0, 204, "{what}");
    assert_eq!(f.call("GET", "/kv/greeting", b"").1, "hi there", "{what}");
    assert_eq!(
        f.app().kv_snapshot("default"),
        std::collections::BTreeMap::from([("greeting".to_string(), b"hi there".to_vec())]),
        "{what}: exactly what was written"
    );
    assert_eq!(f.call("PUT", "/kv/greeting", b"again").0, 204, "{what}");
    assert_eq!(f.call("GET", "/kv/greeting", b"").1, "again", "{what}");
    assert_eq!(f.call("DELETE", "/kv/greeting", b"").0, 204, "{what}");
    assert_eq!(f.call("GET", "/kv/greeting", b"").0, 404, "{what}");
    assert_eq!(
        f.call("DELETE", "/kv/greeting", b"").0,
        204,
        "{what}: absent"
    );
    let (status, body, _) = f.call("GET", "/kv-denied", b"");
    assert_eq!(status, 403, "{what}: {body}");
    assert!(body.contains("AccessDenied"), "{what}: {body}");
    check_batch(&f.agent, f.app().base_url(), kind, mode, what);
    let base = f.app().base_url().to_string();
    atomics_hold(&f.agent, &[&base], what, kind, mode);
}

/// The fixture's `/batch` at `base`, as [`fixture_conformance`] describes.
pub fn check_batch(agent: &ureq::Agent, base: &str, kind: Kind, mode: KvSemantics, what: &str) {
    let (status, body, _) = call(agent, "GET", &format!("{base}/batch"), b"");
    let got = match (kind, mode) {
        (Kind::Redis, KvSemantics::Spin | KvSemantics::SpinNext) => {
            assert_eq!(status, 500, "{what}: {body}");
            assert!(
                body.contains("wrong number of arguments for 'keys' command"),
                "{what}: {body}"
            );
            return;
        }
        (_, KvSemantics::Correct) => {
            serde_json::json!([["b1", "one"], ["b2", "two"], ["b3", null]])
        }
        (Kind::Memory | Kind::Sqlite, KvSemantics::Spin | KvSemantics::SpinNext) => {
            serde_json::json!([["b1", "one"], ["b2", "two"]])
        }
    };
    assert_eq!(status, 200, "{what}: {body}");
    let batch = json(&body);
    assert_eq!(batch["got"], got, "{what}");
    assert_eq!(batch["four"], "four", "{what}");
    assert_eq!(batch["exists"], true, "{what}");
    assert_eq!(batch["b1_after_delete"], false, "{what}");
}
