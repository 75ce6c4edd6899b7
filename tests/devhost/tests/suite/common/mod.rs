//! What the devhost test files share: the fixture app, an HTTP client, and
//! the key-value conformance checks every backend (memory, SQLite, Redis)
//! must pass, both directly on [`Backend`] and through the fixture component.

use std::collections::BTreeSet;

use devhost::kv::Backend;
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

/// `n` concurrent `POST`s, each to one of `bases` in turn; every answer must
/// be 200. Returns the bodies.
pub fn concurrent_posts(agent: &ureq::Agent, bases: &[&str], path: &str, n: usize) -> Vec<String> {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let url = format!("{}{path}", bases[i % bases.len()]);
                s.spawn(move || {
                    let (status, body, _) = call(agent, "POST", &url, b"");
                    assert_eq!(status, 200, "{url}: {body}");
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

/// 64 concurrent increments of one counter and 64 concurrent
/// compare-and-swap loops on another, spread over `bases` (one host or
/// several sharing a store): every increment is seen exactly once and no
/// swap is lost.
pub fn atomics_hold(agent: &ureq::Agent, bases: &[&str], what: &str) {
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
    let attempts: u32 = concurrent_posts(agent, bases, "/cas/counter", 64)
        .iter()
        .map(|b| b.parse::<u32>().expect("n"))
        .sum();
    assert!(attempts >= 64);
    let (_, counter, _) = call(agent, "GET", &format!("{}/kv/counter", bases[0]), b"");
    assert_eq!(
        counter, "64",
        "no lost update ({what}, {attempts} attempts)"
    );
}

/// The fixture component's view of a store: `spin:key-value` get, set and
/// delete, a label it may not open, `wasi:keyvalue` batch, and atomics under
/// 64 concurrent requests.
pub fn fixture_conformance(f: &Fixture, what: &str) {
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
    let batch = json(&f.call("GET", "/batch", b"").1);
    assert_eq!(
        batch["got"],
        serde_json::json!([["b1", "one"], ["b2", "two"], ["b3", null]]),
        "{what}"
    );
    assert_eq!(batch["four"], "four", "{what}");
    assert_eq!(batch["exists"], true, "{what}");
    assert_eq!(batch["b1_after_delete"], false, "{what}");
    let base = f.app().base_url().to_string();
    atomics_hold(&f.agent, &[&base], what);
}

/// [`Backend`] itself: values are bytes (empty and non-UTF-8 included),
/// absent is not empty, batches keep order, listing, deleting, increments
/// and compare-and-swap, alone and from 8 threads at once.
pub fn backend_conformance(b: &dyn Backend, what: &str) {
    let s = "default";
    assert_eq!(b.get(s, "k").expect("get"), None, "{what}");
    b.set(s, "k", b"v1").expect("set");
    assert_eq!(
        b.get(s, "k").expect("get").as_deref(),
        Some(&b"v1"[..]),
        "{what}"
    );
    b.set(s, "k", b"v2").expect("overwrite");
    assert_eq!(
        b.get(s, "k").expect("get").as_deref(),
        Some(&b"v2"[..]),
        "{what}"
    );
    let binary = [0u8, 255, 1, b'\n', 0xc3, 0x28];
    b.set(s, "bin", &binary).expect("binary");
    assert_eq!(
        b.get(s, "bin").expect("get").as_deref(),
        Some(&binary[..]),
        "{what}"
    );
    b.set(s, "empty", b"").expect("empty");
    assert_eq!(
        b.get(s, "empty").expect("get").as_deref(),
        Some(&b""[..]),
        "{what}: empty is not absent"
    );
    b.set(s, "key with spaces/and:colons", b"x")
        .expect("odd key");

    let many = b
        .get_many(s, &["k".into(), "nope".into(), "empty".into(), "k".into()])
        .expect("get_many");
    assert_eq!(
        many,
        vec![
            Some(b"v2".to_vec()),
            None,
            Some(Vec::new()),
            Some(b"v2".to_vec())
        ],
        "{what}: in order, absent as None"
    );
    assert!(b.get_many(s, &[]).expect("none").is_empty(), "{what}");

    let keys: BTreeSet<String> = b.keys(s).expect("keys").into_iter().collect();
    let expected: BTreeSet<String> = ["k", "bin", "empty", "key with spaces/and:colons"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(keys, expected, "{what}");

    b.delete(s, "k").expect("delete");
    b.delete(s, "k").expect("delete absent");
    assert_eq!(b.get(s, "k").expect("get"), None, "{what}");

    assert_eq!(
        b.increment(s, "n", 5).expect("incr"),
        5,
        "{what}: absent is 0"
    );
    assert_eq!(b.increment(s, "n", -7).expect("incr"), -2, "{what}");
    assert_eq!(b.increment(s, "n", 0).expect("read"), -2, "{what}: a read");
    assert!(b.increment(s, "n", i64::MAX).is_ok(), "{what}");
    assert!(
        b.increment(s, "n", i64::MAX).is_err(),
        "{what}: overflow is an error, not a wrap"
    );
    assert!(
        b.increment(s, "bin", 1).is_err(),
        "{what}: a value that is not a counter"
    );

    assert!(
        b.swap_if(s, "c", None, b"one").expect("cas"),
        "{what}: absent as expected"
    );
    assert!(
        !b.swap_if(s, "c", None, b"x").expect("cas"),
        "{what}: present now"
    );
    assert!(
        !b.swap_if(s, "c", Some(b"two"), b"x").expect("cas"),
        "{what}: differs"
    );
    assert_eq!(
        b.get(s, "c").expect("get").as_deref(),
        Some(&b"one"[..]),
        "{what}: unchanged"
    );
    assert!(
        b.swap_if(s, "c", Some(b"one"), b"two").expect("cas"),
        "{what}: equal"
    );
    assert_eq!(
        b.get(s, "c").expect("get").as_deref(),
        Some(&b"two"[..]),
        "{what}"
    );
    assert!(
        !b.swap_if(s, "absent", Some(b""), b"x").expect("cas"),
        "{what}: absent is not empty"
    );
    assert!(
        !b.swap_if(s, "empty", None, b"x").expect("cas"),
        "{what}: empty is not absent"
    );
    assert!(
        b.swap_if(s, "empty", Some(b""), &binary).expect("cas"),
        "{what}: empty"
    );
    assert!(
        b.swap_if(s, "empty", Some(&binary), b"").expect("cas"),
        "{what}: binary"
    );

    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..50 {
                    b.increment(s, "shared", 1).expect("incr");
                    loop {
                        let current = b.get(s, "swapped").expect("get");
                        let n: u64 = current
                            .as_deref()
                            .map_or(0, |v| String::from_utf8_lossy(v).parse().expect("n"));
                        let next = (n + 1).to_string();
                        if b.swap_if(s, "swapped", current.as_deref(), next.as_bytes())
                            .expect("cas")
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        b.increment(s, "shared", 0).expect("read"),
        400,
        "{what}: no lost increment"
    );
    assert_eq!(
        b.get(s, "swapped").expect("get").as_deref(),
        Some(&b"400"[..]),
        "{what}: no lost swap"
    );
}
