//! The platform's organizations through the real components: ten thousand
//! imported in batches, one asked for by a partner and approved from its
//! admin's inbox, one linked at redemption, their records byte for byte as
//! they were; the platform's event feed, every event signed.

use std::collections::BTreeMap;

use e2e::{Harness, Options};
use serde_json::json;

/// The platform endpoint's secret in these tests.
const PLATFORM_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The harness with the platform's endpoint at `/platform` on its sink.
fn harness() -> Harness {
    Harness::start_with(Options {
        extra_variables: vec![
            ("platform_webhook_url".into(), "{sink}/platform".into()),
            ("platform_webhook_secret".into(), PLATFORM_SECRET.into()),
        ],
        ..Options::default()
    })
}

#[test]
fn ten_thousand_imported_organizations_are_asked_for_and_linked_with_their_records_untouched() {
    let h = harness();
    let operator = h.operator();
    let mut created = 0;
    for batch in 0..10 {
        let lines: Vec<String> = (0..1000)
            .map(|i| {
                let n = batch * 1000 + i;
                json!({
                    "id": format!("tenant-{n:05}"),
                    "name": format!("Tenant {n}"),
                    "country": "DE",
                    "admins": [{"email": format!("admin{n}@tenant.example"), "name": format!("Admin {n}")}],
                    "settings": {"plan": "team", "seats": n, "flags": {"beta": n % 2 == 0}},
                })
                .to_string()
            })
            .collect();
        let body = lines.join("\n");
        let auth = format!("Bearer {operator}");
        let reply = h.request(
            "POST",
            "/api/organizations/import",
            &[
                ("content-type", "application/x-ndjson"),
                ("accept", "application/json"),
                ("authorization", &auth),
            ],
            body.as_bytes(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        created += reply.json()["created"].as_u64().expect("count");
    }
    assert_eq!(created, 10_000);
    // Idempotent: the first batch again changes nothing.
    let again: Vec<serde_json::Value> = (0..1000)
        .map(|n| {
            json!({
                "id": format!("tenant-{n:05}"),
                "name": format!("Tenant {n}"),
                "country": "DE",
                "admins": [{"email": format!("admin{n}@tenant.example"), "name": format!("Admin {n}")}],
                "settings": {"plan": "team", "seats": n, "flags": {"beta": n % 2 == 0}},
            })
        })
        .collect();
    let reply = h.post("/api/organizations/import", Some(&operator), &json!(again));
    assert_eq!(reply.json()["unchanged"], 1000, "{}", reply.body);

    let records = |ids: &[&str]| -> BTreeMap<String, Vec<u8>> {
        let snapshot = h.snapshot();
        ids.iter()
            .map(|id| {
                let key = format!("o/{id}");
                (key.clone(), snapshot.get(&key).cloned().expect("stored"))
            })
            .collect()
    };
    let before = records(&["tenant-04711", "tenant-09999"]);

    // A partner asks for one; its admin sees it in the inbox and approves by bearer.
    h.setup_partner("p1", false);
    let asked = h.post(
        "/api/connections",
        Some(&h.partner("p1")),
        &json!({"organization_id": "tenant-04711", "connection": "msp"}),
    );
    assert_eq!(asked.status, 201, "{}", asked.body);
    let mails = h.received("/mail");
    let mail: serde_json::Value =
        serde_json::from_slice(&mails.last().expect("an approval email").body).expect("json");
    assert_eq!(
        mail["to"], "admin4711@tenant.example",
        "the first admin gets the link"
    );
    let admin = h.admin("tenant-04711");
    let inbox = h.get("/api/organization/requests", Some(&admin));
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    let item = &inbox.json()["items"][0];
    assert_eq!(item["partner_id"], "p1");
    assert_eq!(item["status"], "pending");
    let id = item["id"].as_str().expect("id");
    let approved = h.post(
        &format!("/api/connections/{id}/approve"),
        Some(&admin),
        &json!({}),
    );
    assert_eq!(approved.json()["status"], "approved", "{}", approved.body);

    // Another's admin links it at redemption.
    let invite = h.invite("p1", "admin9999@tenant.example");
    let linked = h.post(
        "/api/invites/redeem",
        Some(&h.admin("tenant-09999")),
        &json!({"token": invite["token"], "organization_id": "tenant-09999"}),
    );
    assert_eq!(linked.status, 201, "{}", linked.body);
    assert_eq!(linked.json()["existing_organization"], true);
    let customers = h.get("/api/customers", Some(&h.partner("p1"))).json();
    assert_eq!(customers["items"].as_array().map(Vec::len), Some(2));

    assert_eq!(
        records(&["tenant-04711", "tenant-09999"]),
        before,
        "the organizations' records and settings are unchanged"
    );
    let org = h
        .get("/api/organizations/tenant-09999", Some(&operator))
        .json();
    assert_eq!(org["settings"]["seats"], 9999);
    assert_eq!(org["source"], "platform");
}

#[test]
fn the_platform_receives_every_event_signed_and_the_registration_details() {
    let h = harness();
    h.setup_partner("p1", false);
    let invite = h.invite("p1", "ada@globex.example");
    let redeemed = h.post(
        "/api/invites/redeem",
        None,
        &json!({"token": invite["token"], "organization": {"company": {"address": {"postcode": "10115"}}}}),
    );
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    let events: Vec<serde_json::Value> = h
        .received("/platform")
        .iter()
        .map(|r| {
            let header = |name: &str| r.header(name).expect("header").to_string();
            let at: u64 = header("webhook-timestamp").parse().expect("timestamp");
            assert!(
                partner_invites::webhook::verify(
                    PLATFORM_SECRET,
                    &header("webhook-id"),
                    at,
                    &r.body,
                    &header("webhook-signature")
                ),
                "signed with the platform's secret"
            );
            serde_json::from_slice(&r.body).expect("json")
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
    let registered = &events[2]["data"];
    assert_eq!(
        registered["organization_id"],
        redeemed.json()["organization_id"]
    );
    assert_eq!(registered["company"]["name"], "Globex <GmbH>");
    assert_eq!(registered["company"]["address"]["postcode"], "10115");
    assert_eq!(registered["company"]["vat_id"], "DE123456789");
    assert_eq!(registered["contact"]["first_name"], "Ada");
    assert_eq!(registered["contact"]["email"], "ada@globex.example");
    let listed = h.get("/api/platform/deliveries", Some(&h.operator()));
    assert_eq!(listed.json()["items"].as_array().map(Vec::len), Some(4));
}

/// `settings` nested `depth` levels deep: `{"a":{"a":...{"a":1}}}`.
fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }))
}

#[test]
fn settings_nested_as_deep_as_json_parsing_allows_are_stored_and_read_back() {
    // Guards the components' stack (256 KiB, `.cargo/config.toml`): the
    // deepest document the parser takes is read, stored and read back; a
    // deeper one is a 400, not a trap.
    let h = harness();
    let operator = h.operator();
    let put = |id: &str, depth: usize| {
        let body = json!({
            "name": "Deep", "country": "DE",
            "admins": [{"email": "admin@deep.example", "name": "Admin"}],
            "settings": nested(depth),
        });
        h.send_json(
            "PUT",
            &format!("/api/organizations/{id}"),
            Some(&operator),
            &body,
        )
    };
    let created = put("deep", 125);
    assert_eq!(created.status, 201, "{}", created.body);
    let read = h.get("/api/organizations/deep", Some(&operator));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["settings"], nested(125));
    let refused = put("deeper", 200);
    assert_eq!(refused.status, 400, "{}", refused.body);
}
