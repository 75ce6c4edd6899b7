//! devhost's integration tests, in one binary so that wasmtime is linked
//! once: the fixture component in a host (`host`), Redis and the runtime
//! config file (`redis`), the command line (`cli`), work a component does
//! after answering (`post_return`), and instance reuse and how answers are
//! written (`serving`).

mod cli;
mod common;
mod host;
mod post_return;
mod redis;
mod serving;
