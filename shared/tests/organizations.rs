//! The platform's organizations: told one by one or imported, named by an
//! admin's token, linked and asked for like registered ones, their own
//! records left as they were; the platform's event feed; the admin's inbox.

mod support;

use partner_invites::auth::{ClaimedOrganization, Principal};
use partner_invites::ops::organizations::Outcome;
use partner_invites::ops::{Authority, ImportItem, PageRequest, parse_json};
use partner_invites::problem::ProblemKind;
use partner_invites::store::keys;
use partner_invites::webhook;
use support::*;

fn organization(name: &str, email: &str) -> partner_invites::ops::OrganizationInput {
    parse_json(
        serde_json::json!({
            "name": name,
            "country": "ch",
            "admins": [{"email": email, "name": "Bill"}],
            "settings": {"plan": "enterprise", "nested": {"keep": [1, 2, 3]}}
        })
        .to_string()
        .as_bytes(),
    )
    .expect("input")
}

#[test]
fn put_creates_updates_and_leaves_an_unchanged_organization_unwritten() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let orgs = app.organizations();
        let first = orgs
            .put(
                &operator(),
                "tenant-1",
                organization("Initech", "it@initech.example"),
            )
            .await
            .expect("created");
        assert_eq!(first.result, Outcome::Created);
        assert_eq!(first.organization.country.as_deref(), Some("CH"));
        let before = w.store.snapshot();
        let again = orgs
            .put(
                &operator(),
                "tenant-1",
                organization("Initech", "it@initech.example"),
            )
            .await
            .expect("unchanged");
        assert_eq!(again.result, Outcome::Unchanged);
        assert_eq!(
            w.store.snapshot(),
            before,
            "an unchanged organization is not written"
        );
        let renamed = orgs
            .put(
                &operator(),
                "tenant-1",
                organization("Initech AG", "it@initech.example"),
            )
            .await
            .expect("updated");
        assert_eq!(renamed.result, Outcome::Updated);
        assert_eq!(renamed.organization.name, "Initech AG");
        assert_eq!(renamed.organization.settings["nested"]["keep"][2], 3);

        let problem = orgs
            .put(&partner("p1"), "tenant-2", organization("X", "x@x.example"))
            .await
            .expect_err("operators only");
        assert_eq!(problem.kind, ProblemKind::Forbidden);
        let invalid: partner_invites::ops::OrganizationInput =
            parse_json(br#"{"name": "", "country": "Switzerland", "admins": [{"email": "nope"}]}"#)
                .expect("shape");
        let before = w.store.snapshot();
        let problem = orgs
            .put(&operator(), "tenant-3", invalid)
            .await
            .expect_err("invalid");
        let pointers: Vec<_> = problem.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/name", "/country", "/admins/0/email"],
            "{problem:?}"
        );
        assert_eq!(
            w.store.snapshot(),
            before,
            "a rejected organization writes nothing"
        );
    });
}

#[test]
fn an_import_reports_each_organization_and_writes_only_the_valid_ones() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let items: Vec<Result<ImportItem, String>> = vec![
            Ok(parse_json(
                br#"{"id": "t-1", "name": "One", "admins": [{"email": "a@one.example"}]}"#,
            )
            .expect("item")),
            Ok(parse_json(br#"{"id": "t/2", "name": "", "admins": []}"#).expect("item")),
            Err("not JSON".into()),
            Ok(parse_json(
                br#"{"id": "t-1", "name": "Again", "admins": [{"email": "a@one.example"}]}"#,
            )
            .expect("item")),
        ];
        let report = app
            .organizations()
            .import(&operator(), items)
            .await
            .expect("imported");
        assert_eq!((report.created, report.rejected), (1, 3), "{report:?}");
        let pointers: Vec<_> = report.results[1]
            .errors
            .iter()
            .map(|e| e.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/1/id", "/1/name", "/1/admins"]);
        assert_eq!(
            report.results[3].errors[0].detail,
            "appears twice in this import"
        );
        let keys: Vec<String> = w.store.snapshot().into_keys().collect();
        assert_eq!(
            keys,
            [keys::organization("t-1"), keys::ledger("t-1")],
            "only the valid organization, its ledger with it"
        );
        let same = vec![Ok(parse_json::<ImportItem>(
            br#"{"id": "t-1", "name": "One", "admins": [{"email": "a@one.example"}]}"#,
        )
        .expect("item"))];
        let again = app
            .organizations()
            .import(&operator(), same)
            .await
            .expect("again");
        assert_eq!(again.unchanged, 1, "an import is idempotent");
    });
}

#[test]
fn platform_organizations_link_at_redemption_and_are_asked_for_with_their_record_untouched() {
    let w = World::relayed();
    let app = w.app();
    block_on(async {
        app.organizations()
            .put(
                &operator(),
                "tenant-1",
                organization("Initech", "it@initech.example"),
            )
            .await
            .expect("created");
        let record = keys::organization("tenant-1");
        let before = w.store.snapshot()[&record].clone();

        // A partner asks; the approval link goes to the first admin.
        let ask = serde_json::json!({"organization_id": "tenant-1", "connection": "msp"});
        let request = app
            .request_connection(&partner("p1"), ask.to_string().as_bytes())
            .await
            .expect("asked");
        let mails = w.transport.sent();
        let mail = mails
            .iter()
            .rfind(|s| s.url == "https://relay.example/send")
            .expect("an email");
        let mail: serde_json::Value = serde_json::from_slice(&mail.body).expect("json");
        assert_eq!(mail["to"], "it@initech.example");

        // The admin's inbox shows it, pending, with who asks; approval by bearer.
        let admin = admin("tenant-1");
        let inbox = app
            .requests()
            .inbox(&admin, None, PageRequest::default())
            .await
            .expect("inbox");
        assert_eq!(inbox.items.len(), 1);
        assert_eq!(inbox.items[0].partner_id, "p1");
        assert_eq!(inbox.items[0].request.status, "pending");
        app.approve_request(&request.id, Authority::Bearer(&admin))
            .await
            .expect("approved");
        let all = app
            .requests()
            .inbox(&admin, Some("all"), PageRequest::default())
            .await
            .expect("inbox");
        assert_eq!(all.items[0].request.status, "approved");

        // Another partner's invite, linked by the admin at redemption.
        let invite = app
            .create_invite(&partner("p2"), &invite_body("it@initech.example"), None)
            .await
            .expect("invite");
        let link = serde_json::json!({"token": invite.token, "organization_id": "tenant-1"});
        app.redeem_invite(Some(&admin), link.to_string().as_bytes())
            .await
            .expect("linked");
        let partners = app
            .list_partners("tenant-1", PageRequest::default())
            .await
            .expect("partners");
        assert_eq!(partners.items.len(), 2);
        assert_eq!(
            w.store.snapshot()[&record],
            before,
            "the organization's record is unchanged"
        );
    });
}

#[test]
fn an_organization_named_only_by_its_admins_token_links_at_redemption() {
    let w = World::new();
    let app = w.app();
    block_on(async {
        let invite = app
            .create_invite(&partner("p1"), &invite_body("boss@hooli.example"), None)
            .await
            .expect("invite");
        let link = serde_json::json!({"token": invite.token, "organization_id": "hooli"});
        let unnamed = admin("hooli");
        let problem = app
            .redeem_invite(Some(&unnamed), link.to_string().as_bytes())
            .await
            .expect_err("unknown, and the token does not name it");
        assert_eq!(problem.kind, ProblemKind::NotFound);
        let named = Principal::CustomerAdmin {
            organization_id: "hooli".into(),
            user: Some("gavin".into()),
            claimed: ClaimedOrganization {
                name: Some("Hooli".into()),
                email: Some("gavin@hooli.example".into()),
            },
        };
        let done = app
            .redeem_invite(Some(&named), link.to_string().as_bytes())
            .await
            .expect("linked");
        assert!(done.existing_organization);
        let known = app
            .organizations()
            .get(&operator(), "hooli")
            .await
            .expect("known");
        assert_eq!(known.name, "Hooli");
        assert_eq!(known.admins[0].email, "gavin@hooli.example");
        assert_eq!(serde_json::to_value(known.source).expect("json"), "token");
    });
}

#[test]
fn the_platform_receives_every_event_signed_and_what_it_needs_to_create_the_tenant() {
    let w = World::relayed();
    let app = w.app();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    block_on(async {
        let invite = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("invite");
        let body = serde_json::json!({"token": invite.token, "organization": {"company": {"address": {"postcode": "10115"}}}});
        let done = app
            .redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("redeemed");
        let events: Vec<serde_json::Value> = w
            .transport
            .sent()
            .iter()
            .filter(|s| s.url == "https://platform.example/events")
            .map(|s| {
                let header = |name: &str| {
                    s.headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .expect("header")
                };
                let at: u64 = header("webhook-timestamp").parse().expect("timestamp");
                assert!(
                    webhook::verify(
                        secret,
                        &header("webhook-id"),
                        at,
                        &s.body,
                        &header("webhook-signature")
                    ),
                    "every platform event is signed with the platform's secret"
                );
                serde_json::from_slice(&s.body).expect("json")
            })
            .collect();
        let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(
            types,
            [
                "invite.created",
                "invite.accepted",
                "organization.registered",
                "relationship.created"
            ]
        );
        assert!(events.iter().all(|e| e["partner_id"] == "p1"));
        let registered = &events[2]["data"];
        assert_eq!(registered["organization_id"], done.organization_id);
        assert_eq!(registered["company"]["name"], "Acme GmbH");
        assert_eq!(registered["company"]["address"]["postcode"], "10115");
        assert_eq!(registered["company"]["vat_id"], "DE123456789");
        assert_eq!(registered["contact"]["email"], "ada@acme.example");
        assert_eq!(events[3]["data"]["relationship_id"], done.relationship_id);

        let listed = app
            .outbox()
            .list_platform_deliveries(&operator(), PageRequest::default())
            .await
            .expect("listed");
        assert_eq!(listed.items.len(), 4);
        let first = serde_json::to_value(&listed.items[0]).expect("json");
        let retried = app
            .outbox()
            .retry_platform_delivery(&operator(), first["id"].as_str().expect("id"))
            .await
            .expect("retried");
        assert_eq!(
            serde_json::to_value(retried).expect("json")["attempts"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        let p = app
            .outbox()
            .list_platform_deliveries(&partner("p1"), PageRequest::default())
            .await
            .expect_err("operators only");
        assert_eq!(p.kind, ProblemKind::Forbidden);
    });
}
