//! `partner-settings`: the partner's profile and webhook deliveries, and
//! the operators' outbox, redelivery and platform deliveries.

use super::{Answer, caller, not_served, page_request, param, rendered};
use crate::ops::{App, ProfileUpdate, parse_json};
use crate::outbound::Transport;
use crate::store::KeyValue;
use crate::web::routes::{Endpoint, Params};
use crate::web::{Incoming, Outgoing};

/// `partner-settings`'s endpoints.
pub async fn partner_settings<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    endpoint: Endpoint,
    params: &Params,
) -> Outgoing {
    let id = param(params, "id");
    let answer = match endpoint {
        Endpoint::GetProfile => get_profile(app, req).await,
        Endpoint::PutProfile => put_profile(app, req).await,
        Endpoint::ListDeliveries => list_deliveries(app, req).await,
        Endpoint::RetryDelivery => retry_delivery(app, req, id).await,
        Endpoint::ListPlatformDeliveries => list_platform_deliveries(app, req).await,
        Endpoint::RetryPlatformDelivery => retry_platform_delivery(app, req, id).await,
        Endpoint::ListOutbox => list_outbox(app, req).await,
        Endpoint::EnableWebhook => enable_webhook(app, req).await,
        Endpoint::Dispatch => dispatch_due(app, req).await,
        other => Ok(not_served(other)),
    };
    rendered(answer)
}

/// `GET /api/partner`: the partner's profile.
async fn get_profile<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::GetProfile).await?;
    let profile = app.partners().get(&who).await?;
    Ok(Outgoing::json(200, &profile))
}

/// `PUT /api/partner`: a new webhook secret is in this answer only.
async fn put_profile<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let update: ProfileUpdate = parse_json(req.json_body()?)?;
    let who = caller(app, req, Endpoint::PutProfile).await?;
    let profile = app.partners().put(&who, update).await?;
    Ok(Outgoing::json(200, &profile))
}

/// `GET /api/webhooks/deliveries?limit=&cursor=`: the partner's deliveries.
async fn list_deliveries<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::ListDeliveries).await?;
    let page = app
        .outbox()
        .list_deliveries(&who, page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}

/// `POST /api/webhooks/deliveries/:id/retry`: sends the delivery again.
async fn retry_delivery<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::RetryDelivery).await?;
    let delivery = app.outbox().retry_delivery(&who, id).await?;
    Ok(Outgoing::json(200, &delivery))
}

/// `GET /api/platform/deliveries?limit=&cursor=`: deliveries to the platform (operators).
async fn list_platform_deliveries<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
) -> Answer {
    let who = caller(app, req, Endpoint::ListPlatformDeliveries).await?;
    let page = app
        .outbox()
        .list_platform_deliveries(&who, page_request(req)?)
        .await?;
    Ok(Outgoing::json(200, &page))
}

/// `POST /api/platform/deliveries/:id/retry`: sends a platform delivery again.
async fn retry_platform_delivery<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    req: &Incoming,
    id: &str,
) -> Answer {
    let who = caller(app, req, Endpoint::RetryPlatformDelivery).await?;
    let delivery = app.outbox().retry_platform_delivery(&who, id).await?;
    Ok(Outgoing::json(200, &delivery))
}

/// `GET /api/outbox?limit=&cursor=`: every email and what became of it (operators).
async fn list_outbox<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::ListOutbox).await?;
    let page = app.outbox().list_emails(&who, page_request(req)?).await?;
    Ok(Outgoing::json(200, &page))
}

/// `POST /api/webhooks/enable`: sends to the endpoint again after it answered 410.
async fn enable_webhook<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::EnableWebhook).await?;
    let profile = app.partners().enable_webhook(&who).await?;
    Ok(Outgoing::json(200, &profile))
}

/// `POST /api/outbox/dispatch?limit=`: the delivery attempts that are due (operators).
async fn dispatch_due<S: KeyValue, T: Transport>(app: &App<S, T>, req: &Incoming) -> Answer {
    let who = caller(app, req, Endpoint::Dispatch).await?;
    let limit = req.query_param("limit");
    let report = app.dispatcher().dispatch(&who, limit.as_deref()).await?;
    Ok(Outgoing::json(200, &report))
}
