//! Outbound HTTP (`wasi:http` client): requests go out through
//! wasmtime-wasi-http's default client, but only to the component's
//! `allowed_outbound_hosts`; anything else gets `HttpRequestDenied`, as in Spin.

use std::sync::Arc;

use wasmtime_wasi_http::WasiHttpHooks;

use crate::outbound::{AllowedHost, is_allowed};

/// Outbound HTTP that refuses what the manifest does not allow, as Spin does.
pub struct Hooks {
    outbound: Arc<Vec<AllowedHost>>,
}

impl Hooks {
    /// Hooks that allow `outbound`.
    pub fn new(outbound: Arc<Vec<AllowedHost>>) -> Hooks {
        Hooks { outbound }
    }
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        drop(fut);
        if !is_allowed(&self.outbound, request.uri()) {
            eprintln!(
                "devhost: outbound request to {} denied by allowed_outbound_hosts",
                request.uri()
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
