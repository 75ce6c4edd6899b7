//! devhost: a local Spin-compatible host for development and tests.
//!
//! It reads `spin.toml`, routes HTTP requests as Spin does, and runs the real
//! `.wasm` components with the interfaces Spin gives them: `wasi:http`,
//! `spin:key-value` and `wasi:keyvalue` (in memory or in a SQLite file in
//! Spin's schema), `spin:variables`, and outbound HTTP limited to each
//! component's `allowed_outbound_hosts`. The app itself is deployed on Spin;
//! this host exists because the Spin CLI cannot be installed everywhere we work.
//!
//! # What it does as Spin does
//!
//! - Routes with Spin's rules (the `routefinder` crate, as Spin): exact beats
//!   `:name` beats a trailing `/...`, segment by segment, so the longer prefix
//!   wins; sets `spin-full-url`, `spin-path-info`, `spin-matched-route`,
//!   `spin-raw-component-route`, `spin-component-route`, `spin-base-path`,
//!   `spin-client-addr` and `spin-path-match-<name>`.
//! - Instances as Spin 4.1 reuses them (wasmtime-wasi-http's `ProxyHandler`,
//!   set as Spin sets it): one instance serves up to 128 requests, 16 at
//!   once, and is kept 1 s when idle, so a component's globals and memory
//!   live from one request to the next; pooled, one engine per process.
//! - Post-return work (`wasi:http@0.3`): the response goes out as soon as the
//!   component returned it, and the instance runs on while the guest has
//!   tasks left (work it `spawn`ed), until the request timeout after its
//!   last answer; a trap there is only logged. On shutdown (Ctrl-C; twice to
//!   skip it) the host waits for requests and such work, at most the
//!   timeout. See [`server`].
//! - Writes the answer as Spin's server does: hyper 1, no `TCP_NODELAY`, the
//!   body streamed as the guest writes it, so the end of a body often goes
//!   out apart from its head and, on a keep-alive connection, waits for the
//!   client's delayed ACK (about 40 ms): at one connection, most requests of
//!   a handler that read the store, about half of one that awaited nothing,
//!   here as on Spin. Store operations run in `block_in_place` as Spin's
//!   SQLite and in-memory stores run them, which shapes that interleaving.
//! - Key-value: one store per label, opened only if the component lists it in
//!   `key_value_stores`; SQLite in Spin's schema (`spin_key_value(store, key,
//!   value)`, opened as Spin opens it: rollback journal, full sync), memory,
//!   or Redis. `wasi:keyvalue` counters are 8-byte little-endian `i64` in
//!   SQLite and memory, as Spin's SQLite backend stores them, and Redis
//!   integers in Redis, as Spin's Redis backend stores them.
//! - Key-value `get-many` and compare-and-swap behave as Spin 4.1's stores
//!   do today, flaws included, unless told otherwise (next section).
//! - A runtime config file (`--runtime-config-file`) in Spin's syntax maps
//!   store labels to backends: `[key_value_store.<label>]` with `type =
//!   "spin"` (SQLite at `path`), `"redis"` (`url`) or devhost's `"memory"`;
//!   see [`runtime_config`].
//! - Variables from `--variable name=value`, then `SPIN_VARIABLE_<NAME>`,
//!   then the default; a required variable without a value stops start-up.
//! - Outbound HTTP only to `allowed_outbound_hosts` (templates expanded; one
//!   template may expand to several comma-separated origins); anything else
//!   gets `HttpRequestDenied`.
//!
//! # Key-value semantics
//!
//! devhost must not be kinder than Spin, or the app's tests pass where users
//! fail. `devhost up --kv-semantics <mode>` (or `DEVHOST_KV_SEMANTICS`), and
//! [`testing::TestAppBuilder::kv_semantics`] in tests, choose how every store
//! answers `wasi:keyvalue` `get-many` and compare-and-swap
//! ([`kv::KvSemantics`] has the details):
//!
//! - `spin` (the default): as Spin 4.1 today. Redis: `get-many` sends `KEYS
//!   k1 k2 ...`, so two or more keys fail with `ERR wrong number of
//!   arguments for 'keys' command` and one key is a glob pattern; a swap
//!   `WATCH`es, runs `MULTI; SET; EXEC` and then `UNWATCH key`, which Redis
//!   refuses, so every swap reports `cas-failed` and it wrote iff the key was
//!   unchanged. SQLite and memory (Spin's `key-value-spin`, also its
//!   in-memory store): `get-many` leaves absent keys out; a swap after
//!   `current` saw no value is an unconditional upsert that reports success,
//!   so insert-if-absent is not atomic.
//! - `spin-next`: as `spin` with only the Redis `UNWATCH` bug fixed: an
//!   aborted `EXEC` still reads as success, so a swap that lost reports won.
//! - `correct`: truthful everywhere: `get-many` returns every key in order,
//!   `None` for an absent one, and a swap reports `cas-failed` iff it did not
//!   write, insert-if-absent included.
//!
//! In every mode a swap that reports `cas-failed` hands back a new CAS on
//! which `current` was called, as Spin's host does; `get`, `set`, `delete`,
//! `exists` and `increment` are the same in every mode.
//!
//! # What the host adds
//!
//! Answers of its own are RFC 9457 `application/problem+json`: 413 (body
//! over the limit, 1 MiB by default), 500 (trap or handler error), 504 (no
//! answer within the timeout, 30 s by default, which Spin sets only with
//! `--request-timeout`); a path no route matches gets Spin's empty 404. A
//! guest in a busy loop is made to yield every half timeout so that the
//! timeout can end it; Spin's would hold its thread.
//!
//! # `--fast`
//!
//! `devhost up --fast` (and [`testing::TestAppBuilder::fast`]) is kinder
//! than Spin, for quick local work only: `TCP_NODELAY` set and each whole
//! body written with its head (no Nagle stall), and SQLite stores in WAL mode
//! with `synchronous = NORMAL` (writes many times cheaper). Tests and
//! benchmarks run without it.
//!
//! # Tests
//!
//! [`testing`] starts an app on an ephemeral port with a fresh store, chosen
//! variables and a recording HTTP sink; see its documentation. Build commands
//! run with `CARGO_TARGET_DIR` removed, because the manifests' `source` paths
//! point into the workspace's own `target/`.

pub mod build;
pub mod cli;
pub mod dev_keys;
pub mod host;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod router;
pub mod runtime_config;
pub mod server;
pub mod testing;
pub mod variables;
