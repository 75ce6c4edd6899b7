//! The app end to end: the real release `.wasm` components served by devhost
//! or a real Spin (`E2E_HOST`; see the harness, `tests/e2e/src/lib.rs`) and
//! driven over HTTP. One test binary for all of them, so the host
//! (wasmtime) is compiled and linked once rather than once per file.

mod concurrency;
mod connections;
mod crash;
mod errors;
mod invites;
mod isolation;
mod jwt;
mod limits;
mod openapi;
mod organizations;
mod race;
mod redelivery;
mod redis;
mod relationships;
