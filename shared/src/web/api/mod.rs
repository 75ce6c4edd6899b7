//! What each endpoint does: authenticate, parse into typed input, call the
//! operation, render. A component hands its route table and its dispatcher
//! ([`generate_invite`], [`redeem_invite`], [`list_invites`],
//! [`connect_existing_organization`], [`partner_settings`]) to
//! `crate::spin::serve`. Each dispatcher is a `match` on the endpoint in
//! its own module, calling one handler per endpoint, so a component links
//! only the endpoints it serves. What the handlers share is here.

mod connect;
mod generate;
mod list;
mod redeem;
mod settings;

pub use connect::connect_existing_organization;
pub use generate::generate_invite;
pub use list::list_invites;
pub use redeem::redeem_invite;
pub use settings::partner_settings;

use super::page::{self, About};
use super::routes::{self, Endpoint, Matched, Params, Route};
use super::{Incoming, Outgoing};
use crate::auth::Principal;
use crate::capabilities;
use crate::messages::Language;
use crate::ops::{App, PageRequest, Quota, Scope};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::KeyValue;
use crate::token::Purpose;

/// What a handler gives: its answer, or the problem its dispatcher answers
/// as problem+json.
type Answer = Result<Outgoing, Problem>;

/// A handler's answer as sent: its problem as problem+json.
fn rendered(answer: Answer) -> Outgoing {
    answer.unwrap_or_else(|problem| Outgoing::problem(&problem))
}

/// Who is calling `endpoint`; a partner's request to an endpoint that
/// [writes](Endpoint::writes) counts against its rate limit (reads are
/// limited at the edge).
async fn caller<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
) -> Result<Principal, Problem> {
    let who = app.authenticate(req.authorization()).await?;
    if let (true, Principal::Partner { partner_id, .. }) = (endpoint.writes(), &who) {
        app.limiter().count(&[(Scope::Partner, partner_id)]).await?;
    }
    Ok(who)
}

/// Counts a link POST carrying `token` against the limits per client
/// address and per link (only if the token verifies).
async fn link_limits<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    token: Option<&str>,
    purpose: Purpose,
) -> Result<Vec<Quota>, Problem> {
    let Some(token) = token else {
        return Ok(Vec::new());
    };
    let address = req.client_address().unwrap_or("unknown");
    app.limiter().count_link(address, token, purpose).await
}

/// `answer` with the rate-limit headers of `quotas`.
fn with_quotas(mut answer: Outgoing, quotas: &[Quota]) -> Outgoing {
    for quota in quotas {
        answer.headers.extend(quota.headers());
    }
    answer
}

/// The language of a page answering `req`: the locale of the record it
/// shows, else the browser's `Accept-Language`, else English.
fn page_language(req: &Incoming, locale: Option<&str>) -> Language {
    Language::choose(locale, req.header("accept-language"))
}

/// The language of a page answering a submitted `form`: the one the form
/// was shown in, else the browser's.
fn form_language(req: &Incoming, form: &[(String, String)]) -> Language {
    page::form_language(form).unwrap_or_else(|| page_language(req, None))
}

/// A problem's page, in the language of its record if it has one.
fn problem_page(req: &Incoming, problem: &Problem, about: About) -> Outgoing {
    let language = page_language(req, problem.locale.as_deref());
    Outgoing::problem_page(problem, language, about)
}

/// The page a list asks for (`limit`, `cursor`).
fn page_request(req: &Incoming) -> Result<PageRequest, Problem> {
    PageRequest::parse(
        req.query_param("limit").as_deref(),
        req.query_param("cursor").as_deref(),
    )
}

/// What `method` on `path` leads to for a component with `table`: the
/// endpoint and its path segments, or the 404 or 405 answer. Needs neither
/// the body nor any configuration.
pub fn route(table: &[Route], method: &str, path: &str) -> Result<(Endpoint, Params), Outgoing> {
    match routes::find(table, method, path) {
        Matched::Endpoint(endpoint, params) => Ok((endpoint, params)),
        Matched::MethodNotAllowed(allow) => {
            Err(Outgoing::problem(&Problem::method_not_allowed(allow)))
        }
        Matched::NotFound => Err(Outgoing::problem(&Problem::new(
            ProblemKind::NotFound,
            format!("no endpoint at {path}"),
        ))),
    }
}

/// The path segment `name` of a matched route; empty if it has none.
fn param<'p>(params: &'p Params, name: &str) -> &'p str {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A table led to an endpoint its component's dispatcher does not answer:
/// the two disagree (the route-table tests make this impossible to ship).
fn not_served(endpoint: Endpoint) -> Outgoing {
    Outgoing::problem(&Problem::new(
        ProblemKind::Internal,
        format!("this component does not serve {endpoint:?}"),
    ))
}

/// `list-invites`' answers that need no configuration: the public
/// documents. Only the component that serves them links them in (the
/// OpenAPI document alone is 97 KB); the others pass [`no_static_answer`].
pub fn static_answer(endpoint: Endpoint) -> Option<Outgoing> {
    match endpoint {
        Endpoint::Capabilities => Some(capabilities()),
        Endpoint::OpenApi => Some(openapi()),
        _ => None,
    }
}

/// For a component that serves no public document.
pub fn no_static_answer(_: Endpoint) -> Option<Outgoing> {
    None
}

/// `GET /api/capabilities`: the public matrix.
fn capabilities() -> Outgoing {
    Outgoing::json(200, &capabilities::matrix())
}

/// The OpenAPI 3.1 description of every route, written by hand in
/// `src/web/openapi.json` (stored here without its whitespace, by
/// `build.rs`) and checked against `spin.toml` and the live answers by
/// `tests/e2e/tests/app/openapi.rs`.
pub const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// `GET /api/openapi.json`: [`OPENAPI`], public.
fn openapi() -> Outgoing {
    Outgoing {
        status: 200,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "public, max-age=300".into()),
        ],
        body: OPENAPI.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_served_openapi_document_is_the_written_one() {
        let written: serde_json::Value =
            serde_json::from_str(include_str!("../openapi.json")).expect("the written document");
        let served: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("served");
        assert_eq!(served, written);
        assert!(super::OPENAPI.len() * 4 < include_str!("../openapi.json").len() * 3);
    }
}
