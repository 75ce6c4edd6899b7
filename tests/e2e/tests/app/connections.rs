//! Connecting an existing organization: request, approval link to the admin,
//! approval page, approve or decline, withdraw.

use e2e::Harness;

fn approval_token(h: &Harness, admin_email: &str) -> String {
    let mails = h.received("/mail");
    let mail = mails
        .iter()
        .rev()
        .map(|m| serde_json::from_slice::<serde_json::Value>(&m.body).expect("json"))
        .find(|m| {
            m["to"] == admin_email && m["text"].as_str().is_some_and(|t| t.contains("/connect/"))
        })
        .expect("approval email to the admin");
    let text = mail["text"].as_str().expect("text");
    let line = text
        .lines()
        .find(|l| l.contains("/connect/"))
        .expect("link");
    line.rsplit('/').next().expect("token").trim().to_string()
}

#[test]
fn request_and_approve_through_the_page() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    let secret = h.setup_partner("p1", true).expect("secret");
    let p1 = h.partner("p1");
    let org = h.register("p0", "admin@org.example");
    let org_before = h.snapshot().get(&format!("o/{org}")).cloned();

    let body = serde_json::json!({"organization_id": org, "connection": "msp"});
    let request = h.post("/api/connections", Some(&p1), &body);
    assert_eq!(request.status, 201, "{}", request.body);
    let id = request.json()["id"].as_str().expect("id").to_string();
    assert_eq!(request.json()["status"], "pending");
    let before = h.snapshot();
    h.post("/api/connections", Some(&p1), &body).problem(409);
    h.assert_unchanged(&before, "the duplicate wrote nothing");

    let token = approval_token(&h, "admin@org.example");
    let page = h.request(
        "GET",
        &format!("/connect/{token}"),
        &[("accept", "text/html")],
        b"",
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Partner p1 asks to connect"));
    assert!(
        page.body
            .contains("Manage the portal on behalf of the customer")
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));

    let form = format!("token={token}");
    let approved = h.request(
        "POST",
        &format!("/api/connections/{id}/approve"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        form.as_bytes(),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert!(approved.body.contains("approved"));
    assert_eq!(
        h.snapshot().get(&format!("o/{org}")).cloned(),
        org_before,
        "the organization's settings are untouched"
    );

    let customers = h.get("/api/customers", Some(&p1)).json();
    assert_eq!(customers["items"][0]["organization_id"], org);
    assert_eq!(customers["items"][0]["connection"], "msp");
    assert_eq!(customers["items"][0]["via"]["kind"], "connection_request");
    let partners = h.get("/api/partners", Some(&h.admin(&org))).json();
    assert_eq!(partners["items"].as_array().map(Vec::len), Some(2));

    let types: Vec<String> = h
        .received("/hooks/p1")
        .iter()
        .map(|r| {
            let id = r.header("webhook-id").expect("id");
            let ts: u64 = r
                .header("webhook-timestamp")
                .expect("ts")
                .parse()
                .expect("ts");
            assert!(partner_invites::webhook::verify(
                &secret,
                id,
                ts,
                &r.body,
                r.header("webhook-signature").expect("sig")
            ));
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("json")["type"]
                .as_str()
                .unwrap_or("")
                .into()
        })
        .collect();
    assert_eq!(types, ["connection.requested", "connection.approved"]);
    h.post("/api/connections", Some(&p1), &body).problem(409);
}

#[test]
fn decline_by_bearer_and_withdraw() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", true);
    let p1 = h.partner("p1");
    let org = h.register("p0", "admin@org.example");
    let body =
        serde_json::json!({"organization_id": org, "connection": "reseller_without_support"});
    let id = h.post("/api/connections", Some(&p1), &body).json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.post(
        &format!("/api/connections/{id}/decline"),
        None,
        &serde_json::json!({}),
    )
    .problem(401);
    let declined = h.post(
        &format!("/api/connections/{id}/decline"),
        Some(&h.admin(&org)),
        &serde_json::json!({}),
    );
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.json()["status"], "declined");
    let token = approval_token(&h, "admin@org.example");
    h.get(&format!("/connect/{token}"), None).problem(409);

    let again = h.post("/api/connections", Some(&p1), &body);
    assert_eq!(
        again.status, 201,
        "a new request after a decline: {}",
        again.body
    );
    let again_id = again.json()["id"].as_str().expect("id").to_string();
    let withdrawn = h.post(
        &format!("/api/connections/{again_id}/withdraw"),
        Some(&p1),
        &serde_json::json!({}),
    );
    assert_eq!(withdrawn.json()["status"], "withdrawn");
    let token = approval_token(&h, "admin@org.example");
    h.get(&format!("/connect/{token}"), None).problem(410);
    let list = h.get("/api/connections", Some(&p1)).json();
    let statuses: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["withdrawn", "declined"]);
    h.post(
        "/api/connections",
        Some(&p1),
        &serde_json::json!({"organization_id": "org_nope", "connection": "msp"}),
    )
    .problem(404);
}

#[test]
fn linking_an_existing_organization_with_its_admin_token() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", false);
    let org = h.register("p0", "admin@org.example");
    let org_before = h.snapshot().get(&format!("o/{org}")).cloned();
    let invite = h.invite("p1", "admin@org.example");
    let body = serde_json::json!({"token": invite["token"], "organization_id": org});
    h.post("/api/invites/redeem", None, &body).problem(401);
    h.post("/api/invites/redeem", Some(&h.admin("org_other")), &body)
        .problem(403);
    let linked = h.post("/api/invites/redeem", Some(&h.admin(&org)), &body);
    assert_eq!(linked.status, 201, "{}", linked.body);
    assert_eq!(linked.json()["existing_organization"], true);
    assert_eq!(
        h.snapshot().get(&format!("o/{org}")).cloned(),
        org_before,
        "settings kept"
    );
}
