//! `list-invites`: what partners and customer admins read, the public documents, and the 404 of every path no component serves.

use partner_invites::spin::serve;
use partner_invites::web::api;
use partner_invites::web::routes::LIST_INVITES;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

/// Serves the routes of [`LIST_INVITES`] with [`api::list_invites`].
#[http_service]
async fn handle(req: Request) -> impl IntoResponse {
    serve(req, LIST_INVITES, api::static_answer, api::list_invites).await
}
