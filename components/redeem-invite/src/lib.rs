//! `redeem-invite`: the registration page behind an invite link, and redemption.

use partner_invites::spin::{prepare, render};
use partner_invites::web::api;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Routes `/invite/:token` and `/api/invites/redeem`.
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (app, req) = match prepare(req).await {
        Ok(ready) => ready,
        Err(answer) => return answer,
    };
    let answer = match (req.method.as_str(), req.segments().as_slice()) {
        // The registration page (HTML), or its JSON with `Accept: application/json`.
        ("GET", ["invite", token]) => api::registration_page(&app, &req, token).await,
        // Register a new organization or link an existing one: exactly once per invite.
        ("POST", ["api", "invites", "redeem"]) => api::redeem(&app, &req).await,
        (_, ["invite", _]) => api::method_not_allowed("GET"),
        (_, ["api", "invites", "redeem"]) => api::method_not_allowed("POST"),
        _ => api::no_route(&req),
    };
    render(answer)
}
