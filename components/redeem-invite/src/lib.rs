//! `redeem-invite`: the registration page behind an invite link, and redemption.

use partner_invites::spin::serve;
use partner_invites::web::api;
use partner_invites::web::routes::REDEEM_INVITE;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Serves the routes of [`REDEEM_INVITE`] with [`api::redeem_invite`].
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    serve(
        req,
        REDEEM_INVITE,
        api::no_static_answer,
        api::redeem_invite,
    )
    .await
}
