//! `generate-invite`: partners issue, resend and revoke invite links.

use partner_invites::spin::{prepare, render};
use partner_invites::web::api;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Routes `/api/invites/generate` and `/api/invites/:id/{resend,revoke}`.
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (app, req) = match prepare(req).await {
        Ok(ready) => ready,
        Err(answer) => return answer,
    };
    let answer = match (req.method.as_str(), req.segments().as_slice()) {
        // Issue an invite for a new customer: 201 with the link.
        ("POST", ["api", "invites", "generate"]) => api::create_invite(&app, &req).await,
        // A fresh link and expiry; every earlier link stops working.
        ("POST", ["api", "invites", id, "resend"]) => api::resend_invite(&app, &req, id).await,
        // Revoke a pending invite.
        ("POST", ["api", "invites", id, "revoke"]) => api::revoke_invite(&app, &req, id).await,
        (_, ["api", "invites", "generate"] | ["api", "invites", _, "resend" | "revoke"]) => {
            api::method_not_allowed("POST")
        }
        _ => api::no_route(&req),
    };
    render(answer)
}
