//! `generate-invite`: partners issue, resend and revoke invite links.

use super::{Answer, caller, not_served, param, rendered};
use crate::ops::{App, CreateInvite, IdempotencyKey, parse_json};
use crate::outbound::Transport;
use crate::store::KeyValue;
use crate::web::routes::{Endpoint, Params};
use crate::web::{Incoming, Outgoing};

/// `generate-invite`'s endpoints.
pub async fn generate_invite<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &Params,
) -> Outgoing {
    let id = param(params, "id");
    let answer = match endpoint {
        Endpoint::CreateInvite => create_invite(app, req).await,
        Endpoint::ResendInvite => resend_invite(app, req, id).await,
        Endpoint::RevokeInvite => revoke_invite(app, req, id).await,
        other => Ok(not_served(other)),
    };
    rendered(answer)
}

/// `POST /api/invites/generate`, with its `Idempotency-Key`.
async fn create_invite<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::CreateInvite).await?;
    let body = req.json_body()?;
    let input: CreateInvite = parse_json(body)?;
    let idempotency = req
        .header("idempotency-key")
        .map(|k| IdempotencyKey::new(k, body))
        .transpose()?;
    let invite = app.invites().create(&who, input, idempotency).await?;
    Ok(Outgoing::json(201, &invite))
}

/// `POST /api/invites/:id/resend`: a fresh link; earlier links answer 410.
async fn resend_invite<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::ResendInvite).await?;
    let invite = app.invites().resend(&who, id).await?;
    Ok(Outgoing::json(200, &invite))
}

/// `POST /api/invites/:id/revoke`: pending invites only.
async fn revoke_invite<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::RevokeInvite).await?;
    let invite = app.invites().revoke(&who, id).await?;
    Ok(Outgoing::json(200, &invite))
}
