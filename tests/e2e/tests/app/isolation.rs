//! Two partners: every route probed with the other partner's ids answers 404.

use e2e::Harness;

#[test]
fn another_partners_ids_are_not_found_on_every_route() {
    let h = Harness::start();
    h.setup_partner("p1", true);
    h.setup_partner("p2", true);
    let p2 = h.partner("p2");

    // p1's records: an invite, an accepted invite's organization, a connection request, a delivery.
    let invite = h.invite("p1", "ada@globex.example");
    let invite_id = invite["id"].as_str().expect("id").to_string();
    let other = h.invite("p1", "bob@globex.example");
    let redeemed = h.post(
        "/api/invites/redeem",
        None,
        &serde_json::json!({"token": other["token"]}),
    );
    let org = redeemed.json()["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    let org2 = {
        let i = h.invite("p1", "carol@globex.example");
        h.post(
            "/api/invites/redeem",
            None,
            &serde_json::json!({"token": i["token"]}),
        )
        .json()["organization_id"]
            .as_str()
            .expect("org")
            .to_string()
    };
    let request = h.post(
        "/api/connections",
        Some(&h.partner("p3")),
        &serde_json::json!({"organization_id": org2, "connection": "msp"}),
    );
    assert_eq!(request.status, 201, "{}", request.body);
    let p1_request = h.post(
        "/api/connections",
        Some(&h.partner("p1")),
        &serde_json::json!({"organization_id": org, "connection": "msp"}),
    );
    assert_eq!(
        p1_request.status, 409,
        "already connected through the invite"
    );
    let request_id = request.json()["id"].as_str().expect("id").to_string();
    let delivery = h
        .get("/api/webhooks/deliveries", Some(&h.partner("p1")))
        .json()["items"][0]["id"]
        .as_str()
        .expect("delivery")
        .to_string();

    let before = h.snapshot();
    let empty = serde_json::json!({});
    h.get(&format!("/api/invites/{invite_id}"), Some(&p2))
        .problem(404);
    h.post(
        &format!("/api/invites/{invite_id}/resend"),
        Some(&p2),
        &empty,
    )
    .problem(404);
    h.post(
        &format!("/api/invites/{invite_id}/revoke"),
        Some(&p2),
        &empty,
    )
    .problem(404);
    h.post(
        &format!("/api/connections/{request_id}/withdraw"),
        Some(&p2),
        &empty,
    )
    .problem(404);
    h.post(
        &format!("/api/webhooks/deliveries/{delivery}/retry"),
        Some(&p2),
        &empty,
    )
    .problem(404);
    // An organization admin cannot decide another organization's request either.
    h.post(
        &format!("/api/connections/{request_id}/approve"),
        Some(&h.admin(&org)),
        &empty,
    )
    .problem(404);
    h.post(
        &format!("/api/connections/{request_id}/decline"),
        Some(&h.admin(&org)),
        &empty,
    )
    .problem(404);
    // Lists show nothing of p1's.
    for path in [
        "/api/invites",
        "/api/customers",
        "/api/connections",
        "/api/webhooks/deliveries",
    ] {
        let list = h.get(path, Some(&p2));
        assert_eq!(list.status, 200, "{path}");
        assert!(
            list.json()["items"].as_array().is_some_and(Vec::is_empty),
            "{path} leaks: {}",
            list.body
        );
    }
    h.assert_unchanged(&before, "probing wrote nothing");
    // p2's hooks received nothing of p1's events.
    assert!(h.received("/hooks/p2").is_empty());
}
