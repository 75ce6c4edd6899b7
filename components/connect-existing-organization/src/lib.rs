//! `connect-existing-organization`: a partner asks, the organization's admin decides.

use partner_invites::spin::serve;
use partner_invites::web::api;
use partner_invites::web::routes::CONNECT_EXISTING_ORGANIZATION;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Serves the routes of [`CONNECT_EXISTING_ORGANIZATION`] with [`api::connect_existing_organization`].
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    serve(
        req,
        CONNECT_EXISTING_ORGANIZATION,
        api::no_static_answer,
        api::connect_existing_organization,
    )
    .await
}
