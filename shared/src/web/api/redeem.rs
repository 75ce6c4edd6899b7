//! `redeem-invite`: the registration page of an invite link, and its
//! redemption by a client's JSON or the page's form.

use super::{
    Answer, caller, form_language, link_limits, not_served, page_language, param, problem_page,
    rendered, with_quotas,
};
use crate::messages::Language;
use crate::ops::{App, RedeemRequest, parse_json};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::KeyValue;
use crate::token::Purpose;
use crate::web::page::{self, About, Filled};
use crate::web::routes::{Endpoint, Params};
use crate::web::{BodyKind, Incoming, Outgoing, respond};

/// `redeem-invite`'s endpoints.
pub async fn redeem_invite<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &Params,
) -> Outgoing {
    let token = param(params, "token");
    let answer = match endpoint {
        Endpoint::RegistrationPage => Ok(registration_page(app, req, token).await),
        Endpoint::Redeem => redeem(app, req).await,
        other => Ok(not_served(other)),
    };
    rendered(answer)
}

/// `GET /invite/:token`: the registration page, or its JSON.
async fn registration_page<S: KeyValue, T: Transport>(
    app: &App<S, T>,
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

/// `POST /api/invites/redeem`: JSON from clients, a form from the
/// registration page (answered with pages, in the form's language).
async fn redeem<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let kind = req.body_kind(true)?;
    let who = match req.authorization() {
        None => None,
        Some(_) => Some(caller(app, req, Endpoint::Redeem).await?),
    };
    let form = (kind == BodyKind::Form).then(|| req.form());
    let language = form
        .as_deref()
        .map_or(Language::En, |f| form_language(req, f));
    let request: RedeemRequest = match &form {
        Some(form) => page::form_to_redeem_request(form),
        None => parse_json(req.json_body()?)?,
    };
    let quotas = match link_limits(app, req, request.token.as_deref(), Purpose::Invite).await {
        Ok(quotas) => quotas,
        Err(limited) if form.is_some() => {
            return Ok(Outgoing::problem_page(&limited, language, About::Invite));
        }
        Err(limited) => return Err(limited),
    };
    let redeemed = app.redemption().redeem(who.as_ref(), request).await;
    let answer = match (form, redeemed) {
        (None, redeemed) => respond(201, redeemed),
        (Some(_), Ok(done)) => Outgoing::html(201, page::registered(language, &done)),
        (Some(form), Err(problem)) => rejected_form(app, language, &form, &problem).await,
    };
    Ok(with_quotas(answer, &quotas))
}

/// The answer to a registration form the redemption refused: for invalid
/// fields, the form again with what was typed and what to correct (422);
/// for anything else, the problem's page. Both in the form's `language`.
async fn rejected_form<S: KeyValue, T: Transport>(
    app: &App<S, T>,
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
