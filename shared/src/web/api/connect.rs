//! `connect-existing-organization`: connection requests and their approval,
//! the organizations the platform knows, and relationships.

use super::{
    Answer, caller, form_language, link_limits, not_served, page_language, page_request, param,
    problem_page, rendered, with_quotas,
};
use crate::messages::Language;
use crate::ops::organizations::Outcome;
use crate::ops::{
    App, Authority, ChangeConnection, Changed, EndRelationship, ImportItem, NewRequest,
    OrganizationInput, parse_json,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::KeyValue;
use crate::token::Purpose;
use crate::view::RequestView;
use crate::web::page::{self, About};
use crate::web::routes::{Endpoint, Params};
use crate::web::{BodyKind, Incoming, Outgoing, respond};

/// `connect-existing-organization`'s endpoints.
pub async fn connect_existing_organization<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &Params,
) -> Outgoing {
    let id = param(params, "id");
    let token = param(params, "token");
    let answer = match endpoint {
        Endpoint::RequestConnection => request_connection(app, req).await,
        Endpoint::ListRequests => list_requests(app, req).await,
        Endpoint::WithdrawRequest => withdraw_request(app, req, id).await,
        Endpoint::ApproveRequest => decide_request(app, req, id, Endpoint::ApproveRequest).await,
        Endpoint::DeclineRequest => decide_request(app, req, id, Endpoint::DeclineRequest).await,
        Endpoint::ApprovalPage => Ok(approval_page(app, req, token).await),
        Endpoint::ListOrganizationRequests => list_organization_requests(app, req).await,
        Endpoint::PutOrganization => put_organization(app, req, id).await,
        Endpoint::GetOrganization => get_organization(app, req, id).await,
        Endpoint::ImportOrganizations => import_organizations(app, req).await,
        Endpoint::GetRelationship => get_relationship(app, req, id).await,
        Endpoint::EndRelationship => end_relationship(app, req, id).await,
        Endpoint::ChangeRelationship => change_relationship(app, req, id).await,
        other => Ok(not_served(other)),
    };
    rendered(answer)
}

/// `POST /api/connections`: a pending request; its approval link is emailed.
async fn request_connection<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let input: NewRequest = parse_json(req.json_body()?)?;
    let who = caller(app, req, Endpoint::RequestConnection).await?;
    let request = app.requests().create(&who, input).await?;
    Ok(Outgoing::json(201, &request))
}

/// `GET /api/connections?limit=&cursor=`: the partner's requests.
async fn list_requests<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::ListRequests).await?;
    let page = app.requests().list(&who, page_request(req)?).await?;
    Ok(Outgoing::json(200, &page))
}

/// `POST /api/connections/:id/withdraw`.
async fn withdraw_request<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::WithdrawRequest).await?;
    let request = app.requests().withdraw(&who, id).await?;
    Ok(Outgoing::json(200, &request))
}

/// `GET /connect/:token`: the approval page, or its JSON.
async fn approval_page<S: KeyValue, T: Transport>(
    app: &App<S, T>,
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

/// `POST /api/connections/:id/approve` or `.../decline` (the `endpoint`),
/// by bearer or by the link's token (`{"token": ...}` or the approval
/// page's form, answered with pages in the form's language).
async fn decide_request<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
    endpoint: Endpoint,
) -> Answer {
    let approve = endpoint == Endpoint::ApproveRequest;
    let kind = req.body_kind(true)?;
    let form = (kind == BodyKind::Form).then(|| req.form());
    let language = form
        .as_deref()
        .map_or(Language::En, |f| form_language(req, f));
    let token = match form {
        Some(form) => form.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v),
        None => parse_json::<Decision>(req.json_body().unwrap_or(b"{}"))?.token,
    };
    // A decision by link token counts against the link limits.
    let quotas = match link_limits(app, req, token.as_deref(), Purpose::Connect).await {
        Ok(quotas) => quotas,
        Err(limited) if kind == BodyKind::Form => {
            return Ok(Outgoing::problem_page(&limited, language, About::Request));
        }
        Err(limited) => return Err(limited),
    };
    let decided = decide(app, req, id, token.as_deref(), endpoint).await;
    let answer = match (kind, decided) {
        (BodyKind::Form, Ok(_)) => Outgoing::html(200, page::decided(language, approve)),
        (BodyKind::Form, Err(problem)) => {
            Outgoing::problem_page(&problem, language, About::Request)
        }
        (BodyKind::Json, decided) => respond(200, decided),
    };
    Ok(with_quotas(answer, &quotas))
}

/// Approves or declines (`endpoint`) request `id` on the authority of the
/// link's `token`, else of the admin's bearer.
async fn decide<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
    token: Option<&str>,
    endpoint: Endpoint,
) -> Result<RequestView, Problem> {
    let principal;
    let authority = match (token, req.authorization()) {
        (Some(token), _) => Authority::Link(token),
        (None, Some(_)) => {
            principal = caller(app, req, endpoint).await?;
            Authority::Bearer(&principal)
        }
        (None, None) => {
            return Err(Problem::new(
                ProblemKind::Unauthenticated,
                "send the organization admin's bearer token, or the token from the approval link",
            ));
        }
    };
    if endpoint == Endpoint::ApproveRequest {
        app.requests().approve(id, authority).await
    } else {
        app.requests().decline(id, authority).await
    }
}

/// `GET /api/organization/requests?status=`: the requests to the admin's organization.
async fn list_organization_requests<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
) -> Answer {
    let status = req.query_param("status");
    let who = caller(app, req, Endpoint::ListOrganizationRequests).await?;
    let page = app
        .requests()
        .inbox(&who, status.as_deref(), page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}

/// `PUT /api/organizations/:id`: 201 when it creates the organization, else 200.
async fn put_organization<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let input: OrganizationInput = parse_json(req.json_body()?)?;
    let who = caller(app, req, Endpoint::PutOrganization).await?;
    let written = app.organizations().put(&who, id, input).await?;
    let status = if written.result == Outcome::Created {
        201
    } else {
        200
    };
    Ok(Outgoing::json(status, &written))
}

/// `GET /api/organizations/:id`: the organization and where it came from.
async fn get_organization<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::GetOrganization).await?;
    let organization = app.organizations().get(&who, id).await?;
    Ok(Outgoing::json(200, &organization))
}

/// `POST /api/organizations/import`: a result per item.
async fn import_organizations<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
) -> Answer {
    let who = caller(app, req, Endpoint::ImportOrganizations).await?;
    let results = app.organizations().import(&who, import_items(req)?).await?;
    Ok(Outgoing::json(200, &results))
}

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

/// `GET /api/relationships/:id`: the relationship with its history.
async fn get_relationship<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::GetRelationship).await?;
    let relationship = app.relationships().get(&who, id).await?;
    Ok(Outgoing::json(200, &relationship))
}

/// `POST /api/relationships/:id/end`, with an optional reason.
async fn end_relationship<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let input: EndRelationship = parse_json(req.json_body()?)?;
    let who = caller(app, req, Endpoint::EndRelationship).await?;
    let relationship = app.relationships().end(&who, id, input).await?;
    Ok(Outgoing::json(200, &relationship))
}

/// `POST /api/relationships/:id/change`: 200 when made at once, 202 with the
/// request when the customer admin must consent.
async fn change_relationship<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let input: ChangeConnection = parse_json(req.json_body()?)?;
    let who = caller(app, req, Endpoint::ChangeRelationship).await?;
    Ok(match app.relationships().change(&who, id, input).await? {
        Changed::Made(relationship) => Outgoing::json(200, &relationship),
        Changed::Asked(request) => Outgoing::json(202, &request),
    })
}
