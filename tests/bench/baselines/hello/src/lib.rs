//! Benchmark baseline: answers a constant.

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Hello, world.
#[http_service]
async fn handle(_req: Request) -> impl IntoResponse {
    "hello"
}
