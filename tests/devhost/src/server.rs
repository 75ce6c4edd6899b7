//! Serving, as Spin 4.1's HTTP trigger serves a `wasi:http@0.3` component:
//! each request is routed to its component and handed to wasmtime-wasi-http's
//! [`ProxyHandler`], configured as Spin configures it
//! (`crates/trigger-http/src/server.rs`), so that a test or a benchmark sees
//! here what it would see on Spin.
//!
//! # Instances
//!
//! One instance serves up to [`Limits::max_instance_reuse_count`] requests
//! (Spin: 128), up to [`Limits::max_instance_concurrent_reuse_count`] at once
//! (16), and is kept for [`Limits::idle_instance_timeout`] (1 s) once idle:
//! a component's globals and memory live on from one request to the next, as
//! on Spin. Instances come from a pre-instantiated component and the pooling
//! allocator, set as Spin sets it.
//!
//! The client gets the response as soon as the component returned it, and the
//! instance runs on while the guest has post-return work (a task it
//! `spawn`ed, or the body it is still writing). A request must be answered
//! within [`Limits::timeout`] (Spin's `--request-timeout`; Spin has none by
//! default) and post-return work must end within the same time once the
//! instance's last request was answered; past either the instance is
//! dropped, with a 504 for a request not answered and a line in the log. A
//! trap ends the instance and every request it had not answered yet (500),
//! as on Spin; after the answers it is only logged. Unlike Spin, devhost makes
//! a guest in a busy loop yield every half timeout, so that the timeout can
//! end it (within one and a half timeouts); Spin's would hold its thread. A
//! client that goes away does not stop anything, as on Spin.
//!
//! # Writing the answer
//!
//! As Spin's server: hyper 1 (`hyper_util`'s auto builder), no
//! `TCP_NODELAY`, and the guest's body handed to hyper as a stream. What of
//! the body is not ready when hyper writes the head (often only its end, the
//! last chunk) goes out in a write of its own, and on a keep-alive
//! connection Nagle holds it until the client's delayed ACK: about 40 ms.
//! How often depends on how the guest and hyper interleave, which devhost
//! keeps as Spin has it (a guest is not interrupted, a store operation runs
//! in `block_in_place`): at one connection, most requests of a handler that
//! read the store and about half of a handler that awaited nothing, here
//! as on Spin. [`Runtime::fast`] (`devhost up --fast`) sets `TCP_NODELAY`
//! and writes the whole body with the head instead, for quick local work
//! only.
//!
//! When [`serve`] stops, it waits (at most [`Limits::timeout`]) for the
//! requests and the post-return work still running.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use wasmtime::component::{Component, GuestTaskId, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreContextMut,
};
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, InstantiationError, Proxy, ProxyHandler, ShouldAccept,
    TrapOrPanicError, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use crate::host::{Grants, Host, add_to_linker};
use crate::kv::Backend;
use crate::manifest::Manifest;
use crate::outbound::AllowedHost;
use crate::router::Router;
use crate::variables;

/// Limits of the host, and how it reuses instances.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may wait for its answer, and post-return work may
    /// run after an instance's last answer (Spin's `--request-timeout`).
    pub timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Requests one instance serves in its life (Spin's default: 128).
    pub max_instance_reuse_count: usize,
    /// Requests one instance serves at once (Spin's default: 16).
    pub max_instance_concurrent_reuse_count: usize,
    /// How long an idle instance is kept for the next request (Spin's
    /// default: 1 s).
    pub idle_instance_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            max_body: 1024 * 1024,
            max_instance_reuse_count: 128,
            max_instance_concurrent_reuse_count: 16,
            idle_instance_timeout: Duration::from_secs(1),
        }
    }
}

/// A response as hyper gets it: the guest's body, or the host's own.
pub type ResponseBody = WasiBody;

/// A routed component: its instances.
struct Loaded {
    component: String,
    handler: ProxyHandler<Instances>,
}

/// A loaded application, ready to serve.
pub struct Runtime {
    router: Router,
    components: HashMap<String, Loaded>,
    kv: Arc<dyn Backend>,
    limits: Limits,
    /// Whether answers are written as devhost wrote them before (`--fast`).
    fast: bool,
    /// Requests not answered yet, plus instances in post-return work.
    running: watch::Sender<usize>,
}

/// One unit of [`Runtime::running`] while it lives.
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
    // A new instance takes a pooled slot, reset as Spin 4.1 resets it
    // (spin-core's engine config), so that an instance costs here what it
    // costs there and never less: the low pages are kept resident and reset
    // with a memset of the whole kept range (PAGEMAP_SCAN stays off,
    // wasmtime's default, as Spin leaves it); pages above it are dropped with
    // `madvise` and fault back in on the next use.
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
            std::thread::sleep(EPOCH_TICK);
        }
    });
    Ok(engine)
}

/// How often the engine's epoch advances: spin-core's default tick.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Epoch ticks in `time`, at least one.
fn epoch_ticks(time: Duration) -> u64 {
    let ticks = time.as_nanos() / EPOCH_TICK.as_nanos();
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
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
        let running = watch::Sender::new(0);
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
            let handler = ProxyHandler::new(Instances {
                pre,
                grants,
                kv: kv.clone(),
                limits,
                running: running.clone(),
            });
            components.insert(
                id.clone(),
                Loaded {
                    component: id.clone(),
                    handler,
                },
            );
        }
        let router = Router::new(
            manifest
                .triggers
                .iter()
                .map(|t| (t.route.as_str(), t.component.as_str())),
        )?;
        Ok(Runtime {
            router,
            components,
            kv,
            limits,
            fast: false,
            running,
        })
    }

    /// Writes answers as devhost did before it wrote them as Spin
    /// (`devhost up --fast`): `TCP_NODELAY` on every connection, and the
    /// whole body collected and written with the head, so a keep-alive
    /// client never waits for Nagle. Kinder than Spin: not for tests.
    pub fn fast(mut self) -> Runtime {
        self.fast = true;
        self
    }

    /// How many requests have no answer yet, plus how many instances have
    /// answered every request they took but still run post-return work.
    pub fn running_instances(&self) -> usize {
        *self.running.borrow()
    }

    /// Waits until [`running_instances`](Self::running_instances) is zero,
    /// or `limit` passed. Each ends within [`Limits::timeout`] (an instance in
    /// post-return work: after its last answer), unless new requests keep
    /// arriving.
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
    ) -> http::Response<ResponseBody> {
        let path = req.uri().path().to_string();
        let Some(matched) = self.router.route(&path) else {
            // As Spin answers a path no route matches: 404, no body (an app
            // that wants a better one adds a catch-all route).
            let mut response = http::Response::new(host_body(Bytes::new()));
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
        let request = http::Request::from_parts(parts, host_body(body));

        let started = Instant::now();
        // The request counts as running until an instance answered it (or
        // gave up on it): the unit travels with it into the instance.
        let answered = loaded
            .handler
            .handle(Running::start(&self.running), request)
            .await;
        let component = &loaded.component;
        let response = match answered {
            Ok(response) => response,
            Err(e) if e.is::<ExpirationError>() || started.elapsed() >= self.limits.timeout => {
                return problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    &format!(
                        "component {component} did not answer within {:?}",
                        self.limits.timeout
                    ),
                );
            }
            Err(e) => {
                if let Some(failed) = e.downcast_ref::<InstantiationError<Running>>() {
                    eprintln!(
                        "devhost: component {component}: cannot instantiate: {:?}",
                        failed.error
                    );
                } else if !e.is::<TrapOrPanicError>() {
                    // A trap ends the instance, which logs it (Worker::drop).
                    eprintln!("devhost: component {component} failed: {e:?}");
                }
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal-error",
                    &format!("component {component} failed; see the host log"),
                );
            }
        };
        if !self.fast {
            return response;
        }
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(body) => http::Response::from_parts(parts, host_body(body.to_bytes())),
            Err(e) => {
                eprintln!("devhost: component {component}: response body failed: {e:?}");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal-error",
                    &format!("component {component} failed; see the host log"),
                )
            }
        }
    }
}

/// What [`ProxyHandler`] needs to make instances of one component: Spin's
/// `HttpHandlerState`.
struct Instances {
    pre: ServicePre<Host>,
    grants: Grants,
    kv: Arc<dyn Backend>,
    limits: Limits,
    running: watch::Sender<usize>,
}

impl HandlerState for Instances {
    type StoreData = Host;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<Host, Expiration, Worker>> {
        let mut store = Store::new(
            self.pre.engine(),
            Host::new(self.kv.clone(), self.grants.clone()),
        );
        // Spin never interrupts a guest (its epoch deadline is practically
        // forever). A guest in a busy loop yields here every half timeout,
        // so that the timeout can end it, and is otherwise left alone: a
        // yield every tick changed how the guest and hyper interleave (the
        // end of a body written apart from its head far more often).
        let ticks = epoch_ticks(self.limits.timeout / 2);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_async_yield_and_update(ticks);
        let service = self.pre.instantiate_async(&mut store).await?;
        let busy = Arc::new(Busy {
            running: self.running.clone(),
            state: Mutex::default(),
        });
        Ok(Instance {
            store,
            proxy: Proxy::P3(service),
            view: <Host as WasiHttpView>::http,
            expiration: Expiration {
                idle_timeout: self.limits.idle_instance_timeout,
                request_timeout: self.limits.timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
                busy: busy.clone(),
            },
            state: Worker {
                component: self.grants.component.clone(),
                timeout: self.limits.timeout,
                max_reuse: self.limits.max_instance_reuse_count,
                max_concurrent: self.limits.max_instance_concurrent_reuse_count,
                busy,
            },
        })
    }
}

/// One instance's requests and post-return work, shared by its [`Worker`],
/// its [`Expiration`] and its requests' [`Answering`].
struct Busy {
    running: watch::Sender<usize>,
    state: Mutex<BusyState>,
}

#[derive(Default)]
struct BusyState {
    /// Requests taken and not yet answered or expired.
    open: usize,
    /// Requests taken so far.
    taken: usize,
    /// Held while every request is answered but the guest has work left.
    post_return: Option<Running>,
    /// The worker's status when last seen, and `taken` then.
    seen: Option<(WorkerStatus, usize)>,
    /// The status in which the instance expired.
    expired: Option<WorkerStatus>,
}

impl Busy {
    fn state(&self) -> MutexGuard<'_, BusyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Spin's `HttpWorkerState`: how many requests an instance takes, how long
/// each may take; it also logs why an instance ended.
struct Worker {
    component: String,
    timeout: Duration,
    max_reuse: usize,
    max_concurrent: usize,
    busy: Arc<Busy>,
}

impl WorkerState for Worker {
    type StoreData = Host;
    type RequestData = Running;

    fn should_accept_request(&self, concurrent_count: usize, total_count: usize) -> ShouldAccept {
        if total_count >= self.max_reuse {
            ShouldAccept::Never
        } else if concurrent_count >= self.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _: StoreContextMut<'_, Host>,
        request: Running,
        _: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        {
            let mut state = self.busy.state();
            state.open += 1;
            state.taken += 1;
            // The request is counted now, so the count never drops to zero
            // in between.
            state.post_return = None;
        }
        Box::pin(Answering {
            sleep: Box::pin(tokio::time::sleep(self.timeout)),
            request: Some(request),
            busy: self.busy.clone(),
        })
    }

    fn drop(&self, store: Store<Host>, result: wasmtime::Result<()>) {
        let (expired, seen, taken) = {
            let mut state = self.busy.state();
            state.post_return = None;
            (state.expired, state.seen, state.taken)
        };
        let component = &self.component;
        let timeout = self.timeout;
        // What the handler reports for a worker dropped unfinished: a task
        // cancelled as its runtime shuts down (a real panic prints itself).
        let cancelled =
            |e: &wasmtime::Error| !std::thread::panicking() && e.to_string() == "worker panicked";
        if let Err(e) = &result
            && !cancelled(e)
        {
            match expired {
                Some(WorkerStatus::PostReturn) => eprintln!(
                    "devhost: component {component}: post-return work still running {timeout:?} \
                     after the instance's last answer; instance dropped"
                ),
                Some(WorkerStatus::Requests) => eprintln!(
                    "devhost: component {component}: a request still unanswered {timeout:?} \
                     after it began; instance dropped"
                ),
                // Answered everything it had taken when last seen, and took
                // nothing since.
                _ if seen.is_some_and(|(s, t)| s != WorkerStatus::Requests && t == taken) => {
                    eprintln!("devhost: component {component} failed after answering: {e:?}")
                }
                _ => eprintln!(
                    "devhost: component {component} failed; its requests not answered yet got \
                     a 500: {e:?}"
                ),
            }
        }
        drop(store);
    }
}

/// A request's expiration, as Spin's `on_request_start` returns it; dropped
/// once the request was answered or expired, which it counts.
struct Answering {
    sleep: Pin<Box<Sleep>>,
    request: Option<Running>,
    busy: Arc<Busy>,
}

impl Future for Answering {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        self.sleep.as_mut().poll(cx)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let mut state = self.busy.state();
        state.open = state.open.saturating_sub(1);
        if state.open == 0 && state.post_return.is_none() {
            // Until the worker is seen idle: counted before the request
            // stops counting, so the count never drops to zero in between.
            state.post_return = Some(Running::start(&self.busy.running));
        }
        drop(self.request.take());
    }
}

/// Spin's `HttpWorkerExpiration`: an idle instance lives for the idle
/// timeout, a busy one until the request timeout after its latest request
/// (or, in post-return work, after its last answer).
struct Expiration {
    idle_timeout: Duration,
    request_timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    busy: Arc<Busy>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        status: WorkerStatus,
        start: std::time::Instant,
    ) -> Poll<()> {
        {
            let mut state = self.busy.state();
            let taken = state.taken;
            state.seen = Some((status, taken));
            if status == WorkerStatus::Idle {
                state.post_return = None;
            }
        }
        let timeout = match status {
            WorkerStatus::Idle => self.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => self.request_timeout,
        };
        let Some(deadline) = start.checked_add(timeout) else {
            return Poll::Pending;
        };
        let deadline = Instant::from_std(deadline);
        if deadline != self.sleep.deadline() {
            self.sleep.as_mut().reset(deadline);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.busy.state().expired = Some(status);
        Poll::Ready(())
    }
}

/// A body from the host itself.
fn host_body(bytes: Bytes) -> ResponseBody {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// An RFC 9457 answer from the host itself.
pub fn problem(status: StatusCode, slug: &str, detail: &str) -> http::Response<ResponseBody> {
    let body = serde_json::json!({
        "type": format!("urn:devhost:problem:{slug}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = http::Response::new(host_body(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The 413, with `connection: close`: the rest of the body is never read,
/// so hyper closes the connection, and a client must not reuse it.
fn too_large(max: usize) -> http::Response<ResponseBody> {
    let mut response = problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        &format!("the body may be at most {max} bytes"),
    );
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Serves `runtime` on `listener` until `shutdown` resolves, then waits (at
/// most [`Limits::timeout`]) for the requests and post-return work still
/// running. Connections already open are not closed.
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
        // Spin never sets it; without it a body written after its head
        // waits for the client's delayed ACK.
        if runtime.fast
            && let Err(e) = stream.set_nodelay(true)
        {
            eprintln!("devhost: cannot set TCP_NODELAY: {e}");
        }
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let runtime = runtime.clone();
                async move { Ok::<_, Infallible>(runtime.handle(req, client).await) }
            });
            // As Spin's `serve_connection`: HTTP/1 or HTTP/2, keep-alive.
            if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
                && !e
                    .downcast_ref::<hyper::Error>()
                    .is_some_and(hyper::Error::is_incomplete_message)
            {
                eprintln!("devhost: connection error: {e}");
            }
        });
    }
    let running = runtime.running_instances();
    if running > 0 {
        eprintln!(
            "devhost: stopping; waiting up to {:?} for {running} request(s) and instance(s) \
             still running",
            runtime.limits.timeout
        );
    }
    runtime.wait_for_instances(runtime.limits.timeout).await;
}
