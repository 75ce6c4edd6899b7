//! `partner-settings`: a partner's profile and webhooks; the operator's outbox.

use partner_invites::spin::serve;
use partner_invites::web::api;
use partner_invites::web::routes::PARTNER_SETTINGS;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Serves the routes of [`PARTNER_SETTINGS`] with [`api::partner_settings`].
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    serve(
        req,
        PARTNER_SETTINGS,
        api::no_static_answer,
        api::partner_settings,
    )
    .await
}
