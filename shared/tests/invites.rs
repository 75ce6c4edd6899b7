//! Invite flows on the in-memory store: create, validate, replay, resend,
//! revoke, redeem, list, isolation.

mod support;

use partner_invites::ops::PageRequest;
use partner_invites::problem::ProblemKind;
use support::*;

fn kind<T>(r: Result<T, partner_invites::problem::Problem>) -> ProblemKind {
    match r {
        Ok(_) => panic!("expected a problem"),
        Err(p) => p.kind,
    }
}

#[test]
fn create_answers_with_a_link_and_records_the_email() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let view = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("created");
        assert_eq!(view.status, "pending");
        assert_eq!(view.expires_at, "2026-11-29T00:00:00Z", "7 days by default");
        let link = view.link.expect("link");
        assert!(link.starts_with("https://invites.example/invite/"));
        let email = view.email.expect("email outcome");
        assert_eq!(email.to, "ada@acme.example");
        assert!(matches!(
            email.status,
            partner_invites::domain::EmailStatus::Recorded
        ));
        let outbox = app
            .list_outbox(PageRequest::parse(None, None).expect("page"))
            .await
            .expect("outbox");
        assert_eq!(outbox.items.len(), 1);
        assert!(
            outbox.items[0].text.contains(&link),
            "the email carries the link"
        );
        assert!(outbox.items[0].text.contains("Ada Lovelace"));
    });
}

#[test]
fn every_invalid_field_is_reported_and_nothing_is_written() {
    let w = World::new();
    let app = w.app();
    let body = serde_json::json!({
        "connection": "partner",
        "customer": {"company": {"address": {"country": "XX"}}, "contact": {"email": "x"}},
        "ttl_days": 31,
        "locale": "english please"
    });
    let problem = block_on(app.create_invite(&partner("p1"), body.to_string().as_bytes(), None))
        .expect_err("invalid");
    assert_eq!(problem.kind, ProblemKind::ValidationFailed);
    let pointers: Vec<_> = problem.errors.iter().map(|e| e.pointer.as_str()).collect();
    for p in [
        "/connection",
        "/customer/company/name",
        "/customer/company/address/country",
        "/customer/contact/first_name",
        "/customer/contact/last_name",
        "/customer/contact/email",
        "/ttl_days",
        "/locale",
    ] {
        assert!(pointers.contains(&p), "{p} not in {pointers:?}");
    }
    assert!(
        w.store.snapshot().is_empty(),
        "a rejected request writes nothing"
    );
}

#[test]
fn billing_email_must_be_a_billing_account() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let profile = serde_json::json!({"display_name": "Partner One", "billing_accounts": ["billing@p1.example"]});
        app.put_profile("p1", profile.to_string().as_bytes())
            .await
            .expect("profile");
        let mut body: serde_json::Value =
            serde_json::from_slice(&invite_body("ada@acme.example")).expect("json");
        body["customer"]["billing"] = serde_json::json!({"email": "other@p1.example"});
        let before = w.store.snapshot();
        let p = app
            .create_invite(&partner("p1"), body.to_string().as_bytes(), None)
            .await
            .expect_err("refused");
        assert_eq!(p.errors[0].pointer, "/customer/billing/email");
        assert_eq!(w.store.snapshot(), before);
        let view = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        assert_eq!(
            view.customer.billing.email.as_deref(),
            Some("billing@p1.example"),
            "defaults to the account"
        );
    });
}

#[test]
fn idempotency_key_replays_the_first_answer() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let body = invite_body("ada@acme.example");
        let first = app
            .create_invite(&partner("p1"), &body, Some("key-1"))
            .await
            .expect("first");
        let again = app
            .create_invite(&partner("p1"), &body, Some("key-1"))
            .await
            .expect("replay");
        assert_eq!(first.id, again.id);
        assert_eq!(first.token, again.token);
        let list = app
            .list_invites(
                &partner("p1"),
                None,
                PageRequest::parse(None, None).expect("page"),
            )
            .await;
        assert_eq!(list.expect("list").items.len(), 1, "one invite, not two");
        let other = invite_body("bob@acme.example");
        assert_eq!(
            kind(
                app.create_invite(&partner("p1"), &other, Some("key-1"))
                    .await
            ),
            ProblemKind::IdempotencyKeyReused
        );
        let p2 = app
            .create_invite(&partner("p2"), &body, Some("key-1"))
            .await
            .expect("keys are per partner");
        assert_ne!(p2.id, "");
    });
}

#[test]
fn resend_kills_earlier_links_and_revoke_kills_the_last() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let created = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let old = created.token.expect("token");
        let resent = app
            .resend_invite(&partner("p1"), &created.id)
            .await
            .expect("resent");
        let new = resent.token.expect("token");
        assert_ne!(old, new);
        assert_eq!(kind(app.preview_invite(&old).await), ProblemKind::Revoked);
        app.preview_invite(&new).await.expect("new link works");
        app.revoke_invite(&partner("p1"), &created.id)
            .await
            .expect("revoked");
        assert_eq!(kind(app.preview_invite(&new).await), ProblemKind::Revoked);
        assert_eq!(
            kind(app.revoke_invite(&partner("p1"), &created.id).await),
            ProblemKind::InvalidState
        );
        let view = app
            .get_invite(&partner("p1"), &created.id)
            .await
            .expect("get");
        assert_eq!(view.status, "revoked");
        let actions: Vec<_> = view
            .history
            .iter()
            .map(|h| serde_json::to_value(h).expect("json")["action"].clone())
            .collect();
        assert_eq!(actions, ["created", "resent", "revoked"]);
    });
}

#[test]
fn expired_links_answer_410_and_can_be_resent() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let created = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        w.clock.advance(7 * 86_400);
        assert_eq!(
            kind(app.preview_invite(&created.token.clone().expect("t")).await),
            ProblemKind::Expired
        );
        assert_eq!(
            app.get_invite(&partner("p1"), &created.id)
                .await
                .expect("get")
                .status,
            "expired"
        );
        let resent = app
            .resend_invite(&partner("p1"), &created.id)
            .await
            .expect("resend expired");
        assert_eq!(resent.status, "pending");
    });
}

#[test]
fn redeem_creates_organization_and_relationship_once() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let created = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let token = created.token.expect("token");
        let body = serde_json::json!({"token": token, "organization": {"company": {"address": {"city": "Hamburg"}}}});
        let redeemed = app
            .redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("redeemed");
        assert!(!redeemed.existing_organization);
        let before = w.store.snapshot();
        assert_eq!(
            kind(app.redeem_invite(None, body.to_string().as_bytes()).await),
            ProblemKind::AlreadyAccepted
        );
        assert_eq!(
            w.store.snapshot(),
            before,
            "a rejected redemption writes nothing"
        );

        let customers = app
            .list_customers("p1", PageRequest::parse(None, None).expect("page"))
            .await
            .expect("list");
        assert_eq!(customers.items.len(), 1);
        assert_eq!(customers.items[0].organization_id, redeemed.organization_id);
        assert_eq!(
            customers.items[0].first_contact,
            partner_invites::capabilities::FirstContact::Partner
        );
        let partners = app
            .list_partners(
                &redeemed.organization_id,
                PageRequest::parse(None, None).expect("page"),
            )
            .await
            .expect("list");
        assert_eq!(partners.items[0].partner_id, "p1");
        let invite = app
            .get_invite(&partner("p1"), &created.id)
            .await
            .expect("get");
        assert_eq!(invite.status, "accepted");
        assert_eq!(
            invite.organization_id.as_deref(),
            Some(redeemed.organization_id.as_str())
        );
    });
}

#[test]
fn the_contact_email_is_the_invited_one() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let created = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let body = serde_json::json!({"token": created.token, "organization": {"contact": {"email": "eve@evil.example"}}});
        let before = w.store.snapshot();
        let p = app
            .redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect_err("refused");
        assert_eq!(p.errors[0].pointer, "/organization/contact/email");
        assert_eq!(w.store.snapshot(), before);
    });
}

#[test]
fn linking_an_existing_organization_keeps_its_settings() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let first = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let body = serde_json::json!({"token": first.token});
        let org = app
            .redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("new org")
            .organization_id;
        let key = partner_invites::store::keys::organization(&org);
        let stored_before = w.store.snapshot().get(&key).cloned();

        let second = app
            .create_invite(&partner("p2"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let link = serde_json::json!({"token": second.token, "organization_id": org});
        assert_eq!(
            kind(app.redeem_invite(None, link.to_string().as_bytes()).await),
            ProblemKind::Unauthenticated
        );
        assert_eq!(
            kind(
                app.redeem_invite(Some(&admin("org_other")), link.to_string().as_bytes())
                    .await
            ),
            ProblemKind::Forbidden
        );
        let linked = app
            .redeem_invite(Some(&admin(&org)), link.to_string().as_bytes())
            .await
            .expect("linked");
        assert!(linked.existing_organization);
        assert_eq!(
            w.store.snapshot().get(&key).cloned(),
            stored_before,
            "organization untouched"
        );
        let partners = app
            .list_partners(&org, PageRequest::parse(None, None).expect("page"))
            .await
            .expect("list");
        assert_eq!(partners.items.len(), 2);
    });
}

#[test]
fn thirty_two_threads_redeem_one_invite_exactly_once() {
    let w = World::new();
    let token = block_on(w.app().create_invite(
        &partner("p1"),
        &invite_body("ada@acme.example"),
        None,
    ))
    .expect("ok")
    .token
    .expect("token");
    let body = serde_json::json!({"token": token}).to_string();
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|_| {
                s.spawn(|| {
                    block_on(w.app().redeem_invite(None, body.as_bytes()))
                        .map(|r| r.organization_id)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let wins: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(wins.len(), 1, "exactly one redemption wins");
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|p| p.kind == ProblemKind::AlreadyAccepted)
    );
    let orgs = w
        .store
        .snapshot()
        .keys()
        .filter(|k| k.starts_with("o/") && !k.contains("/ptn"))
        .count();
    assert_eq!(orgs, 1, "one organization");
    let customers = block_on(
        w.app()
            .list_customers("p1", PageRequest::parse(None, None).expect("page")),
    );
    assert_eq!(customers.expect("list").items.len(), 1, "one relationship");
}

#[test]
fn a_page_costs_the_same_with_10_or_10000_invites() {
    fn cost(n: usize) -> usize {
        let w = World::new();
        let app = w.app();
        block_on(async {
            for i in 0..n {
                let body = serde_json::json!({
                    "connection": "msp", "send_email": false,
                    "customer": {"company": {"name": format!("C{i}")}, "contact": {"first_name": "A", "last_name": "B", "email": "a@b.example"}}
                });
                app.create_invite(&partner("p1"), body.to_string().as_bytes(), None)
                    .await
                    .expect("ok");
            }
            let before = w.store.calls().total();
            let page = app
                .list_invites(
                    &partner("p1"),
                    None,
                    PageRequest::parse(Some("10"), None).expect("page"),
                )
                .await;
            assert_eq!(page.expect("list").items.len(), 10);
            w.store.calls().total() - before
        })
    }
    let small = cost(10);
    assert_eq!(small, 2, "the counter's get and one get-many");
    assert_eq!(cost(10_000), small);
}

#[test]
fn lists_page_newest_first_and_filter_by_status() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let mut ids = Vec::new();
        for i in 0..5 {
            let view = app
                .create_invite(
                    &partner("p1"),
                    &invite_body(&format!("c{i}@acme.example")),
                    None,
                )
                .await;
            ids.push(view.expect("ok").id);
        }
        app.revoke_invite(&partner("p1"), &ids[1])
            .await
            .expect("revoke");
        let first = app
            .list_invites(
                &partner("p1"),
                None,
                PageRequest::parse(Some("2"), None).expect("p"),
            )
            .await
            .expect("l");
        assert_eq!(
            first.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            [ids[4].clone(), ids[3].clone()]
        );
        let cursor = first.next_cursor.expect("more");
        let second = app
            .list_invites(
                &partner("p1"),
                None,
                PageRequest::parse(Some("2"), Some(&cursor)).expect("p"),
            )
            .await
            .expect("l");
        assert_eq!(second.items[0].id, ids[2]);
        let revoked = app
            .list_invites(
                &partner("p1"),
                Some("revoked"),
                PageRequest::parse(None, None).expect("p"),
            )
            .await
            .expect("l");
        assert_eq!(revoked.items.len(), 1);
        assert_eq!(revoked.items[0].id, ids[1]);
        assert_eq!(
            kind(
                app.list_invites(
                    &partner("p1"),
                    Some("gone"),
                    PageRequest::parse(None, None).expect("p")
                )
                .await
            ),
            ProblemKind::Malformed
        );
    });
}

#[test]
fn another_partners_invites_are_not_found() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let mine = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("ok");
        let before = w.store.snapshot();
        assert_eq!(
            kind(app.get_invite(&partner("p2"), &mine.id).await),
            ProblemKind::NotFound
        );
        assert_eq!(
            kind(app.resend_invite(&partner("p2"), &mine.id).await),
            ProblemKind::NotFound
        );
        assert_eq!(
            kind(app.revoke_invite(&partner("p2"), &mine.id).await),
            ProblemKind::NotFound
        );
        let list = app
            .list_invites(
                &partner("p2"),
                None,
                PageRequest::parse(None, None).expect("p"),
            )
            .await
            .expect("l");
        assert!(list.items.is_empty());
        assert_eq!(w.store.snapshot(), before);
    });
}

#[test]
fn relay_failures_are_recorded_not_lost() {
    let mut w = World::new();
    w.relay = Some("https://relay.example/send".into());
    w.transport.answer_with(Err("connection refused".into()));
    let app = w.app();
    block_on(async {
        let view = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("created");
        assert!(matches!(
            view.email.expect("email").status,
            partner_invites::domain::EmailStatus::Failed { .. }
        ));
        let outbox = app
            .list_outbox(PageRequest::parse(None, None).expect("p"))
            .await
            .expect("outbox");
        assert_eq!(outbox.items.len(), 1, "kept for the operator");
    });
}

#[test]
fn a_corrupt_stored_invite_is_a_storage_failure_not_an_unknown_link() {
    use partner_invites::store::{KeyValue, keys};
    let w = World::new();
    let app = w.app();
    block_on(async {
        let view = app
            .create_invite(&partner("p1"), &invite_body("a@b.example"), None)
            .await
            .expect("created");
        let token = view.token.expect("token");
        w.store
            .set(&keys::invite("p1", 1), b"{not json")
            .await
            .expect("set");
        let problem = app.preview_invite(&token).await.expect_err("corrupt");
        assert_eq!(problem.kind, ProblemKind::Internal, "{problem:?}");
    });
}
