//! devhost's integration tests, in one binary so that wasmtime is linked
//! once: the fixture component in a host (`host`), Redis and the runtime
//! config file (`redis`), and the command line (`cli`).

mod cli;
mod common;
mod host;
mod redis;
