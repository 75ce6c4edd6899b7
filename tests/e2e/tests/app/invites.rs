//! The invite journey through the real components: generate, open the
//! registration page, redeem, list; resend and revoke; email and webhooks.

use e2e::{Harness, Options, PUBLIC_BASE, invite_body};
use partner_invites::webhook;

#[test]
fn invite_journey_end_to_end() {
    let h = Harness::start();
    let secret = h
        .setup_partner("p1", true)
        .expect("webhook secret shown once");
    let p1 = h.partner("p1");

    // Generate: 201 with link and token; the email goes to the relay.
    let invite = h.invite("p1", "ada@globex.example");
    assert_eq!(invite["status"], "pending");
    assert_eq!(
        invite["capabilities"],
        serde_json::json!(["first_contact", "billing_via_partner"])
    );
    assert_eq!(invite["customer"]["billing"]["email"], "billing@p1.example");
    let token = invite["token"].as_str().expect("token").to_string();
    assert_eq!(invite["link"], format!("{PUBLIC_BASE}/invite/{token}"));
    let mails = h.received("/mail");
    assert_eq!(mails.len(), 1);
    let mail: serde_json::Value = serde_json::from_slice(&mails[0].body).expect("mail json");
    assert_eq!(mail["to"], "ada@globex.example");
    assert!(
        mail["subject"]
            .as_str()
            .is_some_and(|s| s.contains("Partner p1"))
    );
    assert!(
        mail["text"]
            .as_str()
            .is_some_and(|t| t.contains(&token) && t.contains("Ada Lovelace"))
    );

    // The registration page: HTML with the partner, the connection, the matrix column, escaped values, security headers.
    let page = h.request(
        "GET",
        &format!("/invite/{token}"),
        &[("accept", "text/html")],
        b"",
    );
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for expected in [
        "Partner p1",
        "Reseller with support",
        "First contact for the customer",
        "Billing via partner",
        "ada@globex.example",
        "Globex &lt;GmbH&gt;",
    ] {
        assert!(page.body.contains(expected), "page lacks {expected}");
    }
    assert!(
        !page.body.contains("Globex <GmbH>"),
        "user input is escaped"
    );
    assert!(
        !page.body.contains("Multi-tenancy"),
        "only the granted column is shown"
    );

    // The same as JSON.
    let preview = h.get(&format!("/invite/{token}"), None);
    assert_eq!(preview.status, 200);
    assert_eq!(preview.json()["partner_name"], "Partner p1");
    assert_eq!(
        preview.json()["customer"]["contact"]["email"],
        "ada@globex.example"
    );

    // A form with an invalid field comes back as the page again (422), with
    // what was typed and the field marked; nothing is stored.
    let before = h.snapshot();
    let rejected = h.request(
        "POST",
        "/api/invites/redeem",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        format!(
            "token={token}&company_name=Globex+AG&country=Germany&first_name=Ada&last_name=Lovelace"
        )
        .as_bytes(),
    );
    assert_eq!(rejected.status, 422, "{}", rejected.body);
    assert_eq!(
        rejected.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for expected in [
        "<title>Error: Partner p1 invites you</title>",
        "<a href=\"#country\">Country: Must be an ISO 3166-1",
        "value=\"Germany\" autocomplete=\"country\" aria-invalid=\"true\" aria-describedby=\"country-error\" autofocus>",
        "value=\"Globex AG\"",
        "<form method=\"post\" action=\"/api/invites/redeem\">",
    ] {
        assert!(
            rejected.body.contains(expected),
            "the page again lacks {expected}: {}",
            rejected.body
        );
    }
    assert_eq!(h.snapshot(), before, "a rejected form writes nothing");

    // Redeem through the page's form.
    let form = format!(
        "token={token}&company_name=Globex+AG&city=Hamburg&first_name=Ada&last_name=Lovelace"
    );
    let done = h.request(
        "POST",
        "/api/invites/redeem",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        form.as_bytes(),
    );
    assert_eq!(done.status, 201, "{}", done.body);
    assert!(done.body.contains("You are connected"));

    // The invite is accepted, with who and when; the partner has a customer.
    let id = invite["id"].as_str().expect("id");
    let accepted = h.get(&format!("/api/invites/{id}"), Some(&p1)).json();
    assert_eq!(accepted["status"], "accepted");
    let history = accepted["history"].as_array().expect("history");
    assert_eq!(history.last().expect("event")["action"], "accepted");
    assert_eq!(
        history.last().expect("event")["by"]["email"],
        "ada@globex.example"
    );
    let customers = h.get("/api/customers", Some(&p1)).json();
    assert_eq!(customers["items"][0]["name"], "Globex AG");
    assert_eq!(customers["items"][0]["connection"], "reseller_with_support");
    assert_eq!(customers["items"][0]["first_contact"], "partner");
    assert_eq!(customers["items"][0]["via"]["id"], id);
    let org = customers["items"][0]["organization_id"]
        .as_str()
        .expect("org");
    let partners = h.get("/api/partners", Some(&h.admin(org))).json();
    assert_eq!(partners["items"][0]["name"], "Partner p1");

    // The link is used up.
    h.get(&format!("/invite/{token}"), None).problem(409);

    // Webhooks: invite.created and invite.accepted, each signed with the endpoint's secret.
    let hooks = h.received("/hooks/p1");
    let types: Vec<String> = hooks
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("json")["type"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(types, ["invite.created", "invite.accepted"]);
    for hook in &hooks {
        let id = hook.header("webhook-id").expect("id");
        let ts: u64 = hook
            .header("webhook-timestamp")
            .expect("ts")
            .parse()
            .expect("number");
        let sig = hook.header("webhook-signature").expect("signature");
        assert!(
            webhook::verify(&secret, id, ts, &hook.body, sig),
            "signature of {id} verifies"
        );
    }
    let deliveries = h.get("/api/webhooks/deliveries", Some(&p1)).json();
    assert_eq!(deliveries["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(deliveries["items"][0]["delivered"], true);

    // A retry sends the newest delivery again and records a second attempt.
    let newest = deliveries["items"][0]["id"].as_str().expect("delivery id");
    let retried = h.post(
        &format!("/api/webhooks/deliveries/{newest}/retry"),
        Some(&p1),
        &serde_json::json!({}),
    );
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.json()["attempts"].as_array().map(Vec::len), Some(2));
    assert_eq!(h.received("/hooks/p1").len(), 3);

    // The profile reads back without its secret.
    let profile = h.get("/api/partner", Some(&p1));
    assert_eq!(profile.status, 200);
    assert_eq!(profile.json()["display_name"], "Partner p1");
    assert!(
        profile.json().get("webhook_secret").is_none(),
        "the secret is shown once only"
    );
}

#[test]
fn resend_and_revoke_kill_links() {
    let h = Harness::start();
    h.setup_partner("p1", true);
    let p1 = h.partner("p1");
    let invite = h.invite("p1", "bob@initech.example");
    let id = invite["id"].as_str().expect("id");
    let first = invite["token"].as_str().expect("token");

    let resent = h.post(
        &format!("/api/invites/{id}/resend"),
        Some(&p1),
        &serde_json::json!({}),
    );
    assert_eq!(resent.status, 200, "{}", resent.body);
    let second = resent.json()["token"].as_str().expect("token").to_string();
    assert_ne!(first, second);
    h.get(&format!("/invite/{first}"), None).problem(410);
    let gone_page = h.request(
        "GET",
        &format!("/invite/{first}"),
        &[("accept", "text/html")],
        b"",
    );
    assert_eq!(gone_page.status, 410);
    assert!(gone_page.body.contains("replaced by a newer one"));
    assert_eq!(h.get(&format!("/invite/{second}"), None).status, 200);
    assert_eq!(
        h.received("/mail").len(),
        2,
        "the resend mails the new link"
    );

    let revoked = h.post(
        &format!("/api/invites/{id}/revoke"),
        Some(&p1),
        &serde_json::json!({}),
    );
    assert_eq!(revoked.json()["status"], "revoked");
    h.get(&format!("/invite/{second}"), None).problem(410);
    let before = h.snapshot();
    h.post(
        &format!("/api/invites/{id}/revoke"),
        Some(&p1),
        &serde_json::json!({}),
    )
    .problem(409);
    h.post(
        "/api/invites/redeem",
        None,
        &serde_json::json!({"token": second}),
    )
    .problem(410);
    h.assert_unchanged(&before, "refused requests write nothing");
    let types: Vec<String> = h
        .received("/hooks/p1")
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("json")["type"]
                .as_str()
                .unwrap_or("")
                .into()
        })
        .collect();
    assert_eq!(types, ["invite.created", "invite.revoked"]);

    let list = h.get("/api/invites?status=revoked", Some(&p1)).json();
    assert_eq!(list["items"][0]["id"], id);
    assert!(
        h.get("/api/invites?status=pending", Some(&p1)).json()["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

#[test]
fn idempotency_key_replays_and_lists_page() {
    let h = Harness::start();
    h.setup_partner("p1", false);
    let p1 = h.partner("p1");
    let auth = format!("Bearer {p1}");
    let body = invite_body("ada@globex.example").to_string();
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
        ("idempotency-key", "crm-1"),
    ];
    let first = h.request("POST", "/api/invites/generate", &headers, body.as_bytes());
    let again = h.request("POST", "/api/invites/generate", &headers, body.as_bytes());
    assert_eq!(first.status, 201);
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(first.json()["token"], again.json()["token"]);
    let other = invite_body("bob@globex.example").to_string();
    h.request("POST", "/api/invites/generate", &headers, other.as_bytes())
        .problem(409);

    for i in 0..4 {
        h.invite("p1", &format!("c{i}@globex.example"));
    }
    let page = h.get("/api/invites?limit=2", Some(&p1)).json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest = h
        .get(&format!("/api/invites?limit=10&cursor={cursor}"), Some(&p1))
        .json();
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(3));
    assert!(rest.get("next_cursor").is_none());
}

#[test]
fn without_a_relay_emails_land_in_the_outbox() {
    let h = Harness::start_with(Options {
        no_relay: true,
        ..Options::default()
    });
    h.setup_partner("p1", false);
    let invite = h.invite("p1", "ada@globex.example");
    assert_eq!(invite["email"]["status"], "recorded");
    assert!(h.received("/mail").is_empty());
    let outbox = h.get("/api/outbox", Some(&h.operator()));
    assert_eq!(outbox.status, 200);
    let mail = &outbox.json()["items"][0];
    assert_eq!(mail["to"], "ada@globex.example");
    assert!(
        mail["text"]
            .as_str()
            .is_some_and(|t| t.contains(invite["link"].as_str().expect("link")))
    );
    h.get("/api/outbox", Some(&h.partner("p1"))).problem(403);
}

#[test]
fn relay_failures_are_recorded() {
    let h = Harness::start();
    h.setup_partner("p1", false);
    h.sink.set_status(503);
    let invite = h.invite("p1", "ada@globex.example");
    assert_eq!(invite["email"]["status"], "failed");
    let outbox = h.get("/api/outbox", Some(&h.operator())).json();
    assert_eq!(outbox["items"][0]["status"], "failed");
}

#[test]
fn the_capability_matrix_is_public() {
    let h = Harness::start();
    let m = h.get("/api/capabilities", None);
    assert_eq!(m.status, 200);
    let columns = m.json()["connection_types"]
        .as_array()
        .cloned()
        .expect("columns");
    assert_eq!(columns.len(), 3);
    assert_eq!(columns[0]["capabilities"].as_array().map(Vec::len), Some(6));
    assert_eq!(columns[2]["first_contact"], "vendor");
}
