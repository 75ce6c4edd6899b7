//! Every error class as an RFC 9457 problem, and a store left untouched by
//! every rejected request (all keys and values compared before and after).

use e2e::{Harness, Options, invite_body};

#[test]
fn every_error_class_is_a_problem_and_writes_nothing() {
    let h = Harness::start();
    h.setup_partner("p1", false);
    let p1 = h.partner("p1");
    let auth = format!("Bearer {p1}");
    let invite = h.invite("p1", "ada@globex.example");
    let id = invite["id"].as_str().expect("id").to_string();
    let token = invite["token"].as_str().expect("token").to_string();

    let before = h.snapshot();
    let check = |reply: e2e::Reply, status: u16, what: &str| {
        reply.problem(status);
        h.assert_unchanged(&before, what);
    };

    // 400: malformed JSON, wrong types, bad query values.
    let json = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    check(
        h.request("POST", "/api/invites/generate", &json, b"{not json"),
        400,
        "malformed JSON",
    );
    check(
        h.request(
            "POST",
            "/api/invites/generate",
            &json,
            br#"{"ttl_days":"seven"}"#,
        ),
        400,
        "wrong type",
    );
    check(
        h.request("POST", "/api/invites/generate", &json, br#"{"unknown":1}"#),
        400,
        "unknown field",
    );
    check(h.get("/api/invites?limit=0", Some(&p1)), 400, "bad limit");
    check(
        h.get("/api/invites?status=lost", Some(&p1)),
        400,
        "bad status",
    );
    check(
        h.get("/api/invites?cursor=abc", Some(&p1)),
        400,
        "bad cursor",
    );

    // 401: no token, a garbled token, a token of another purpose.
    check(
        h.post("/api/invites/generate", None, &invite_body("x@y.example")),
        401,
        "no bearer",
    );
    check(
        h.post(
            "/api/invites/generate",
            Some("pi1.e2e.x.y"),
            &invite_body("x@y.example"),
        ),
        401,
        "garbled bearer",
    );
    check(
        h.post(
            "/api/invites/generate",
            Some(&token),
            &invite_body("x@y.example"),
        ),
        401,
        "invite token as bearer",
    );

    // 403: the wrong role.
    check(
        h.post(
            "/api/invites/generate",
            Some(&h.admin("org_x")),
            &invite_body("x@y.example"),
        ),
        403,
        "admin creating invites",
    );
    check(
        h.get("/api/partners", Some(&p1)),
        403,
        "partner listing an organization's partners",
    );
    check(
        h.get("/api/outbox", Some(&p1)),
        403,
        "partner reading the outbox",
    );

    // 404: unknown ids, tampered links, unknown paths.
    check(
        h.get("/api/invites/inv_999_0123456789abcdef", Some(&p1)),
        404,
        "unknown invite",
    );
    check(
        h.get("/api/invites/nonsense", Some(&p1)),
        404,
        "malformed id",
    );
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() - 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    check(
        h.get(&format!("/invite/{tampered}"), None),
        404,
        "tampered link",
    );
    let foreign =
        partner_invites::token::KeyRing::parse("e2e:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8")
            .expect("ring")
            .sign(&partner_invites::token::Claims {
                purpose: partner_invites::token::Purpose::Invite,
                record_id: id.clone(),
                partner_id: Some("p1".into()),
                organization_id: None,
                subject: None,
                role: None,
                issued_at: 0,
                expires_at: u64::MAX,
                generation: 0,
            })
            .expect("sign");
    check(
        h.post(
            "/api/invites/redeem",
            None,
            &serde_json::json!({"token": foreign}),
        ),
        404,
        "foreign token",
    );
    check(h.get("/api/nothing-here", Some(&p1)), 404, "unknown path");

    // 405 with Allow.
    let reply = h.request("DELETE", "/api/invites/generate", &json, b"");
    assert_eq!(reply.header("allow"), Some("POST"));
    check(reply, 405, "wrong method");

    // 409: revoking twice is covered elsewhere; an accepted invite cannot be revoked.
    let other = h.invite("p1", "bob@globex.example");
    let other_token = other["token"].as_str().expect("token");
    assert_eq!(
        h.post(
            "/api/invites/redeem",
            None,
            &serde_json::json!({"token": other_token})
        )
        .status,
        201
    );
    let before_conflict = h.snapshot();
    h.post(
        &format!("/api/invites/{}/revoke", other["id"].as_str().expect("id")),
        Some(&p1),
        &serde_json::json!({}),
    )
    .problem(409);
    h.assert_unchanged(&before_conflict, "the request");
    let before = h.snapshot();

    // 413: a body over 64 KiB.
    let big = format!("{{\"partner_reference\":\"{}\"}}", "x".repeat(70 * 1024));
    let reply = h.request("POST", "/api/invites/generate", &json, big.as_bytes());
    reply.problem(413);
    h.assert_unchanged(&before, "the request");

    // 415: not JSON.
    let text = [
        ("content-type", "text/plain"),
        ("authorization", auth.as_str()),
    ];
    let reply = h.request("POST", "/api/invites/generate", &text, b"hello");
    reply.problem(415);
    h.assert_unchanged(&before, "the request");

    // 422: every invalid field at once.
    let bad = serde_json::json!({
        "connection": "boss",
        "customer": {"company": {"address": {"country": "XX"}, "vat_id": "DE1"}, "contact": {"email": "nope"}, "billing": {"phone": "123"}},
        "ttl_days": 90
    });
    let reply = h.post("/api/invites/generate", Some(&p1), &bad);
    let problem = reply.problem(422);
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    for p in [
        "/connection",
        "/customer/company/name",
        "/customer/company/address/country",
        "/customer/company/vat_id",
        "/customer/contact/first_name",
        "/customer/contact/last_name",
        "/customer/contact/email",
        "/customer/billing/phone",
        "/ttl_days",
    ] {
        assert!(pointers.contains(&p), "{p} missing from {pointers:?}");
    }
    h.assert_unchanged(&before, "the request");
}

#[test]
fn expired_links_answer_410() {
    // An invite token signed with the app's ring but already past its expiry.
    let h = Harness::start();
    h.setup_partner("p1", false);
    let invite = h.invite("p1", "ada@globex.example");
    let keys = partner_invites::token::KeyRing::parse(e2e::RING).expect("ring");
    let expired = keys
        .sign(&partner_invites::token::Claims {
            purpose: partner_invites::token::Purpose::Invite,
            record_id: invite["id"].as_str().expect("id").into(),
            partner_id: Some("p1".into()),
            organization_id: None,
            subject: None,
            role: None,
            issued_at: 1,
            expires_at: 2,
            generation: 0,
        })
        .expect("sign");
    let before = h.snapshot();
    h.get(&format!("/invite/{expired}"), None).problem(410);
    let page = h.request(
        "GET",
        &format!("/invite/{expired}"),
        &[("accept", "text/html")],
        b"",
    );
    assert_eq!(page.status, 410);
    assert!(page.body.contains("expired"));
    h.post(
        "/api/invites/redeem",
        None,
        &serde_json::json!({"token": expired}),
    )
    .problem(410);
    h.assert_unchanged(&before, "the request");
}

#[test]
fn every_unknown_path_is_a_problem_404() {
    let h = Harness::start();
    for path in [
        "/",
        "/nothing",
        "/api",
        "/api/nothing-here",
        "/api/invites/inv_1_0123456789abcdef/history",
        "/invite",
        "/connect/a/b",
    ] {
        for method in ["GET", "POST"] {
            let reply = h.request(method, path, &[("accept", "application/json")], b"");
            let p = reply.problem(404);
            assert_eq!(
                p["type"], "urn:partner-invites:problem:not-found",
                "{method} {path}"
            );
        }
    }
    // Exact routes keep their precedence over the catch-alls.
    assert_eq!(h.get("/api/capabilities", None).status, 200);
    h.request("DELETE", "/api/capabilities", &[], b"")
        .problem(405);
}

#[test]
fn public_routes_answer_even_when_the_signing_keys_are_missing() {
    let h = Harness::start_with(Options {
        signing_keys: Some(String::new()),
        ..Options::default()
    });
    assert_eq!(h.get("/api/capabilities", None).status, 200);
    assert_eq!(h.get("/api/openapi.json", None).status, 200);
    h.get("/nothing", None).problem(404);
    h.request("PUT", "/api/invites/generate", &[], b"")
        .problem(405);
    // What needs the keys says the service is misconfigured.
    let p = h.get("/api/invites", Some("x")).problem(500);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("misconfigured")),
        "{p}"
    );
}
