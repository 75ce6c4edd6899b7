//! The Spin side of a component: read the request, route it, assemble an
//! [`App`] from Spin variables, the key-value store and outbound HTTP (only
//! for an endpoint that needs them), and write the answer. Compiled only
//! with the `spin` feature.

mod transport;

pub use transport::SpinTransport;

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{HeaderName, HeaderValue, Request, Response, StatusCode};

use crate::auth::{AuthConfig, jwt};
use crate::clock::SystemClock;
use crate::domain::Schedule;
use crate::ops::{App, Config, Limits, PlatformEndpoint};
use crate::problem::{Problem, ProblemKind};
use crate::random::OsEntropy;
use crate::store::SpinStore;
use crate::token::KeyRing;
use crate::web::routes::{Endpoint, Params, Route};
use crate::web::{Incoming, Outgoing, api};

/// The app as a component runs it.
pub type SpinApp = App<SpinStore, SpinTransport>;

/// Reads a component variable; absent or empty is `None`.
async fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .await
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn misconfigured(what: String) -> Problem {
    eprintln!("configuration: {what}");
    Problem::new(
        ProblemKind::Internal,
        "the service is misconfigured; the operator has been told",
    )
}

/// The JWT settings from the `auth_*` variables, read all at once.
async fn auth_config() -> Result<AuthConfig, String> {
    let values = futures::future::join_all(jwt::VARIABLES.iter().map(|name| variable(name))).await;
    let found: Vec<(&str, Option<String>)> = jwt::VARIABLES.iter().copied().zip(values).collect();
    AuthConfig::from_variables(|name| {
        found
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
    })
}

/// The rate limits from the `rate_limit_*` variables; an unset one keeps its
/// default, 0 turns it off.
async fn limits() -> Result<Limits, String> {
    let mut limits = Limits::default();
    for (name, slot) in [
        ("rate_limit_link_per_address", &mut limits.link_per_address),
        ("rate_limit_link_per_token", &mut limits.link_per_token),
        ("rate_limit_partner", &mut limits.partner),
    ] {
        if let Some(value) = variable(name).await {
            *slot = value
                .parse()
                .map_err(|_| format!("{name} must be a whole number of requests a minute"))?;
        }
    }
    Ok(limits)
}

/// Assembles the app from the component's variables.
pub async fn app() -> Result<SpinApp, Problem> {
    let ring = variable("signing_keys")
        .await
        .ok_or_else(|| misconfigured("signing_keys is not set".into()))?;
    let keys = KeyRing::parse(&ring).map_err(|e| misconfigured(format!("signing_keys: {e}")))?;
    let store = SpinStore::open("default")
        .await
        .map_err(|e| misconfigured(format!("key-value store: {e}")))?;
    let auth = auth_config()
        .await
        .map_err(|e| misconfigured(format!("JWT verification: {e}")))?;
    Ok(App {
        store,
        transport: SpinTransport,
        keys,
        clock: Box::new(SystemClock),
        random: Box::new(OsEntropy),
        config: Config {
            public_base_url: variable("public_base_url")
                .await
                .unwrap_or_else(|| "http://127.0.0.1:3000".into()),
            mail_relay_url: variable("mail_relay_url").await,
            vendor_name: variable("vendor_name")
                .await
                .unwrap_or_else(|| "the vendor".into()),
            platform: match (
                variable("platform_webhook_url").await,
                variable("platform_webhook_secret").await,
            ) {
                (Some(url), Some(secret)) => Some(PlatformEndpoint { url, secret }),
                (Some(_), None) => {
                    return Err(misconfigured(
                        "platform_webhook_url is set without platform_webhook_secret".into(),
                    ));
                }
                _ => None,
            },
            auth,
            limits: limits().await.map_err(misconfigured)?,
            schedule: match variable("delivery_schedule").await {
                Some(text) => Schedule::parse(&text)
                    .map_err(|e| misconfigured(format!("delivery_schedule: {e}")))?,
                None => Schedule::default(),
            },
        },
    })
}

/// Reads the whole request; 413 past `limit` bytes of body.
pub async fn read(req: Request, limit: usize) -> Result<Incoming, Problem> {
    let too_large = || {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the body may be at most {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    let body = req.into_body().bytes().await.map_err(|e| {
        Problem::new(
            ProblemKind::Malformed,
            format!("could not read the body: {e:?}"),
        )
    })?;
    if body.len() > limit {
        return Err(too_large());
    }
    Ok(Incoming {
        method,
        path,
        query,
        headers,
        body: body.to_vec(),
    })
}

/// Writes an answer as a Spin response, with its `Content-Length`: Spin's
/// server then sends an answer whose body is ready as one write, not a head
/// and a chunked body that a keep-alive client's delayed ACK holds up
/// (docs/spin-http-stall.md).
pub fn render(out: Outgoing) -> Response<String> {
    let length = HeaderValue::from(out.body.len());
    let mut response = Response::new(out.body);
    response
        .headers_mut()
        .insert(HeaderName::from_static("content-length"), length);
    *response.status_mut() =
        StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in out.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Serves one request for a component whose routes are `table`, with its
/// `dispatch`er from [`api`]: a path or method the table does not serve, and
/// what `statics` answers (the public documents), are answered before any
/// configuration is read, so they work even when a variable is missing.
pub async fn serve(
    req: Request,
    table: &[Route],
    statics: fn(Endpoint) -> Option<Outgoing>,
    dispatch: impl AsyncFn(&SpinApp, &Incoming, Endpoint, &Params) -> Outgoing,
) -> Response<String> {
    let (endpoint, params) = match api::route(table, req.method().as_str(), req.uri().path()) {
        Ok(found) => found,
        Err(answer) => return render(answer),
    };
    let incoming = match read(req, endpoint.max_body()).await {
        Ok(incoming) => incoming,
        Err(problem) => return render(Outgoing::problem(&problem)),
    };
    if let Some(answer) = statics(endpoint) {
        return render(answer);
    }
    match app().await {
        Ok(app) => {
            let answer = dispatch(&app, &incoming, endpoint, &params).await;
            if endpoint.writes() && (200..300).contains(&answer.status) {
                // After the answer is sent: Spin runs a component's spawned
                // work until it ends (a request cut short loses nothing: a
                // claim expires, an entry stays). It waits too, so that its
                // store calls do not hold the instance while the answer's
                // body is on its way.
                spin_sdk::wasip3::spawn(async move {
                    pause(AFTER_ANSWER_NS).await;
                    if let Err(problem) = app.dispatcher().piggyback().await {
                        eprintln!("redelivery after the answer: {}", problem.detail);
                    }
                });
            }
            pause(SETTLE_NS).await;
            render(answer)
        }
        Err(problem) => render(Outgoing::problem(&problem)),
    }
}

/// How long an answer waits after its last store call, in nanoseconds.
/// Spin runs a store call with the instance's task off tokio's worker
/// threads (its SQLite store in `block_in_place`), and an answer sent from
/// there reaches the connection's task before its body: hyper writes the
/// head alone and a keep-alive client's delayed ACK holds the body for
/// 40 ms. An answer sent after a timer wakes the task is written whole:
/// 43 ms to 1.4 ms at one connection (docs/spin-http-stall.md). A zero wait
/// does not help: it ends without leaving the task.
const SETTLE_NS: u64 = 100_000;

/// How long the work after an answer waits before its first store call,
/// in nanoseconds: until the answer's body has left.
const AFTER_ANSWER_NS: u64 = 2_000_000;

/// Waits `nanoseconds` on the host's clock.
async fn pause(nanoseconds: u64) {
    spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanoseconds).await;
}
