//! `list-invites`: what partners and customer admins read (invites,
//! customers, partners). The public documents it serves are
//! [`super::static_answer`]'s.

use super::{Answer, caller, not_served, page_request, param, rendered};
use crate::ops::{App, StatusFilter};
use crate::outbound::Transport;
use crate::store::KeyValue;
use crate::web::routes::{Endpoint, Params};
use crate::web::{Incoming, Outgoing};

/// `list-invites`'s endpoints.
pub async fn list_invites<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &Params,
) -> Outgoing {
    let id = param(params, "id");
    let answer = match endpoint {
        Endpoint::ListInvites => list_partner_invites(app, req).await,
        Endpoint::GetInvite => get_invite(app, req, id).await,
        Endpoint::ListCustomers => list_customers(app, req).await,
        Endpoint::ListPartners => list_partners(app, req).await,
        other => Ok(not_served(other)),
    };
    rendered(answer)
}

/// `GET /api/invites?status=&limit=&cursor=`: the partner's invites, newest first.
async fn list_partner_invites<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
) -> Answer {
    let status = req.query_param("status");
    let who = caller(app, req, Endpoint::ListInvites).await?;
    let page = app
        .invites()
        .list(&who, status.as_deref(), page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}

/// `GET /api/invites/:id`: one invite with its history.
async fn get_invite<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::GetInvite).await?;
    let invite = app.invites().get(&who, id).await?;
    Ok(Outgoing::json(200, &invite))
}

/// `GET /api/customers?status=&limit=&cursor=`: the partner's customers.
async fn list_customers<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let status = StatusFilter::parse(req.query_param("status").as_deref())?;
    let who = caller(app, req, Endpoint::ListCustomers).await?;
    let page = app
        .relationships()
        .customers(&who, status, page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}

/// `GET /api/partners?status=&limit=&cursor=`: the partners of the admin's organization.
async fn list_partners<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let status = StatusFilter::parse(req.query_param("status").as_deref())?;
    let who = caller(app, req, Endpoint::ListPartners).await?;
    let page = app
        .relationships()
        .partners(&who, status, page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}
