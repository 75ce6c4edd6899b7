//! `generate-invite`: partners issue, resend and revoke invite links.

use partner_invites::spin::serve;
use partner_invites::web::api;
use partner_invites::web::routes::GENERATE_INVITE;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Serves the routes of [`GENERATE_INVITE`] with [`api::generate_invite`].
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    serve(
        req,
        GENERATE_INVITE,
        api::no_static_answer,
        api::generate_invite,
    )
    .await
}
