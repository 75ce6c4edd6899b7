//! The harness of the end-to-end tests: the app from `spin.toml` served by
//! devhost with a fresh store (or one the test chooses:
//! [`Harness::start_configured`]), a recording server standing in for the
//! mail relay and webhook endpoints, tokens signed with a known ring, and a
//! blocking HTTP client.
//!
//! The host is chosen by `E2E_HOST`, the store by `E2E_KV`; the whole suite
//! runs on each (`scripts/test` runs devhost on memory, then a real Spin on
//! SQLite and on Redis when one is found):
//!
//! | `E2E_HOST` | `E2E_KV` | the app |
//! |---|---|---|
//! | `devhost` (default) | `memory` (default) | devhost in this process, its in-memory store |
//! | `devhost` | `redis` | devhost in this process, a `redis-server` of the harness's own |
//! | `spin` | `sqlite` (default) | a real Spin process ([`SpinProcess`]; `SPIN` or `spin` on `PATH`), its SQLite store in a file of the harness's own |
//! | `spin` | `redis` | a real Spin process, a `redis-server` of the harness's own |
//!
//! On devhost the stores behave as Spin 4.1's do (devhost's default
//! key-value semantics), or as `E2E_KV_SEMANTICS` (`spin`, `spin-next`,
//! `correct`) says. On Spin they are Spin's own; the harness reads and edits
//! them with devhost's backends ([`SpinStore::open`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use devhost::kv::Backend;
use devhost::testing::{
    HostProcess, KvSemantics, OutboundSink, RecordedRequest, RedisServer, SpinProcess, SpinStore,
    TestApp, TestAppBuilder, build_components, spin_binary,
};
use partner_invites::token::{Claims, KeyRing, Purpose, Role};

/// The ring the app is started with.
pub const RING: &str = "e2e:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Where links point.
pub const PUBLIC_BASE: &str = "https://invites.example";

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`, in order (for fields sent more than once).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Asserts an RFC 9457 problem with `status` and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(
            p["type"].as_str().is_some_and(|t| t.starts_with("urn:")),
            "{p}"
        );
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
        p
    }
}

/// Options for [`Harness::start_with`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Leave `mail_relay_url` empty: emails go to the outbox only.
    pub no_relay: bool,
    /// Set `signing_keys` to this instead of [`RING`] (an empty value is a
    /// misconfigured deployment).
    pub signing_keys: Option<String>,
    /// More variables, by name (`platform_webhook_url`, ...); they win over
    /// the harness's own. `{sink}` in a value stands for the sink's URL.
    pub extra_variables: Vec<(String, String)>,
}

/// The host of `E2E_HOST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// devhost, in the test's process.
    Devhost,
    /// A real Spin, in a process of its own.
    Spin,
}

impl HostKind {
    /// `E2E_HOST`: `devhost` (the default) or `spin`.
    pub fn from_env() -> HostKind {
        match std::env::var("E2E_HOST").as_deref() {
            Ok("spin") => HostKind::Spin,
            Ok("devhost") | Ok("") | Err(_) => HostKind::Devhost,
            Ok(other) => panic!("E2E_HOST={other}: devhost or spin"),
        }
    }
}

/// The store of `E2E_KV`: `memory`, `sqlite` or `redis`; the host's default
/// (devhost: memory; Spin: SQLite, its default store type) when unset.
fn store_kind(host: HostKind) -> &'static str {
    match (std::env::var("E2E_KV").as_deref(), host) {
        (Ok("redis"), _) => "redis",
        (Ok("sqlite"), _) => "sqlite",
        (Ok("memory"), HostKind::Devhost)
        | (Ok(""), HostKind::Devhost)
        | (Err(_), HostKind::Devhost) => "memory",
        (Ok("") | Err(_), HostKind::Spin) => "sqlite",
        (Ok(other), host) => panic!(
            "E2E_KV={other} is not a store of {host:?}: memory (devhost only), sqlite or redis"
        ),
    }
}

/// The Spin of `E2E_HOST=spin`.
fn spin() -> PathBuf {
    match spin_binary() {
        Ok(Some(path)) => path,
        Ok(None) => panic!(
            "E2E_HOST=spin needs a Spin 4.1 or later: set SPIN to its path, or put `spin` on PATH"
        ),
        Err(e) => panic!("E2E_HOST=spin: {e:#}"),
    }
}

/// What serves the app.
enum Host {
    Devhost(TestApp),
    Spin(SpinProcess),
}

/// A running app and everything a test needs around it.
pub struct Harness {
    host: Option<Host>,
    /// The app's store, as the harness reads and edits it.
    kv: Arc<dyn Backend>,
    /// The Redis server of `E2E_KV=redis`, stopped after the app.
    redis: Option<RedisServer>,
    /// The folder of a SQLite store, removed after the app.
    dir: Option<tempfile::TempDir>,
    /// The recording server (mail relay at `/mail`, webhooks anywhere else).
    pub sink: OutboundSink,
    keys: KeyRing,
    agent: ureq::Agent,
    runtime: tokio::runtime::Runtime,
    variables: BTreeMap<String, String>,
}

impl Harness {
    /// The app with a mail relay.
    pub fn start() -> Harness {
        Harness::start_with(Options::default())
    }

    /// The app with `options`, on the host and store the environment
    /// chooses (`E2E_HOST`, `E2E_KV`).
    pub fn start_with(options: Options) -> Harness {
        let host = HostKind::from_env();
        match (host, store_kind(host)) {
            (HostKind::Devhost, "redis") => {
                let redis = RedisServer::start().expect("a redis-server of the harness's own");
                let url = redis.url();
                let mut h = Harness::start_configured(options, |b| b.kv_redis(url));
                h.redis = Some(redis);
                h
            }
            (HostKind::Devhost, "sqlite") => {
                let dir = tempfile::tempdir().expect("a folder for the store");
                let path = dir.path().join("kv.db");
                let mut h = Harness::start_configured(options, |b| b.kv_sqlite(path));
                h.dir = Some(dir);
                h
            }
            (HostKind::Devhost, _) => Harness::start_configured(options, |b| b.kv_memory()),
            (HostKind::Spin, kind) => Harness::start_spin(options, kind),
        }
    }

    /// The app on a real Spin, with a store of `kind` (`sqlite` or `redis`).
    fn start_spin(options: Options, kind: &str) -> Harness {
        build_components("spin.toml").expect("components build");
        let (redis, dir) = if kind == "redis" {
            let redis = RedisServer::start().expect("a redis-server of the harness's own");
            (Some(redis), None)
        } else {
            (
                None,
                Some(tempfile::tempdir().expect("a folder for the store")),
            )
        };
        let store = match (&redis, &dir) {
            (Some(redis), _) => SpinStore::Redis(redis.url()),
            (None, Some(dir)) => SpinStore::Sqlite(dir.path().join("kv.db")),
            (None, None) => unreachable!("one store or the other"),
        };
        let runtime = runtime();
        let sink = runtime.block_on(OutboundSink::start()).expect("sink");
        let variables = variables(&options, &sink);
        let process = SpinProcess::start(&spin(), "spin.toml", &store, &variables)
            .expect("spin serves the app");
        let kv = store.open().expect("the harness opens Spin's store");
        Harness {
            host: Some(Host::Spin(process)),
            kv,
            redis,
            dir,
            sink,
            keys: KeyRing::parse(RING).expect("ring"),
            agent: agent(),
            runtime,
            variables,
        }
    }

    /// The app with `options`, its store chosen by `store` (for example
    /// `|b| b.kv_redis(url)` or `|b| b.runtime_config_file(path)`; the
    /// default is a fresh in-memory store).
    pub fn start_configured(
        options: Options,
        store: impl FnOnce(TestAppBuilder) -> TestAppBuilder,
    ) -> Harness {
        build_components("spin.toml").expect("components build");
        let runtime = runtime();
        let (app, sink, variables) = runtime.block_on(async {
            let sink = OutboundSink::start().await.expect("sink");
            let variables = variables(&options, &sink);
            let builder = variables.iter().fold(
                store(
                    TestApp::builder("spin.toml")
                        .kv_memory()
                        .kv_semantics(semantics()),
                ),
                |b, (name, value)| b.variable(name, value),
            );
            let app = builder.start().await.expect("app starts");
            (app, sink, variables)
        });
        Harness {
            kv: app.kv().clone(),
            host: Some(Host::Devhost(app)),
            redis: None,
            dir: None,
            sink,
            keys: KeyRing::parse(RING).expect("ring"),
            agent: agent(),
            runtime,
            variables,
        }
    }

    /// Which host serves the app.
    pub fn host_kind(&self) -> HostKind {
        match self.host {
            Some(Host::Spin(_)) => HostKind::Spin,
            _ => HostKind::Devhost,
        }
    }

    /// Starts another host of the same app, in a process of its own, on
    /// `store`: a devhost process on devhost, a Spin process on Spin. The
    /// store outlives the hosts (the crash test kills one and starts another).
    pub fn start_process(&self, store: &ProcessStore) -> AppProcess {
        match self.host_kind() {
            HostKind::Devhost => {
                let mut args = match store {
                    ProcessStore::Sqlite(path) => {
                        vec!["--kv".to_string(), path.to_string_lossy().into_owned()]
                    }
                    ProcessStore::Redis(redis) => vec!["--kv".to_string(), redis.url()],
                };
                args.extend(self.variable_args());
                AppProcess::Devhost(
                    HostProcess::start_self(DEVHOST_PROCESS_TEST, "spin.toml", &args)
                        .expect("a devhost process starts"),
                )
            }
            HostKind::Spin => AppProcess::Spin(
                SpinProcess::start(&spin(), "spin.toml", &store.spin(), &self.variables)
                    .expect("a Spin process starts"),
            ),
        }
    }

    /// The application variables the app was started with, as `devhost up`
    /// arguments (`--variable name=value ...`): to start another host of
    /// the same app, for example with [`devhost::testing::HostProcess`].
    pub fn variable_args(&self) -> Vec<String> {
        self.variables
            .iter()
            .flat_map(|(name, value)| ["--variable".to_string(), format!("{name}={value}")])
            .collect()
    }

    /// The app's origin.
    pub fn base(&self) -> &str {
        match self.host.as_ref().expect("running") {
            Host::Devhost(app) => app.base_url(),
            Host::Spin(process) => process.base_url(),
        }
    }

    /// Every key and value of the app's store, sorted. Read truthfully,
    /// whatever the store's semantics.
    fn kv_snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let keys = self.kv.keys("default").unwrap_or_default();
        let values = self.kv.get_many("default", &keys).unwrap_or_default();
        keys.into_iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    fn token(&self, role: Role, partner: Option<&str>, org: Option<&str>) -> String {
        let now = partner_invites::clock::Clock::now(&partner_invites::clock::SystemClock);
        self.keys
            .sign(&Claims {
                purpose: Purpose::Access,
                record_id: "at_e2e".into(),
                partner_id: partner.map(str::to_string),
                organization_id: org.map(str::to_string),
                subject: Some("e2e-user".into()),
                role: Some(role),
                issued_at: now,
                expires_at: now + 600,
                generation: 0,
            })
            .expect("sign")
    }

    /// A partner's bearer token.
    pub fn partner(&self, id: &str) -> String {
        self.token(Role::Partner, Some(id), None)
    }

    /// A customer admin's bearer token.
    pub fn admin(&self, organization: &str) -> String {
        self.token(Role::CustomerAdmin, None, Some(organization))
    }

    /// An operator's bearer token.
    pub fn operator(&self) -> String {
        self.token(Role::Operator, None, None)
    }

    /// Any request.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        self.request_at(self.base(), method, path, headers, body)
    }

    /// Any request, to another host of the app at `base` (`http://host:port`).
    pub fn request_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        self.try_request_at(base, method, path, headers, body)
            .expect("the app answers")
    }

    /// Any request to the host at `base`; `None` if it does not answer (it
    /// was killed, say).
    pub fn try_request_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Reply> {
        let url = format!("{base}{path}");
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(body.to_vec()).expect("request");
        let mut response = self.agent.run(request).ok()?;
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_string(), v.to_string()))
            })
            .collect();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// `GET` with an optional bearer.
    pub fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![("accept", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.request("GET", path, &headers, b"")
    }

    /// A JSON request with an optional bearer.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Reply {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.request(method, path, &headers, body.to_string().as_bytes())
    }

    /// `POST` JSON.
    pub fn post(&self, path: &str, bearer: Option<&str>, body: &serde_json::Value) -> Reply {
        self.send_json("POST", path, bearer, body)
    }

    /// `POST` JSON to another host of the app at `base` (`http://host:port`).
    pub fn post_at(
        &self,
        base: &str,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Reply {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.request_at(base, "POST", path, &headers, body.to_string().as_bytes())
    }

    /// Every key and value in the store but the rate counters (`rl/...`),
    /// which every counted request updates (link POSTs, the API's writes):
    /// what "a rejected request writes nothing" is about.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut all = self.kv_snapshot();
        all.retain(|k, _| !k.starts_with("rl/"));
        all
    }

    /// Rewrites the JSON record at `key` in place (to stand a record where
    /// only time would bring it, such as past its expiry).
    pub fn rewrite(&self, key: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let kv = &self.kv;
        let bytes = kv.get("default", key).expect("read").expect("a record");
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        edit(&mut value);
        kv.set("default", key, value.to_string().as_bytes())
            .expect("write");
    }

    /// Every key and value in the store, rate counters included.
    pub fn whole_store(&self) -> BTreeMap<String, Vec<u8>> {
        self.kv_snapshot()
    }

    /// Asserts the store still equals `before`, naming every key that changed.
    #[track_caller]
    pub fn assert_unchanged(&self, before: &BTreeMap<String, Vec<u8>>, what: &str) {
        let after = self.snapshot();
        let mut changes = Vec::new();
        for key in before
            .keys()
            .chain(after.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (b, a) = (before.get(key), after.get(key));
            if b != a {
                let show = |v: Option<&Vec<u8>>| {
                    v.map_or("(absent)".to_string(), |v| {
                        String::from_utf8_lossy(v).into_owned()
                    })
                };
                changes.push(format!("  {key}: {} -> {}", show(b), show(a)));
            }
        }
        assert!(
            changes.is_empty(),
            "{what} changed the store:\n{}",
            changes.join("\n")
        );
    }

    /// What the sink received at paths starting with `prefix`.
    pub fn received(&self, prefix: &str) -> Vec<RecordedRequest> {
        self.sink
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    /// Sets up partner `id` with a display name, a billing account and, if
    /// `webhook`, an endpoint on the sink; returns the webhook secret.
    pub fn setup_partner(&self, id: &str, webhook: bool) -> Option<String> {
        let mut body = serde_json::json!({
            "display_name": format!("Partner {id}"),
            "billing_accounts": [format!("billing@{id}.example")],
        });
        if webhook {
            body["webhook_url"] = serde_json::json!(format!("{}/hooks/{id}", self.sink.url()));
        }
        let reply = self.send_json("PUT", "/api/partner", Some(&self.partner(id)), &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["webhook_secret"].as_str().map(str::to_string)
    }

    /// A new organization, registered through an invite of `partner` to
    /// its admin `email` (reseller with support); its id.
    pub fn register(&self, partner: &str, email: &str) -> String {
        let invite = self.invite(partner, email);
        let body = serde_json::json!({"token": invite["token"]});
        let reply = self.post("/api/invites/redeem", None, &body);
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["organization_id"]
            .as_str()
            .expect("organization id")
            .to_string()
    }

    /// `partner` connected to the existing organization `org` (reseller with
    /// support) through an invite its admin redeems with their bearer; the
    /// relationship id.
    pub fn link(&self, partner: &str, org: &str) -> String {
        let invite = self.invite(partner, "admin@org.example");
        let body = serde_json::json!({"token": invite["token"], "organization_id": org});
        let reply = self.post("/api/invites/redeem", Some(&self.admin(org)), &body);
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["relationship_id"]
            .as_str()
            .expect("relationship id")
            .to_string()
    }

    /// Creates an invite for `email` and returns its JSON.
    pub fn invite(&self, partner: &str, email: &str) -> serde_json::Value {
        let reply = self.post(
            "/api/invites/generate",
            Some(&self.partner(partner)),
            &invite_body(email),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        match self.host.take() {
            Some(Host::Devhost(app)) => self.runtime.block_on(app.shutdown()),
            Some(Host::Spin(process)) => {
                if std::thread::panicking() {
                    eprintln!("== the Spin process's log\n{}", process.log());
                }
                drop(process);
            }
            None => {}
        }
        drop(self.redis.take());
        drop(self.dir.take());
    }
}

/// The test whose body runs devhost's command line in a copy of the test
/// executable ([`HostProcess::start_self`]); `tests/app/redis.rs`.
pub const DEVHOST_PROCESS_TEST: &str = "redis::devhost_process";

/// A store for the app processes a test starts itself
/// ([`Harness::start_process`]).
pub enum ProcessStore {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Redis server of the test's own.
    Redis(RedisServer),
}

impl ProcessStore {
    /// A store of the kind `E2E_KV` names (SQLite unless it says `redis`),
    /// with its file in `dir`.
    pub fn from_env(dir: &std::path::Path) -> ProcessStore {
        if std::env::var("E2E_KV").as_deref() == Ok("redis") {
            ProcessStore::Redis(RedisServer::start().expect("a redis-server of the test's own"))
        } else {
            ProcessStore::Sqlite(dir.join("kv.db"))
        }
    }

    /// The same store, as Spin's runtime config names it.
    fn spin(&self) -> SpinStore {
        match self {
            ProcessStore::Sqlite(path) => SpinStore::Sqlite(path.clone()),
            ProcessStore::Redis(redis) => SpinStore::Redis(redis.url()),
        }
    }
}

/// A host of the app in a process of its own; killed with SIGKILL when
/// stopped or dropped.
pub enum AppProcess {
    /// `devhost up`.
    Devhost(HostProcess),
    /// `spin up`.
    Spin(SpinProcess),
}

impl AppProcess {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        match self {
            AppProcess::Devhost(p) => p.base_url(),
            AppProcess::Spin(p) => p.base_url(),
        }
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn stop(self) {
        match self {
            AppProcess::Devhost(p) => p.stop(),
            AppProcess::Spin(p) => p.kill(),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// How long one request may take before the test fails instead of hanging
/// (a host that stopped answering, as Spin's Redis store can make it).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into()
}

/// The application variables of `options`, with the sink's URLs.
fn variables(options: &Options, sink: &OutboundSink) -> BTreeMap<String, String> {
    let relay = if options.no_relay {
        String::new()
    } else {
        format!("{}/mail", sink.url())
    };
    let mut variables = BTreeMap::from([
        (
            "signing_keys".to_string(),
            options
                .signing_keys
                .clone()
                .unwrap_or_else(|| RING.to_string()),
        ),
        ("public_base_url".to_string(), PUBLIC_BASE.to_string()),
        ("vendor_name".to_string(), "Vendor Cloud".to_string()),
        ("mail_relay_url".to_string(), relay),
        ("mail_relay_origin".to_string(), sink.origin().to_string()),
        (
            "webhook_origins".to_string(),
            "http://127.0.0.1:*".to_string(),
        ),
    ]);
    variables.extend(
        options
            .extra_variables
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{sink}", sink.url()))),
    );
    variables
}

/// The key-value semantics of `E2E_KV_SEMANTICS`, else Spin 4.1's.
fn semantics() -> KvSemantics {
    std::env::var("E2E_KV_SEMANTICS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("E2E_KV_SEMANTICS: spin, spin-next or correct")
        })
        .unwrap_or_default()
}

/// A valid invite request.
pub fn invite_body(email: &str) -> serde_json::Value {
    serde_json::json!({
        "connection": "reseller_with_support",
        "customer": {
            "company": {"name": "Globex <GmbH>", "address": {"city": "Berlin", "country": "DE"}, "vat_id": "DE123456789"},
            "contact": {"first_name": "Ada", "last_name": "Lovelace", "email": email},
            "billing": {"phone": "+49 30 1234567"}
        },
        "partner_reference": "crm-4711"
    })
}
