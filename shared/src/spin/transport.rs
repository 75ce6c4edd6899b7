//! Outbound HTTP through Spin (`wasi:http`), limited by the component's
//! `allowed_outbound_hosts`.

use spin_sdk::http::{HeaderName, HeaderValue, Method, Request};

use crate::outbound::Transport;

/// Sends requests with `spin_sdk::http::send`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinTransport;

impl Transport for SpinTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        let mut request = Request::new(String::from_utf8_lossy(body).into_owned());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            request.headers_mut().append(name, value);
        }
        match spin_sdk::http::send(request).await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) => Err(format!("{e:?}")),
        }
    }
}
