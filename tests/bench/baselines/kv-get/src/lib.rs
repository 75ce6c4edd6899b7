//! Benchmark baseline: one key-value get, the least any endpoint of ours does.

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;

/// Reads one key and answers with its length.
#[http_service]
async fn handle(_req: Request) -> impl IntoResponse {
    match Store::open_default().await {
        Ok(store) => match store.get("baseline").await {
            Ok(value) => format!("{}", value.map_or(0, |v| v.len())),
            Err(e) => format!("error: {e:?}"),
        },
        Err(e) => format!("error: {e:?}"),
    }
}
