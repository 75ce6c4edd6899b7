//! `list-invites`: what partners and customer admins can read.

use partner_invites::spin::{prepare, render};
use partner_invites::web::{Outgoing, api};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Routes `/api/invites`, `/api/invites/:id`, `/api/customers`, `/api/partners`,
/// `/api/capabilities`, `/api/openapi.json`.
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    let (app, req) = match prepare(req).await {
        Ok(ready) => ready,
        Err(answer) => return answer,
    };
    let answer: Outgoing = match (req.method.as_str(), req.segments().as_slice()) {
        // The capability matrix, public.
        ("GET", ["api", "capabilities"]) => api::capabilities(),
        // The API description, public.
        ("GET", ["api", "openapi.json"]) => api::openapi(),
        // The partner's invites, newest first, by status and cursor.
        ("GET", ["api", "invites"]) => api::list_invites(&app, &req).await,
        // One invite with its history.
        ("GET", ["api", "invites", id]) => api::get_invite(&app, &req, id).await,
        // The partner's customers: connection, capabilities, first contact, since, via.
        ("GET", ["api", "customers"]) => api::list_customers(&app, &req).await,
        // The partners of the admin's organization.
        ("GET", ["api", "partners"]) => api::list_partners(&app, &req).await,
        (
            _,
            [
                "api",
                "capabilities" | "openapi.json" | "invites" | "customers" | "partners",
            ]
            | ["api", "invites", _],
        ) => api::method_not_allowed("GET"),
        _ => api::no_route(&req),
    };
    render(answer)
}
