//! `partner-settings`: a partner's profile and webhooks; the operator's outbox.

use partner_invites::spin::{prepare, render};
use partner_invites::web::api;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Routes `/api/partner`, `/api/webhooks/deliveries[/:id/retry]` and `/api/outbox`.
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (app, req) = match prepare(req).await {
        Ok(ready) => ready,
        Err(answer) => return answer,
    };
    let answer = match (req.method.as_str(), req.segments().as_slice()) {
        // Display name, billing accounts, webhook endpoint.
        ("GET", ["api", "partner"]) => api::get_profile(&app, &req).await,
        // Replace them; a new webhook secret is shown once.
        ("PUT", ["api", "partner"]) => api::put_profile(&app, &req).await,
        // Every webhook delivery and its attempts.
        ("GET", ["api", "webhooks", "deliveries"]) => api::list_deliveries(&app, &req).await,
        // Send a delivery again.
        ("POST", ["api", "webhooks", "deliveries", id, "retry"]) => {
            api::retry_delivery(&app, &req, id).await
        }
        // Emails recorded or sent (operators).
        ("GET", ["api", "outbox"]) => api::list_outbox(&app, &req).await,
        (_, ["api", "partner"]) => api::method_not_allowed("GET, PUT"),
        (_, ["api", "webhooks", "deliveries"] | ["api", "outbox"]) => {
            api::method_not_allowed("GET")
        }
        (_, ["api", "webhooks", "deliveries", _, "retry"]) => api::method_not_allowed("POST"),
        _ => api::no_route(&req),
    };
    render(answer)
}
