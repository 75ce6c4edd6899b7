//! Serving: route each request to its component and run it in a fresh
//! instance, as Spin does, from a pre-instantiated component with the pooling
//! allocator so that an instance costs little.
//!
//! # An instance's life
//!
//! As Spin 4.1's `wasi:http@0.3` trigger does, the client gets the response
//! as soon as the component produced it (devhost also waits for its whole
//! body), and the instance keeps running after that, in a task of its own,
//! while the guest has post-return work (a task it `spawn`ed, which keeps the
//! component-model task from exiting): until the store has no "interesting"
//! tasks left ([`Accessor::poll_no_interesting_tasks`], as wasmtime-wasi-http's
//! `ProxyHandler` uses it). Everything, answer and post-return work, must end
//! within [`Limits::timeout`] of the request's start: past it the instance is
//! dropped, with a 504 if it had not answered yet and a line in the log if it
//! had. A trap after the answer is logged and changes nothing for the client.
//! A client that goes away does not stop the instance, as in Spin.
//!
//! When [`serve`] stops, it waits (at most [`Limits::timeout`]) for the
//! instances still running, so that post-return work is not cut off.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use wasmtime::component::{Accessor, Component, Linker};
use wasmtime::{
    AsContextMut, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{Prepared, Proxy};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::host::{Grants, Host, add_to_linker};
use crate::kv::Backend;
use crate::manifest::Manifest;
use crate::outbound::AllowedHost;
use crate::router::Router;
use crate::variables;

/// Limits of the host.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may run.
    pub timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            max_body: 1024 * 1024,
        }
    }
}

struct Loaded {
    pre: ServicePre<Host>,
    grants: Grants,
}

/// A loaded application, ready to serve.
pub struct Runtime {
    engine: Engine,
    router: Router,
    components: HashMap<String, Arc<Loaded>>,
    kv: Arc<dyn Backend>,
    limits: Limits,
    /// How many instances are running, answering or in post-return work.
    running: watch::Sender<usize>,
}

/// Counts one running instance in [`Runtime::running`] while it lives.
struct Running(watch::Sender<usize>);

impl Running {
    fn start(counter: &watch::Sender<usize>) -> Running {
        counter.send_modify(|n| *n += 1);
        Running(counter.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Why an instance did not answer.
enum Failure {
    /// It failed (trap, handler error, bad response) before answering.
    Failed(anyhow::Error),
    /// The request's deadline passed first.
    TimedOut,
}

/// What an instance sends the request that started it.
type Answer = std::result::Result<http::Response<Full<Bytes>>, Failure>;

/// Set (to anything) to have the engine write a perf map; see README.
pub const PERFMAP_VARIABLE: &str = "DEVHOST_PERFMAP";

/// Bytes of each pooled memory kept resident between instances: Spin's
/// default (`SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT`).
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// Bytes of each pooled table kept resident: Spin's default
/// (`SPIN_WASMTIME_TABLE_KEEP_RESIDENT`).
const TABLE_KEEP_RESIDENT: usize = 512 << 10;

/// The process-wide engine: one instance pool for every app this process
/// serves (tests start many), and compiled components can be shared.
fn engine() -> Result<Engine> {
    static ENGINE: OnceLock<std::result::Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| new_engine().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("cannot create the wasmtime engine: {e}"))
}

fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.concurrency_support(true);
    config.epoch_interruption(true);
    let mut pooling = PoolingAllocationConfig::default();
    pooling.total_component_instances(1000);
    pooling.total_core_instances(4000);
    pooling.total_memories(1000);
    pooling.total_tables(1000);
    pooling.max_memory_size(256 << 20);
    // A fresh instance per request reuses a pooled slot, reset as Spin 4.1
    // resets it (spin-core's engine config), so that an instance costs here
    // what it costs there and never less: the low pages are kept resident
    // and reset with a memset of the whole kept range (PAGEMAP_SCAN stays
    // off, wasmtime's default, as Spin leaves it); pages above it are
    // dropped with `madvise` and fault back in on the next use.
    pooling.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
    pooling.table_keep_resident(TABLE_KEEP_RESIDENT);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    // For profiling with `perf`: /tmp/perf-<pid>.map names the compiled guest
    // functions (components built unstripped show their Rust names).
    if std::env::var_os(PERFMAP_VARIABLE).is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config)?;
    // Epochs let a runaway guest yield, so the request timeout can fire.
    let ticker = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = ticker.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    Ok(engine)
}

/// Compiles `path`, or reuses what this process compiled from the same file
/// (same size and modification time): test binaries start the app many times.
fn compile(engine: &Engine, path: &Path) -> Result<Component> {
    type Key = (PathBuf, u64, Option<SystemTime>);
    static COMPILED: OnceLock<Mutex<HashMap<Key, Component>>> = OnceLock::new();
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let cache = COMPILED.get_or_init(Default::default);
    if let Some(component) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(component);
    }
    let component = Component::from_file(engine, path).map_err(anyhow::Error::from)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(key, component.clone());
    }
    Ok(component)
}

impl Runtime {
    /// Loads every component of `manifest` with the resolved application variables.
    pub fn new(
        manifest: &Manifest,
        values: &BTreeMap<String, String>,
        kv: Arc<dyn Backend>,
        limits: Limits,
    ) -> Result<Runtime> {
        let engine = engine()?;
        let mut linker = Linker::<Host>::new(&engine);
        add_to_linker(&mut linker)?;
        let mut components = HashMap::new();
        for (id, c) in &manifest.components {
            let path = manifest.dir.join(&c.source);
            let component = compile(&engine, &path).with_context(|| {
                format!(
                    "component {id}: cannot load {} (build it first: devhost build)",
                    path.display()
                )
            })?;
            let instance = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from);
            let pre = ServicePre::new(instance.with_context(|| format!("component {id}"))?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id} does not export wasi:http/handler@0.3"))?;
            // A template may expand to several comma-separated origins, or to none.
            let mut outbound = Vec::new();
            for entry in &c.allowed_outbound_hosts {
                let expanded = variables::expand(entry, values)
                    .with_context(|| format!("component.{id}.allowed_outbound_hosts"))?;
                for origin in expanded.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                    outbound.push(
                        AllowedHost::parse(origin)
                            .with_context(|| format!("component.{id}.allowed_outbound_hosts"))?,
                    );
                }
            }
            let grants = Grants {
                component: id.clone(),
                key_value_stores: Arc::new(c.key_value_stores.clone()),
                variables: Arc::new(variables::component_values(manifest, id, values)?),
                outbound: Arc::new(outbound),
            };
            components.insert(id.clone(), Arc::new(Loaded { pre, grants }));
        }
        let router = Router::new(
            manifest
                .triggers
                .iter()
                .map(|t| (t.route.as_str(), t.component.as_str())),
        )?;
        Ok(Runtime {
            engine,
            router,
            components,
            kv,
            limits,
            running: watch::Sender::new(0),
        })
    }

    /// How many instances are running now: answering a request, or in
    /// post-return work after answering.
    pub fn running_instances(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until no instance is running, or `limit` passed. Each instance
    /// ends by its request's deadline, so this ends within
    /// [`Limits::timeout`] unless new requests keep arriving.
    pub async fn wait_for_instances(&self, limit: Duration) {
        let mut running = self.running.subscribe();
        let _ = tokio::time::timeout(limit, running.wait_for(|n| *n == 0)).await;
    }

    /// The key-value backend.
    pub fn kv(&self) -> &Arc<dyn Backend> {
        &self.kv
    }

    /// Answers one request.
    pub async fn handle(
        &self,
        req: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> http::Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let Some(matched) = self.router.route(&path) else {
            // As Spin answers a path no route matches: 404, no body (an app
            // that wants a better one adds a catch-all route).
            let mut response = http::Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        };
        let Some(loaded) = self.components.get(&matched.route.component) else {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "route without component",
            );
        };
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.limits.max_body) {
            return too_large(self.limits.max_body);
        }
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, self.limits.max_body).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return too_large(self.limits.max_body);
            }
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "malformed-request",
                    &format!("cannot read body: {e}"),
                );
            }
        };

        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_string();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let full_url = format!("http://{host}{path_and_query}");
        let mut spin_headers = vec![
            ("spin-full-url", full_url.clone()),
            ("spin-path-info", matched.path_info.clone()),
            ("spin-matched-route", matched.route.pattern.clone()),
            ("spin-raw-component-route", matched.route.pattern.clone()),
            ("spin-component-route", matched.route.base().to_string()),
            ("spin-base-path", "/".to_string()),
            ("spin-client-addr", client.to_string()),
        ];
        let param_headers: Vec<(String, String)> = matched
            .params
            .iter()
            .map(|(k, v)| {
                (
                    format!("spin-path-match-{}", k.to_ascii_lowercase()),
                    v.clone(),
                )
            })
            .collect();
        for (name, value) in spin_headers
            .drain(..)
            .map(|(k, v)| (k.to_string(), v))
            .chain(param_headers)
        {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                parts.headers.insert(n, v);
            }
        }
        if let Ok(uri) = full_url.parse() {
            parts.uri = uri;
        }
        let request = http::Request::from_parts(
            parts,
            Full::new(body)
                .map_err(|never: Infallible| match never {})
                .boxed_unsync(),
        );

        // The instance runs in a task of its own, which may outlive this
        // request's answer (post-return work); it sends the answer here.
        let deadline = Instant::now() + self.limits.timeout;
        let (answer, answered) = oneshot::channel();
        tokio::spawn(run_instance(
            self.engine.clone(),
            loaded.clone(),
            self.kv.clone(),
            request,
            (self.limits.timeout, deadline),
            answer,
            Running::start(&self.running),
        ));
        let failed = || {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                &format!(
                    "component {} failed; see the host log",
                    loaded.grants.component
                ),
            )
        };
        match answered.await {
            Ok(Ok(response)) => response,
            Ok(Err(Failure::Failed(e))) => {
                eprintln!(
                    "devhost: component {} failed: {e:?}",
                    loaded.grants.component
                );
                failed()
            }
            Ok(Err(Failure::TimedOut)) => problem(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                &format!(
                    "component {} did not answer within {:?}",
                    loaded.grants.component, self.limits.timeout
                ),
            ),
            Err(_) => {
                // Only a panic in the host ends the instance's task unanswered.
                eprintln!(
                    "devhost: component {}: the host's instance task ended without an answer",
                    loaded.grants.component
                );
                failed()
            }
        }
    }
}

/// Runs one request's instance until it has answered and has no post-return
/// work left, or until `deadline`; sends the answer (or why there is none)
/// on `answer` as soon as there is one, and logs what goes wrong after it.
async fn run_instance(
    engine: Engine,
    loaded: Arc<Loaded>,
    kv: Arc<dyn Backend>,
    request: http::Request<wasmtime_wasi_http::WasiBody>,
    (timeout, deadline): (Duration, Instant),
    answer: oneshot::Sender<Answer>,
    _running: Running,
) {
    let mut answer = Some(answer);
    let ran =
        tokio::time::timeout_at(deadline, run(&engine, &loaded, kv, request, &mut answer)).await;
    // The store is gone by now: it lived in `run`'s future.
    let component = &loaded.grants.component;
    match (ran, answer.take()) {
        (Ok(Ok(())), None) => {}
        (Ok(Ok(())), Some(answer)) => {
            let _ = answer.send(Err(Failure::Failed(anyhow!(
                "the component produced no response"
            ))));
        }
        (Ok(Err(e)), Some(answer)) => {
            let _ = answer.send(Err(Failure::Failed(e)));
        }
        (Ok(Err(e)), None) => {
            eprintln!("devhost: component {component} failed after answering: {e:?}");
        }
        (Err(_), Some(answer)) => {
            let _ = answer.send(Err(Failure::TimedOut));
        }
        (Err(_), None) => eprintln!(
            "devhost: component {component}: post-return work still running {:?} after the \
             request began; instance dropped",
            timeout
        ),
    }
}

/// One instance: instantiates, calls the handler, sends the response (body
/// complete) on `answer`, then keeps the store's event loop going until the
/// guest has no interesting tasks left (its post-return work is done).
async fn run(
    engine: &Engine,
    loaded: &Loaded,
    kv: Arc<dyn Backend>,
    request: http::Request<wasmtime_wasi_http::WasiBody>,
    answer: &mut Option<oneshot::Sender<Answer>>,
) -> Result<()> {
    let mut store = Store::new(engine, Host::new(kv, loaded.grants.clone()));
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let service = loaded.pre.instantiate_async(&mut store).await?;
    let proxy = Proxy::P3(service);
    let (tx, rx) = futures::channel::oneshot::channel();
    let prepared = Prepared::new(
        store.as_context_mut(),
        &proxy,
        request,
        WasiHttpView::http,
        tx,
    )?;
    store
        .run_concurrent(async |accessor: &Accessor<Host>| -> Result<()> {
            prepared.run(accessor, std::future::pending()).await?;
            let response = rx
                .await
                .map_err(|_| anyhow!("the component produced no response"))??;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| anyhow!("response body: {e}"))?
                .to_bytes();
            if let Some(answer) = answer.take() {
                // The client may have gone; the instance runs on regardless.
                let _ = answer.send(Ok(http::Response::from_parts(parts, Full::new(bytes))));
            }
            std::future::poll_fn(|cx| accessor.poll_no_interesting_tasks(cx)).await;
            Ok(())
        })
        .await?
}

/// An RFC 9457 answer from the host itself.
pub fn problem(status: StatusCode, slug: &str, detail: &str) -> http::Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": format!("urn:devhost:problem:{slug}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn too_large(max: usize) -> http::Response<Full<Bytes>> {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        &format!("the body may be at most {max} bytes"),
    )
}

/// Serves `runtime` on `listener` until `shutdown` resolves, then waits (at
/// most [`Limits::timeout`]) for the instances still running, answering or in
/// post-return work. Connections already open are not closed.
pub async fn serve(
    listener: TcpListener,
    runtime: Arc<Runtime>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("devhost: accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let runtime = runtime.clone();
                async move { Ok::<_, Infallible>(runtime.handle(req, client).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
                && !e.is_incomplete_message()
            {
                eprintln!("devhost: connection error: {e}");
            }
        });
    }
    let running = runtime.running_instances();
    if running > 0 {
        eprintln!(
            "devhost: stopping; waiting up to {:?} for {running} running instance(s)",
            runtime.limits.timeout
        );
    }
    runtime.wait_for_instances(runtime.limits.timeout).await;
}
