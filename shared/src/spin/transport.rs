//! Outbound HTTP through Spin (`wasi:http`), limited by the component's
//! `allowed_outbound_hosts`.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use futures::future::{Either, select};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{HeaderName, HeaderValue, Method, Request};

use crate::outbound::{Answer, Fetched, OUTBOUND_TIMEOUT_SECONDS, Transport, no_answer};

/// `exchange` with `url`, given up (and cancelled) after
/// [`OUTBOUND_TIMEOUT_SECONDS`].
async fn within<T>(
    url: &str,
    exchange: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let timer = spin_sdk::time::sleep(Duration::from_secs(OUTBOUND_TIMEOUT_SECONDS));
    match select(pin!(exchange), pin!(timer)).await {
        Either::Left((done, _)) => done,
        Either::Right(_) => Err(no_answer(url)),
    }
}

/// Sends requests with `spin_sdk::http::send`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinTransport;

impl Transport for SpinTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, String> {
        let mut request = Request::new(String::from_utf8_lossy(body).into_owned());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            request.headers_mut().append(name, value);
        }
        within(url, async {
            match spin_sdk::http::send(request).await {
                Ok(response) => Ok(Answer {
                    status: response.status().as_u16(),
                    retry_after: response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                }),
                Err(e) => Err(format!("{e:?}")),
            }
        })
        .await
    }

    async fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
        limit: usize,
    ) -> Result<Fetched, String> {
        let mut request = Request::new(String::new());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            request.headers_mut().append(name, value);
        }
        within(url, async {
            let response = spin_sdk::http::send(request)
                .await
                .map_err(|e| format!("{e:?}"))?;
            let status = response.status().as_u16();
            let too_long = || format!("the answer is longer than {limit} bytes");
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > limit) {
                return Err(too_long());
            }
            let mut body = Vec::new();
            let mut chunks = response.into_body().stream();
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| format!("{e:?}"))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_long());
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        })
        .await
    }
}
