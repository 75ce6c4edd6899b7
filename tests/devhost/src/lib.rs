//! devhost: a local Spin-compatible host for development and tests.
//!
//! It reads `spin.toml`, routes HTTP requests as Spin does, and runs the real
//! `.wasm` components with the interfaces Spin gives them: `wasi:http`,
//! `spin:key-value` and `wasi:keyvalue` (in memory or in a SQLite file in
//! Spin's schema), `spin:variables`, and outbound HTTP limited to each
//! component's `allowed_outbound_hosts`. The app itself is deployed on Spin;
//! this host exists because the Spin CLI cannot be installed everywhere we work.

pub mod build;
pub mod dev_keys;
pub mod host;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod router;
pub mod server;
pub mod testing;
pub mod variables;
