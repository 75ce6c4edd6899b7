//! `connect-existing-organization`: a partner asks, the organization's admin decides.

use partner_invites::spin::{prepare, render};
use partner_invites::web::api;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Routes `/api/connections`, `/api/connections/:id/{withdraw,approve,decline}` and `/connect/:token`.
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (app, req) = match prepare(req).await {
        Ok(ready) => ready,
        Err(answer) => return answer,
    };
    let answer = match (req.method.as_str(), req.segments().as_slice()) {
        // Ask to be connected to an organization: 201 pending request.
        ("POST", ["api", "connections"]) => api::request_connection(&app, &req).await,
        // The partner's requests, newest first.
        ("GET", ["api", "connections"]) => api::list_requests(&app, &req).await,
        // The partner takes its request back.
        ("POST", ["api", "connections", id, "withdraw"]) => {
            api::withdraw_request(&app, &req, id).await
        }
        // The admin approves (bearer or approval-link token).
        ("POST", ["api", "connections", id, "approve"]) => {
            api::decide_request(&app, &req, id, true).await
        }
        // The admin declines.
        ("POST", ["api", "connections", id, "decline"]) => {
            api::decide_request(&app, &req, id, false).await
        }
        // The approval page (HTML), or its JSON.
        ("GET", ["connect", token]) => api::approval_page(&app, &req, token).await,
        (_, ["api", "connections"]) => api::method_not_allowed("GET, POST"),
        (_, ["api", "connections", _, "withdraw" | "approve" | "decline"]) => {
            api::method_not_allowed("POST")
        }
        (_, ["connect", _]) => api::method_not_allowed("GET"),
        _ => api::no_route(&req),
    };
    render(answer)
}
