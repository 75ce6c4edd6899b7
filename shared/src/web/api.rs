//! What each endpoint does: authenticate, parse into typed input, call the
//! operation, render. A component hands its route table and its dispatcher
//! here ([`generate_invite`], [`redeem_invite`], [`list_invites`],
//! [`connect_existing_organization`], [`partner_settings`]) to
//! [`crate::spin::serve`], and links only the endpoints it serves.

use super::page::{self, About, Filled};
use super::routes::{self, Endpoint, Matched, Params, Route};
use super::{BodyKind, Incoming, Outgoing, respond};
use crate::auth::Principal;
use crate::capabilities;
use crate::messages::Language;
use crate::ops::organizations::Outcome;
use crate::ops::{
    App, Authority, ChangeConnection, Changed, CreateInvite, EndRelationship, IdempotencyKey,
    ImportItem, NewRequest, OrganizationInput, PageRequest, ProfileUpdate, RedeemRequest,
    StatusFilter, parse_json,
};
use crate::ops::{Quota, Scope};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::KeyValue;
use crate::token::Purpose;
use crate::view::InviteView;

type Shared<S, T> = App<S, T>;

/// Who is calling; a partner's request to an endpoint that `writes`
/// counts against its rate limit (reads are limited at the edge).
async fn caller<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    writes: bool,
) -> Result<Principal, Problem> {
    let who = app.authenticate(req.authorization()).await?;
    if let (true, Principal::Partner { partner_id, .. }) = (writes, &who) {
        app.limiter().count(&[(Scope::Partner, partner_id)]).await?;
    }
    Ok(who)
}

/// Counts a link POST carrying `token` against the limits per client
/// address and per link (only if the token verifies).
async fn link_limits<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
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

/// What a component's dispatcher gets: the app, the request, the matched
/// endpoint and its path segments.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, |$app:ident, $req:ident, $writes:ident, $id:ident, $token:ident| {
        $($endpoint:ident => $answer:expr,)+
    }) => {
        $(#[$doc])*
        pub async fn $name<S: KeyValue, T: Transport>(
            $app: &Shared<S, T>,
            $req: &Incoming,
            endpoint: Endpoint,
            params: &Params,
        ) -> Outgoing {
            let $id = param(params, "id");
            let $token = param(params, "token");
            let $writes = endpoint.writes();
            let _ = (&$id, &$token, &$writes);
            match endpoint {
                $(Endpoint::$endpoint => $answer,)+
                other => not_served(other),
            }
        }
    };
}

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

// One dispatcher per component, so that each links only its own endpoints.
// Each arm resolves the caller, parses the input and calls one operation.

dispatch!(
    /// `generate-invite`'s endpoints.
    generate_invite, |app, req, writes, id, token| {
        CreateInvite => respond(201, create_invite(app, req).await),
        ResendInvite => respond(200, async { app.invites().resend(&caller(app, req, writes).await?, id).await }.await),
        RevokeInvite => respond(200, async { app.invites().revoke(&caller(app, req, writes).await?, id).await }.await),
    }
);

dispatch!(
    /// `redeem-invite`'s endpoints.
    redeem_invite, |app, req, writes, id, token| {
        RegistrationPage => registration_page(app, req, token).await,
        Redeem => redeem(app, req).await,
    }
);

dispatch!(
    /// `list-invites`'s endpoints.
    list_invites, |app, req, writes, id, token| {
        ListInvites => respond(
            200,
            async {
                let status = req.query_param("status");
                app.invites()
                    .list(&caller(app, req, writes).await?, status.as_deref(), page_request(req)?)
                    .await
            }
            .await,
        ),
        GetInvite => respond(200, async { app.invites().get(&caller(app, req, writes).await?, id).await }.await),
        ListCustomers => respond(
            200,
            async {
                let status = StatusFilter::parse(req.query_param("status").as_deref())?;
                app.relationships()
                    .customers(&caller(app, req, writes).await?, status, page_request(req)?)
                    .await
            }
            .await,
        ),
        ListPartners => respond(
            200,
            async {
                let status = StatusFilter::parse(req.query_param("status").as_deref())?;
                app.relationships()
                    .partners(&caller(app, req, writes).await?, status, page_request(req)?)
                    .await
            }
            .await,
        ),
    }
);

dispatch!(
    /// `connect-existing-organization`'s endpoints.
    connect_existing_organization, |app, req, writes, id, token| {
        RequestConnection => respond(
            201,
            async {
                let input: NewRequest = parse_json(req.json_body()?)?;
                app.requests().create(&caller(app, req, writes).await?, input).await
            }
            .await,
        ),
        ListRequests => respond(
            200,
            async {
                app.requests()
                    .list(&caller(app, req, writes).await?, page_request(req)?)
                    .await
            }
            .await,
        ),
        WithdrawRequest => respond(
            200,
            async { app.requests().withdraw(&caller(app, req, writes).await?, id).await }.await,
        ),
        ApproveRequest => decide_request(app, req, id, true).await,
        DeclineRequest => decide_request(app, req, id, false).await,
        ApprovalPage => approval_page(app, req, token).await,
        ListOrganizationRequests => respond(
            200,
            async {
                let status = req.query_param("status");
                app.requests()
                    .inbox(&caller(app, req, writes).await?, status.as_deref(), page_request(req)?)
                    .await
            }
            .await,
        ),
        PutOrganization => match async {
            let input: OrganizationInput = parse_json(req.json_body()?)?;
            app.organizations().put(&caller(app, req, writes).await?, id, input).await
        }
        .await
        {
            Ok(written) if written.result == Outcome::Created => Outgoing::json(201, &written),
            result => respond(200, result),
        },
        GetOrganization => respond(
            200,
            async { app.organizations().get(&caller(app, req, writes).await?, id).await }.await,
        ),
        ImportOrganizations => respond(
            200,
            async {
                let who = caller(app, req, writes).await?;
                app.organizations().import(&who, import_items(req)?).await
            }
            .await,
        ),
        GetRelationship => respond(
            200,
            async { app.relationships().get(&caller(app, req, writes).await?, id).await }.await,
        ),
        EndRelationship => respond(
            200,
            async {
                let input: EndRelationship = parse_json(req.json_body()?)?;
                app.relationships().end(&caller(app, req, writes).await?, id, input).await
            }
            .await,
        ),
        ChangeRelationship => match async {
            let input: ChangeConnection = parse_json(req.json_body()?)?;
            app.relationships().change(&caller(app, req, writes).await?, id, input).await
        }
        .await
        {
            Ok(Changed::Made(relationship)) => Outgoing::json(200, &relationship),
            Ok(Changed::Asked(request)) => Outgoing::json(202, &request),
            Err(problem) => Outgoing::problem(&problem),
        },
    }
);

/// The organizations of an import: a JSON array, or NDJSON (one object a
/// line). An item that does not parse is rejected on its own.
fn import_items(req: &Incoming) -> Result<Vec<Result<ImportItem, String>>, Problem> {
    let parse = |v: serde_json::Value| {
        serde_json::from_value::<ImportItem>(v).map_err(|e| format!("not an organization: {e}"))
    };
    match req.media_type().as_str() {
        "application/x-ndjson" | "application/jsonl" => {
            let text = std::str::from_utf8(&req.body)
                .map_err(|_| Problem::new(ProblemKind::Malformed, "the body is not UTF-8"))?;
            Ok(text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| {
                    serde_json::from_str::<serde_json::Value>(line)
                        .map_err(|e| format!("not JSON: {e}"))
                        .and_then(parse)
                })
                .collect())
        }
        _ => {
            let items: Vec<serde_json::Value> = parse_json(req.json_body()?)?;
            Ok(items.into_iter().map(parse).collect())
        }
    }
}

dispatch!(
    /// `partner-settings`'s endpoints.
    partner_settings, |app, req, writes, id, token| {
        GetProfile => respond(200, async { app.partners().get(&caller(app, req, writes).await?).await }.await),
        PutProfile => respond(
            200,
            async {
                let update: ProfileUpdate = parse_json(req.json_body()?)?;
                app.partners().put(&caller(app, req, writes).await?, update).await
            }
            .await,
        ),
        ListDeliveries => respond(
            200,
            async {
                app.outbox()
                    .list_deliveries(&caller(app, req, writes).await?, page_request(req)?)
                    .await
            }
            .await,
        ),
        RetryDelivery => respond(
            200,
            async { app.outbox().retry_delivery(&caller(app, req, writes).await?, id).await }.await,
        ),
        ListPlatformDeliveries => respond(
            200,
            async {
                app.outbox()
                    .list_platform_deliveries(&caller(app, req, writes).await?, page_request(req)?)
                    .await
            }
            .await,
        ),
        RetryPlatformDelivery => respond(
            200,
            async {
                app.outbox()
                    .retry_platform_delivery(&caller(app, req, writes).await?, id)
                    .await
            }
            .await,
        ),
        ListOutbox => respond(
            200,
            async {
                app.outbox()
                    .list_emails(&caller(app, req, writes).await?, page_request(req)?)
                    .await
            }
            .await,
        ),
        EnableWebhook => respond(
            200,
            async { app.partners().enable_webhook(&caller(app, req, writes).await?).await }.await,
        ),
        Dispatch => respond(
            200,
            async {
                app.dispatcher()
                    .dispatch(&caller(app, req, writes).await?, req.query_param("limit").as_deref())
                    .await
            }
            .await,
        ),
    }
);

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

/// `POST /api/invites/generate`, with its `Idempotency-Key`.
async fn create_invite<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
) -> Result<InviteView, Problem> {
    let who = caller(app, req, true).await?;
    let body = req.json_body()?;
    let input: CreateInvite = parse_json(body)?;
    let idempotency = req
        .header("idempotency-key")
        .map(|k| IdempotencyKey::new(k, body))
        .transpose()?;
    app.invites().create(&who, input, idempotency).await
}

/// `GET /invite/:token`: the registration page, or its JSON.
async fn registration_page<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    token: &str,
) -> Outgoing {
    match app.redemption().preview(token).await {
        preview if req.wants_json() => respond(200, preview),
        Ok(p) => {
            let language = page_language(req, p.locale.as_deref());
            Outgoing::html(
                200,
                page::registration(language, &p, token, Filled::Invited),
            )
        }
        Err(problem) => problem_page(req, &problem, About::Invite),
    }
}

/// `POST /api/invites/redeem`: JSON from clients, a form from the registration page.
async fn redeem<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let kind = match req.body_kind(true) {
        Ok(k) => k,
        Err(p) => return Outgoing::problem(&p),
    };
    let who = match req.authorization() {
        None => None,
        Some(_) => match caller(app, req, true).await {
            Ok(p) => Some(p),
            Err(problem) => return Outgoing::problem(&problem),
        },
    };
    let form = (kind == BodyKind::Form).then(|| req.form());
    let language = form
        .as_deref()
        .map_or(Language::En, |f| form_language(req, f));
    let request: RedeemRequest = match &form {
        Some(form) => page::form_to_redeem_request(form),
        None => match req.json_body().and_then(parse_json) {
            Ok(request) => request,
            Err(p) => return Outgoing::problem(&p),
        },
    };
    let quotas = match link_limits(app, req, request.token.as_deref(), Purpose::Invite).await {
        Ok(quotas) => quotas,
        Err(limited) if form.is_some() => {
            return Outgoing::problem_page(&limited, language, About::Invite);
        }
        Err(limited) => return Outgoing::problem(&limited),
    };
    let answer = match form {
        None => respond(201, app.redemption().redeem(who.as_ref(), request).await),
        Some(form) => match app.redemption().redeem(who.as_ref(), request).await {
            Ok(done) => Outgoing::html(201, page::registered(language, &done)),
            Err(problem) => rejected_form(app, language, &form, &problem).await,
        },
    };
    with_quotas(answer, &quotas)
}

/// The answer to a registration form the redemption refused: for invalid
/// fields, the form again with what was typed and what to correct (422);
/// for anything else, the problem's page. Both in the form's `language`.
async fn rejected_form<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    language: Language,
    form: &[(String, String)],
    problem: &Problem,
) -> Outgoing {
    let token = page::submitted(form, "token");
    let Some(token) = token.filter(|_| problem.kind == ProblemKind::ValidationFailed) else {
        return Outgoing::problem_page(problem, language, About::Invite);
    };
    match app.redemption().preview(token).await {
        Ok(preview) => Outgoing::html(
            problem.status(),
            page::registration(
                language,
                &preview,
                token,
                Filled::Rejected {
                    form,
                    errors: &problem.errors,
                },
            ),
        ),
        Err(gone) => Outgoing::problem_page(&gone, language, About::Invite),
    }
}

/// `GET /connect/:token`: the approval page, or its JSON.
async fn approval_page<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    token: &str,
) -> Outgoing {
    match app.requests().preview(token).await {
        preview if req.wants_json() => respond(200, preview),
        Ok(p) => {
            let language = page_language(req, p.locale.as_deref());
            Outgoing::html(200, page::approval(language, &p, token))
        }
        Err(problem) => problem_page(req, &problem, About::Request),
    }
}

/// The body of a decision: the approval link's token, unless the admin's
/// bearer authorises it.
#[derive(Debug, Default, serde::Deserialize)]
struct Decision {
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    token: Option<String>,
}

/// `POST /api/connections/:id/approve` or `.../decline`, by bearer or by the link's token
/// (`{"token": ...}` or the approval page's form).
async fn decide_request<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
    approve: bool,
) -> Outgoing {
    let kind = match req.body_kind(true) {
        Ok(k) => k,
        Err(p) => return Outgoing::problem(&p),
    };
    let form = (kind == BodyKind::Form).then(|| req.form());
    let language = form
        .as_deref()
        .map_or(Language::En, |f| form_language(req, f));
    let token = match form {
        Some(form) => form.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v),
        None => match parse_json::<Decision>(req.json_body().unwrap_or(b"{}")) {
            Ok(d) => d.token,
            Err(p) => return Outgoing::problem(&p),
        },
    };
    // A decision by link token counts against the link limits.
    let quotas = match &token {
        Some(t) => match link_limits(app, req, Some(t), Purpose::Connect).await {
            Ok(quotas) => quotas,
            Err(limited) if kind == BodyKind::Form => {
                return Outgoing::problem_page(&limited, language, About::Request);
            }
            Err(limited) => return Outgoing::problem(&limited),
        },
        None => Vec::new(),
    };
    let result = async {
        let principal;
        let authority = match (&token, req.authorization()) {
            (Some(t), _) => Authority::Link(t),
            (None, Some(_)) => {
                principal = caller(app, req, true).await?;
                Authority::Bearer(&principal)
            }
            (None, None) => {
                return Err(Problem::new(
                    ProblemKind::Unauthenticated,
                    "send the organization admin's bearer token, or the token from the approval link",
                ));
            }
        };
        if approve {
            app.requests().approve(id, authority).await
        } else {
            app.requests().decline(id, authority).await
        }
    };
    let result = result.await;
    let answer = match (kind, result) {
        (BodyKind::Form, Ok(_)) => Outgoing::html(200, page::decided(language, approve)),
        (BodyKind::Form, Err(problem)) => {
            Outgoing::problem_page(&problem, language, About::Request)
        }
        (BodyKind::Json, result) => respond(200, result),
    };
    with_quotas(answer, &quotas)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_served_openapi_document_is_the_written_one() {
        let written: serde_json::Value =
            serde_json::from_str(include_str!("openapi.json")).expect("the written document");
        let served: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("served");
        assert_eq!(served, written);
        assert!(super::OPENAPI.len() * 4 < include_str!("openapi.json").len() * 3);
    }
}
