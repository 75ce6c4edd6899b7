//! The harness of the end-to-end tests: the app from `spin.toml` served by
//! devhost with a fresh store (or one the test chooses:
//! [`Harness::start_configured`]), a recording server standing in for the
//! mail relay and webhook endpoints, tokens signed with a known ring, and a
//! blocking HTTP client.
//!
//! The fresh store is devhost's in-memory one, or, with `E2E_KV=redis`, a
//! `redis-server` of the harness's own behind devhost's Redis store: the
//! whole suite runs either way (`scripts/test` runs both). Both behave as
//! Spin 4.1's stores do (devhost's default key-value semantics), or as
//! `E2E_KV_SEMANTICS` (`spin`, `spin-next`, `correct`) says.

use std::collections::BTreeMap;

use devhost::testing::{
    KvSemantics, OutboundSink, RecordedRequest, RedisServer, TestApp, TestAppBuilder,
    build_components,
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

/// A running app and everything a test needs around it.
pub struct Harness {
    app: Option<TestApp>,
    /// The Redis server of `E2E_KV=redis`, stopped after the app.
    redis: Option<RedisServer>,
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

    /// The app with `options`.
    pub fn start_with(options: Options) -> Harness {
        if std::env::var("E2E_KV").as_deref() == Ok("redis") {
            let redis = RedisServer::start().expect("a redis-server of the harness's own");
            let url = redis.url();
            let mut h = Harness::start_configured(options, |b| b.kv_redis(url));
            h.redis = Some(redis);
            return h;
        }
        Harness::start_configured(options, |b| b.kv_memory())
    }

    /// The app with `options`, its store chosen by `store` (for example
    /// `|b| b.kv_redis(url)` or `|b| b.runtime_config_file(path)`; the
    /// default is a fresh in-memory store).
    pub fn start_configured(
        options: Options,
        store: impl FnOnce(TestAppBuilder) -> TestAppBuilder,
    ) -> Harness {
        build_components("spin.toml").expect("components build");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (app, sink, variables) = runtime.block_on(async {
            let sink = OutboundSink::start().await.expect("sink");
            let relay = if options.no_relay {
                String::new()
            } else {
                format!("{}/mail", sink.url())
            };
            let variables = BTreeMap::from([
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
            let mut variables = variables;
            variables.extend(
                options
                    .extra_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{sink}", sink.url()))),
            );
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
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Harness {
            app: Some(app),
            redis: None,
            sink,
            keys: KeyRing::parse(RING).expect("ring"),
            agent,
            runtime,
            variables,
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

    fn app(&self) -> &TestApp {
        self.app.as_ref().expect("running")
    }

    /// The app's origin.
    pub fn base(&self) -> &str {
        self.app().base_url()
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
    /// which every request to a limited endpoint updates: what "a rejected
    /// request writes nothing" is about.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut all = self.app().kv_snapshot("default");
        all.retain(|k, _| !k.starts_with("rl/"));
        all
    }

    /// Rewrites the JSON record at `key` in place (to stand a record where
    /// only time would bring it, such as past its expiry).
    pub fn rewrite(&self, key: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let kv = self.app().kv();
        let bytes = kv.get("default", key).expect("read").expect("a record");
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        edit(&mut value);
        kv.set("default", key, value.to_string().as_bytes())
            .expect("write");
    }

    /// Every key and value in the store, rate counters included.
    pub fn whole_store(&self) -> BTreeMap<String, Vec<u8>> {
        self.app().kv_snapshot("default")
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
        if let Some(app) = self.app.take() {
            self.runtime.block_on(app.shutdown());
        }
        drop(self.redis.take());
    }
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
