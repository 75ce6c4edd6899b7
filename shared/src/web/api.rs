//! One function per endpoint: authenticate, parse into typed input, call
//! the operation, render. [`call`] leads a matched [`Endpoint`] to its
//! function; components do nothing but hand their route table to
//! [`crate::spin::serve`].

use super::page::{self, Filled};
use super::routes::{self, Endpoint, Matched, Params, Route};
use super::{BodyKind, Incoming, Outgoing, respond};
use crate::auth::{Principal, authenticate};
use crate::capabilities;
use crate::ops::{
    App, Authority, CreateInvite, IdempotencyKey, NewRequest, PageRequest, ProfileUpdate,
    RedeemRequest, parse_json,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::KeyValue;

type Shared<S, T> = App<S, T>;

fn caller<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
) -> Result<Principal, Problem> {
    authenticate(&app.keys, req.authorization(), app.now())
}

fn page_request(req: &Incoming) -> Result<PageRequest, Problem> {
    PageRequest::parse(
        req.query_param("limit").as_deref(),
        req.query_param("cursor").as_deref(),
    )
}

/// What a request for a component with `table` leads to: the endpoint and
/// its path segments, or the 404 or 405 answer. Needs no configuration.
pub fn route(table: &[Route], req: &Incoming) -> Result<(Endpoint, Params), Outgoing> {
    match routes::find(table, &req.method, &req.path) {
        Matched::Endpoint(endpoint, params) => Ok((endpoint, params)),
        Matched::MethodNotAllowed(allow) => {
            Err(Outgoing::problem(&Problem::method_not_allowed(allow)))
        }
        Matched::NotFound => Err(Outgoing::problem(&Problem::new(
            ProblemKind::NotFound,
            format!("no endpoint at {}", req.path),
        ))),
    }
}

/// The answer of an endpoint that needs no configuration, if it is one.
pub fn static_answer(endpoint: Endpoint) -> Option<Outgoing> {
    match endpoint {
        Endpoint::Capabilities => Some(capabilities()),
        Endpoint::OpenApi => Some(openapi()),
        _ => None,
    }
}

/// Answers `endpoint` for `req`; `params` are the named path segments.
pub async fn call<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &[(&str, String)],
) -> Outgoing {
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    use Endpoint::*;
    match endpoint {
        CreateInvite => create_invite(app, req).await,
        ResendInvite => resend_invite(app, req, param("id")).await,
        RevokeInvite => revoke_invite(app, req, param("id")).await,
        RegistrationPage => registration_page(app, req, param("token")).await,
        Redeem => redeem(app, req).await,
        ListInvites => list_invites(app, req).await,
        GetInvite => get_invite(app, req, param("id")).await,
        ListCustomers => list_customers(app, req).await,
        ListPartners => list_partners(app, req).await,
        Capabilities => capabilities(),
        OpenApi => openapi(),
        RequestConnection => request_connection(app, req).await,
        ListRequests => list_requests(app, req).await,
        WithdrawRequest => withdraw_request(app, req, param("id")).await,
        ApproveRequest => decide_request(app, req, param("id"), true).await,
        DeclineRequest => decide_request(app, req, param("id"), false).await,
        ApprovalPage => approval_page(app, req, param("token")).await,
        GetProfile => get_profile(app, req).await,
        PutProfile => put_profile(app, req).await,
        ListDeliveries => list_deliveries(app, req).await,
        RetryDelivery => retry_delivery(app, req, param("id")).await,
        ListOutbox => list_outbox(app, req).await,
    }
}

/// `GET /api/capabilities`: the public matrix.
fn capabilities() -> Outgoing {
    Outgoing::json(200, &capabilities::matrix())
}

/// The OpenAPI 3.1 description of every route, written by hand and checked
/// against `spin.toml` and the live answers by `tests/e2e/tests/openapi.rs`.
pub const OPENAPI: &str = include_str!("openapi.json");

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

/// `POST /api/invites/generate`.
async fn create_invite<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        let body = req.json_body()?;
        let input: CreateInvite = parse_json(body)?;
        let idempotency = req
            .header("idempotency-key")
            .map(|k| IdempotencyKey::new(k, body))
            .transpose()?;
        app.invites().create(&who, input, idempotency).await
    };
    respond(201, result.await)
}

/// `POST /api/invites/:id/resend`.
async fn resend_invite<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
) -> Outgoing {
    respond(
        200,
        async { app.invites().resend(&caller(app, req)?, id).await }.await,
    )
}

/// `POST /api/invites/:id/revoke`.
async fn revoke_invite<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
) -> Outgoing {
    respond(
        200,
        async { app.invites().revoke(&caller(app, req)?, id).await }.await,
    )
}

/// `GET /api/invites`.
async fn list_invites<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        app.invites()
            .list(
                &who,
                req.query_param("status").as_deref(),
                page_request(req)?,
            )
            .await
    };
    respond(200, result.await)
}

/// `GET /api/invites/:id`.
async fn get_invite<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
) -> Outgoing {
    respond(
        200,
        async { app.invites().get(&caller(app, req)?, id).await }.await,
    )
}

/// `GET /api/customers`.
async fn list_customers<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        app.relationships()
            .customers(&who, page_request(req)?)
            .await
    };
    respond(200, result.await)
}

/// `GET /api/partners`.
async fn list_partners<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        app.relationships().partners(&who, page_request(req)?).await
    };
    respond(200, result.await)
}

/// `GET /invite/:token`: the registration page, or its JSON.
async fn registration_page<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    token: &str,
) -> Outgoing {
    let preview = app.redemption().preview(token).await;
    if req.wants_json() {
        return respond(200, preview);
    }
    match preview {
        Ok(p) => Outgoing::html(200, page::registration(&p, token, Filled::Invited)),
        Err(problem) => Outgoing::problem_page(&problem),
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
        Some(_) => match caller(app, req) {
            Ok(p) => Some(p),
            Err(problem) => return Outgoing::problem(&problem),
        },
    };
    match kind {
        BodyKind::Json => respond(
            201,
            async {
                let request: RedeemRequest = parse_json(req.json_body()?)?;
                app.redemption().redeem(who.as_ref(), request).await
            }
            .await,
        ),
        BodyKind::Form => {
            let form = req.form();
            let request = page::form_to_redeem_request(&form);
            match app.redemption().redeem(who.as_ref(), request).await {
                Ok(done) => Outgoing::html(201, page::registered(&done)),
                Err(problem) => rejected_form(app, &form, &problem).await,
            }
        }
    }
}

/// The answer to a registration form the redemption refused: for invalid
/// fields, the form again with what was typed and what to correct (422);
/// for anything else, the problem's page.
async fn rejected_form<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    form: &[(String, String)],
    problem: &Problem,
) -> Outgoing {
    let token = page::submitted(form, "token");
    let Some(token) = token.filter(|_| problem.kind == ProblemKind::ValidationFailed) else {
        return Outgoing::problem_page(problem);
    };
    match app.redemption().preview(token).await {
        Ok(preview) => Outgoing::html(
            problem.status(),
            page::registration(
                &preview,
                token,
                Filled::Rejected {
                    form,
                    errors: &problem.errors,
                },
            ),
        ),
        Err(gone) => Outgoing::problem_page(&gone),
    }
}

/// `POST /api/connections`.
async fn request_connection<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        let input: NewRequest = parse_json(req.json_body()?)?;
        app.requests().create(&who, input).await
    };
    respond(201, result.await)
}

/// `GET /api/connections`.
async fn list_requests<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    respond(
        200,
        async {
            app.requests()
                .list(&caller(app, req)?, page_request(req)?)
                .await
        }
        .await,
    )
}

/// `POST /api/connections/:id/withdraw`.
async fn withdraw_request<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
) -> Outgoing {
    respond(
        200,
        async { app.requests().withdraw(&caller(app, req)?, id).await }.await,
    )
}

/// `GET /connect/:token`: the approval page, or its JSON.
async fn approval_page<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    token: &str,
) -> Outgoing {
    let preview = app.requests().preview(token).await;
    if req.wants_json() {
        return respond(200, preview);
    }
    match preview {
        Ok(p) => Outgoing::html(200, page::approval(&p, token)),
        Err(problem) => Outgoing::problem_page(&problem),
    }
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
    let token = match kind {
        BodyKind::Form => req
            .form()
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v),
        BodyKind::Json => match parse_json::<serde_json::Value>(req.json_body().unwrap_or(b"{}")) {
            Ok(v) => v.get("token").and_then(|t| t.as_str()).map(str::to_string),
            Err(p) => return Outgoing::problem(&p),
        },
    };
    let result = async {
        let principal;
        let authority = match (&token, req.authorization()) {
            (Some(t), _) => Authority::Link(t),
            (None, Some(_)) => {
                principal = caller(app, req)?;
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
    match (kind, result) {
        (BodyKind::Form, Ok(view)) => Outgoing::html(200, page::decided(&view)),
        (BodyKind::Form, Err(problem)) => Outgoing::problem_page(&problem),
        (BodyKind::Json, result) => respond(200, result),
    }
}

/// `GET /api/partner`.
async fn get_profile<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    respond(
        200,
        async { app.partners().get(&caller(app, req)?).await }.await,
    )
}

/// `PUT /api/partner`.
async fn put_profile<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        let update: ProfileUpdate = parse_json(req.json_body()?)?;
        app.partners().put(&who, update).await
    };
    respond(200, result.await)
}

/// `GET /api/webhooks/deliveries`.
async fn list_deliveries<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        app.outbox().list_deliveries(&who, page_request(req)?).await
    };
    respond(200, result.await)
}

/// `POST /api/webhooks/deliveries/:id/retry`.
async fn retry_delivery<S: KeyValue, T: Transport>(
    app: &Shared<S, T>,
    req: &Incoming,
    id: &str,
) -> Outgoing {
    respond(
        200,
        async { app.outbox().retry_delivery(&caller(app, req)?, id).await }.await,
    )
}

/// `GET /api/outbox` (operators).
async fn list_outbox<S: KeyValue, T: Transport>(app: &Shared<S, T>, req: &Incoming) -> Outgoing {
    let result = async {
        let who = caller(app, req)?;
        app.outbox().list_emails(&who, page_request(req)?).await
    };
    respond(200, result.await)
}
