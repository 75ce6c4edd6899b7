//! Connecting existing organizations, and webhooks.

mod support;

use partner_invites::ops::{Authority, PageRequest};
use partner_invites::problem::ProblemKind;
use support::*;

/// An organization created by redeeming an invite of `p0`.
fn organization(w: &World) -> String {
    let app = w.app();
    block_on(async {
        let created = app
            .create_invite(&partner("p0"), &invite_body("admin@org.example"), None)
            .await
            .expect("ok");
        let body = serde_json::json!({"token": created.token});
        app.redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("redeemed")
            .organization_id
    })
}

async fn approval_token(app: &TestApp<'_>) -> String {
    let outbox = app
        .list_outbox(PageRequest::parse(None, None).expect("p"))
        .await
        .expect("outbox");
    let email = &outbox.items[0];
    assert_eq!(
        email.to, "admin@org.example",
        "the approval link goes to the organization's admin"
    );
    let link = email
        .text
        .lines()
        .find(|l| l.contains("/connect/"))
        .expect("link line");
    link.rsplit('/').next().expect("token").to_string()
}

#[test]
fn request_approve_by_link_keeps_settings() {
    let w = World::new();
    let org = organization(&w);
    let app = w.app();
    block_on(async {
        let org_key = partner_invites::store::keys::organization(&org);
        let org_before = w.store.snapshot().get(&org_key).cloned();
        let body = serde_json::json!({"organization_id": org, "connection": "msp"}).to_string();
        let request = app
            .request_connection(&partner("p1"), body.as_bytes())
            .await
            .expect("requested");
        assert_eq!(request.status, "pending");
        assert_eq!(request.expires_at, "2026-12-06T00:00:00Z", "14 days");

        let before = w.store.snapshot();
        assert_eq!(
            app.request_connection(&partner("p1"), body.as_bytes())
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::DuplicateRequest)
        );
        assert_eq!(
            w.store.snapshot(),
            before,
            "the refused duplicate wrote nothing"
        );

        let token = approval_token(&app).await;
        let preview = app.preview_request(&token).await.expect("preview");
        assert_eq!(preview.partner_name, "p1");
        assert_eq!(preview.capabilities.len(), 6);
        let approved = app
            .approve_request(&request.id, Authority::Link(&token))
            .await
            .expect("approved");
        assert_eq!(approved.status, "approved");
        assert_eq!(
            w.store.snapshot().get(&org_key).cloned(),
            org_before,
            "settings untouched"
        );
        let customers = app
            .list_customers("p1", PageRequest::parse(None, None).expect("p"))
            .await
            .expect("l");
        assert_eq!(customers.items.len(), 1);
        assert_eq!(
            app.approve_request(&request.id, Authority::Link(&token))
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::InvalidState)
        );
        assert_eq!(
            app.request_connection(&partner("p1"), body.as_bytes())
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::AlreadyConnected)
        );
    });
}

#[test]
fn decline_withdraw_and_isolation() {
    let w = World::new();
    let org = organization(&w);
    let app = w.app();
    block_on(async {
        let body =
            serde_json::json!({"organization_id": org, "connection": "reseller_without_support"})
                .to_string();
        let request = app
            .request_connection(&partner("p1"), body.as_bytes())
            .await
            .expect("requested");
        assert_eq!(
            app.decline_request(&request.id, Authority::Bearer(&admin("org_other")))
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::NotFound),
            "another organization's admin learns nothing"
        );
        assert_eq!(
            app.withdraw_request(&partner("p2"), &request.id)
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::NotFound)
        );
        let declined = app
            .decline_request(&request.id, Authority::Bearer(&admin(&org)))
            .await
            .expect("declined");
        assert_eq!(declined.status, "declined");
        let again = app
            .request_connection(&partner("p1"), body.as_bytes())
            .await
            .expect("a new request is allowed");
        let withdrawn = app
            .withdraw_request(&partner("p1"), &again.id)
            .await
            .expect("withdrawn");
        assert_eq!(withdrawn.status, "withdrawn");
        let list = app
            .list_requests(&partner("p1"), PageRequest::parse(None, None).expect("p"))
            .await
            .expect("l");
        assert_eq!(
            list.items.iter().map(|r| r.status).collect::<Vec<_>>(),
            ["withdrawn", "declined"]
        );
    });
}

#[test]
fn unknown_organizations_and_bad_fields() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let missing =
            serde_json::json!({"organization_id": "org_nope", "connection": "msp"}).to_string();
        assert_eq!(
            app.request_connection(&partner("p1"), missing.as_bytes())
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::NotFound)
        );
        let bad = serde_json::json!({"organization_id": "a/b", "connection": "boss"}).to_string();
        let p = app
            .request_connection(&partner("p1"), bad.as_bytes())
            .await
            .expect_err("invalid");
        assert_eq!(p.errors.len(), 2);
        assert!(w.store.snapshot().is_empty());
    });
}

#[test]
fn webhooks_are_signed_recorded_and_retried() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let profile = serde_json::json!({"display_name": "Partner One", "webhook_url": "https://hooks.p1.example/in"});
        let saved = app
            .put_profile("p1", profile.to_string().as_bytes())
            .await
            .expect("saved");
        let secret = saved.webhook_secret.expect("secret shown once");
        assert!(
            app.get_profile("p1")
                .await
                .expect("get")
                .webhook_secret
                .is_none(),
            "never shown again"
        );

        let created = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let body = serde_json::json!({"token": created.token});
        app.redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("redeemed");

        let hooks: Vec<_> = w
            .transport
            .sent()
            .into_iter()
            .filter(|s| s.url.contains("hooks.p1"))
            .collect();
        assert_eq!(hooks.len(), 2);
        for hook in &hooks {
            let h = |name: &str| {
                hook.headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .expect(name)
            };
            let ts: u64 = h("webhook-timestamp").parse().expect("ts");
            assert!(partner_invites::webhook::verify(
                &secret,
                &h("webhook-id"),
                ts,
                &hook.body,
                &h("webhook-signature")
            ));
        }
        let types: Vec<String> = hooks
            .iter()
            .map(|h| {
                serde_json::from_slice::<serde_json::Value>(&h.body).expect("json")["type"]
                    .as_str()
                    .unwrap_or("")
                    .into()
            })
            .collect();
        assert_eq!(types, ["invite.created", "invite.accepted"]);

        w.transport.answer_with(Ok(503));
        let deliveries = app
            .list_deliveries("p1", PageRequest::parse(None, None).expect("p"))
            .await
            .expect("list");
        let id = deliveries.items.len();
        assert_eq!(id, 2);
        let newest = serde_json::to_value(&deliveries.items[0]).expect("json");
        let retried = app
            .retry_delivery("p1", newest["id"].as_str().expect("id"))
            .await
            .expect("retried");
        let retried = serde_json::to_value(retried).expect("json");
        assert_eq!(retried["attempts"].as_array().map(Vec::len), Some(2));
        assert_eq!(retried["delivered"], false);
        assert_eq!(
            app.retry_delivery("p2", newest["id"].as_str().expect("id"))
                .await
                .map_err(|p| p.kind)
                .err(),
            Some(ProblemKind::NotFound)
        );
    });
}
