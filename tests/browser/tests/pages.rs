//! The registration and approval pages in headless Chromium, served by the
//! real components in devhost. Screenshots of every page go to
//! `target/browser-screenshots/`.

use browser::{Driver, ENTER, SPACE, Session, TAB};
use e2e::Harness;
use partner_invites::token::{Claims, KeyRing, Purpose};
use serde_json::{Value, json};

/// Presses Tab until the field named `name` has the focus (at most `limit` times).
fn tab_to(s: &Session<'_>, name: &str, limit: usize) {
    for _ in 0..limit {
        s.keys(TAB).expect("Tab");
        if s.focused().expect("focus").0 == name {
            return;
        }
    }
    panic!("{name} never got the focus with Tab");
}

fn invite(h: &Harness) -> Value {
    h.setup_partner("p0", false);
    h.invite("p0", "ada@globex.example")
}

/// What the registration page must show for `invite_body`'s invite.
fn assert_registration_page(s: &Session<'_>) {
    let heading = s.wait_for_heading("invites you to connect").expect("page");
    assert!(heading.contains("Partner p0"), "{heading}");
    let text = s.page_text().expect("text");
    assert!(text.contains("Reseller with support"), "{text}");
    let grants: Vec<String> = s
        .find_all("ul.grants li")
        .expect("grants")
        .iter()
        .map(|li| s.text(li).expect("text"))
        .collect();
    assert_eq!(
        grants,
        [
            "First contact for the customer (support)",
            "Billing via partner"
        ]
    );
    for (field, expected) in [
        ("company_name", "Globex <GmbH>"),
        ("city", "Berlin"),
        ("country", "DE"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
    ] {
        let input = s.find(&format!("input[name={field}]")).expect(field);
        assert_eq!(s.value(&input).expect("value"), expected, "{field}");
        let id = s.attribute(&input, "id").expect("id").expect("an id");
        s.find(&format!("label[for={id}]"))
            .unwrap_or_else(|_| panic!("{field} has a label"));
    }
}

#[test]
fn registration_with_the_keyboard_only() {
    let h = Harness::start();
    let invite = invite(&h);
    let driver = Driver::start().expect("chromedriver");
    let s = driver.session(true).expect("session");
    assert!(
        s.scripts_run().expect("probe"),
        "the probe sees scripts where they are on"
    );
    s.open(&format!(
        "{}/invite/{}",
        h.base(),
        invite["token"].as_str().expect("token")
    ))
    .expect("open");
    assert_registration_page(&s);
    s.screenshot("registration").expect("screenshot");

    // Tab from the top of the page into the form, type, submit with Enter: no pointer.
    tab_to(&s, "postcode", 5);
    s.keys("10115").expect("type");
    tab_to(&s, "billing_phone", 8);
    s.keys("+4930123456").expect("type");
    s.keys(ENTER).expect("submit");
    let heading = s
        .wait_for_heading("You are connected")
        .expect("success page");
    assert_eq!(heading, "You are connected");
    assert!(s.page_text().expect("text").contains("Partner p0"));
    s.screenshot("registered").expect("screenshot");

    let id = invite["id"].as_str().expect("id");
    let got = h.get(&format!("/api/invites/{id}"), Some(&h.partner("p0")));
    assert_eq!(got.json()["status"], "accepted", "{}", got.body);
    let org = got.json()["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    let partners = h.get("/api/partners", Some(&h.admin(&org))).json();
    assert_eq!(partners["items"][0]["partner_id"], "p0");
}

#[test]
fn registration_without_javascript_and_the_dead_link_pages() {
    let h = Harness::start();
    let invite = invite(&h);
    let driver = Driver::start().expect("chromedriver");
    let s = driver.session(false).expect("session");
    assert!(
        !s.scripts_run().expect("probe"),
        "JavaScript is off in this session"
    );
    s.open(&format!(
        "{}/invite/{}",
        h.base(),
        invite["token"].as_str().expect("token")
    ))
    .expect("open");
    assert_registration_page(&s);
    s.screenshot("registration-no-js").expect("screenshot");
    let button = s.find("form button[type=submit]").expect("submit button");
    assert_eq!(s.text(&button).expect("text"), "Register and connect");
    s.click(&button).expect("submit");
    s.wait_for_heading("You are connected")
        .expect("success page");
    let id = invite["id"].as_str().expect("id");
    let got = h.get(&format!("/api/invites/{id}"), Some(&h.partner("p0")));
    assert_eq!(got.json()["status"], "accepted");

    // The used link now shows its own page.
    s.open(&format!(
        "{}/invite/{}",
        h.base(),
        invite["token"].as_str().expect("token")
    ))
    .expect("open");
    s.wait_for_heading("Already accepted").expect("used page");
    s.screenshot("used-link").expect("screenshot");

    // A revoked invite's link.
    let revoked = h.invite("p0", "bob@globex.example");
    let rid = revoked["id"].as_str().expect("id");
    let reply = h.post(
        &format!("/api/invites/{rid}/revoke"),
        Some(&h.partner("p0")),
        &json!({}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    s.open(&format!(
        "{}/invite/{}",
        h.base(),
        revoked["token"].as_str().expect("token")
    ))
    .expect("open");
    s.wait_for_heading("Link no longer valid")
        .expect("revoked page");
    assert!(
        s.page_text()
            .expect("text")
            .contains("ask the sender for a new link")
    );
    s.screenshot("revoked-link").expect("screenshot");

    // An expired link: the same invite's token, signed with an expiry in the past.
    let pending = h.invite("p0", "eve@globex.example");
    let now = partner_invites::clock::Clock::now(&partner_invites::clock::SystemClock);
    let expired = KeyRing::parse(e2e::RING)
        .expect("ring")
        .sign(&Claims {
            purpose: Purpose::Invite,
            record_id: pending["id"].as_str().expect("id").into(),
            partner_id: Some("p0".into()),
            organization_id: None,
            subject: None,
            role: None,
            issued_at: now - 3600,
            expires_at: now - 60,
            generation: u32::try_from(pending["generation"].as_u64().expect("generation"))
                .expect("small"),
        })
        .expect("sign");
    s.open(&format!("{}/invite/{expired}", h.base()))
        .expect("open");
    s.wait_for_heading("Link expired").expect("expired page");
    s.screenshot("expired-link").expect("screenshot");
}

#[test]
fn approval_page_with_the_keyboard() {
    let h = Harness::start();
    let invite = invite(&h);
    let done = h.post(
        "/api/invites/redeem",
        None,
        &json!({"token": invite["token"]}),
    );
    assert_eq!(done.status, 201, "{}", done.body);
    let org = done.json()["organization_id"]
        .as_str()
        .expect("org")
        .to_string();
    h.setup_partner("p1", false);
    let request = h.post(
        "/api/connections",
        Some(&h.partner("p1")),
        &json!({"organization_id": org, "connection": "msp"}),
    );
    assert_eq!(request.status, 201, "{}", request.body);
    let mail = h
        .received("/mail")
        .into_iter()
        .map(|m| serde_json::from_slice::<Value>(&m.body).expect("json"))
        .find(|m| m["text"].as_str().is_some_and(|t| t.contains("/connect/")))
        .expect("the approval email");
    let token = mail["text"]
        .as_str()
        .expect("text")
        .lines()
        .find_map(|l| l.split_once("/connect/").map(|(_, t)| t.trim().to_string()))
        .expect("link");

    let driver = Driver::start().expect("chromedriver");
    let s = driver.session(true).expect("session");
    s.open(&format!("{}/connect/{token}", h.base()))
        .expect("open");
    let heading = s
        .wait_for_heading("asks to connect")
        .expect("approval page");
    assert!(heading.contains("Partner p1"), "{heading}");
    let grants = s.find_all("ul.grants li").expect("grants");
    let granted = request.json()["capabilities"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(granted > 0);
    assert_eq!(
        grants.len(),
        granted,
        "one line per capability the MSP connection grants"
    );
    assert!(
        s.page_text()
            .expect("text")
            .contains("Managed service provider")
    );
    s.screenshot("approval").expect("screenshot");

    // Tab to the Approve button and press Space.
    s.keys(TAB).expect("Tab");
    let (_, tag) = s.focused().expect("focus");
    assert_eq!(tag, "button", "the first stop is the Approve button");
    let focused = s.find("button:focus").expect("focused button");
    assert_eq!(s.text(&focused).expect("text"), "Approve");
    s.keys(SPACE).expect("press");
    s.wait_for_heading("approved").expect("decided page");
    s.screenshot("approved").expect("screenshot");

    let id = request.json()["id"].as_str().expect("id").to_string();
    let list = h.get("/api/connections", Some(&h.partner("p1"))).json();
    let item = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .expect("the request");
    assert_eq!(item["status"], "approved");
}
