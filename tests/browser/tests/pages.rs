//! The two pages people see, in headless Chromium: the registration page an
//! invite link opens and the approval page a connection request's email links
//! to. The app is the real components served by devhost (`e2e::Harness`).
//! Every page is saved as `target/browser-screenshots/<name>.png`.

use browser::{Browser, JavaScript, Key};
use e2e::{Harness, PUBLIC_BASE};
use partner_invites::clock::{Clock, SystemClock};
use partner_invites::token::{Claims, KeyRing, Purpose};
use serde_json::{Value, json};

/// The registration form's fields in page order: name, the label a screen
/// reader announces, and where the invite holds the prefilled value.
const FIELDS: [(&str, &str, &str); 10] = [
    ("company_name", "Company name (required)", "/company/name"),
    ("street", "Street", "/company/address/street"),
    (
        "house_number",
        "House number",
        "/company/address/house_number",
    ),
    ("postcode", "Postcode", "/company/address/postcode"),
    ("city", "City", "/company/address/city"),
    (
        "country",
        "Country (two letters, e.g. DE)",
        "/company/address/country",
    ),
    ("vat_id", "VAT ID", "/company/vat_id"),
    ("first_name", "First name (required)", "/contact/first_name"),
    ("last_name", "Last name (required)", "/contact/last_name"),
    (
        "billing_phone",
        "Billing phone (e.g. +4930123456)",
        "/billing/phone",
    ),
];
const REQUIRED: [&str; 3] = ["company_name", "first_name", "last_name"];
const SUBMIT: &str = "Register and connect";

fn start(javascript: JavaScript) -> Browser {
    Browser::start(javascript).unwrap_or_else(|e| panic!("a headless Chromium session: {e:#}"))
}

/// A link as emailed or returned by the API (on the public origin), pointed
/// at the app under test instead.
fn local(h: &Harness, link: &str) -> String {
    let path = link
        .strip_prefix(PUBLIC_BASE)
        .unwrap_or_else(|| panic!("{link} is on the public origin {PUBLIC_BASE}"));
    format!("{}{path}", h.base())
}

/// The link of a generated, resent or revoked invite, on the app under test.
fn invite_link(h: &Harness, invite: &Value) -> String {
    local(h, invite["link"].as_str().expect("the invite has a link"))
}

/// What the public capability matrix says `connection` is called and grants.
fn column(h: &Harness, connection: &str) -> (String, Vec<String>) {
    let matrix = h.get("/api/capabilities", None).json();
    let labels = matrix["capabilities"]
        .as_array()
        .expect("the matrix lists capabilities");
    let label_of = |id: &Value| -> String {
        labels
            .iter()
            .find(|c| &c["capability"] == id)
            .and_then(|c| c["label"].as_str())
            .unwrap_or_else(|| panic!("capability {id} has a label"))
            .to_string()
    };
    let kind = matrix["connection_types"]
        .as_array()
        .expect("the matrix lists connection types")
        .iter()
        .find(|t| t["connection"] == connection)
        .unwrap_or_else(|| panic!("{connection} is in the matrix"));
    let grants = kind["capabilities"]
        .as_array()
        .expect("capabilities")
        .iter()
        .map(label_of)
        .collect();
    (kind["label"].as_str().expect("a label").to_string(), grants)
}

fn screenshot(b: &Browser, name: &str) {
    let path = b
        .screenshot(name)
        .unwrap_or_else(|e| panic!("screenshot {name}: {e:#}"));
    assert!(path.is_file(), "{} was written", path.display());
}

/// The registration page of `invite` (from partner p0, with `e2e::invite_body`):
/// who invites, as what, what it grants, the invited details prefilled and
/// labelled, the email shown, one submit button.
fn assert_registration_page(b: &Browser, h: &Harness, invite: &Value) {
    let heading = b
        .wait_for_heading("invites you to connect")
        .expect("the registration page");
    assert_eq!(heading, "Partner p0 invites you to connect");
    assert_eq!(b.title().expect("title"), "Partner p0 invites you");
    let (connection, grants) = column(h, "reseller_with_support");
    let text = b.page_text().expect("page text");
    assert!(
        text.contains(&format!(
            "Partner p0 will be connected to your organization as {connection}"
        )),
        "the page names the connection type {connection:?}:\n{text}"
    );
    assert_eq!(
        b.texts("ul.grants li").expect("capability list"),
        grants,
        "one line per capability of {connection}, as the matrix has them"
    );
    assert!(
        text.contains("Your first contact for support will be Partner p0"),
        "the page says who the first contact is:\n{text}"
    );

    let customer = &invite["customer"];
    for (name, label, pointer) in FIELDS {
        let field = b
            .wait_for(&format!("form input[name={name}]"))
            .unwrap_or_else(|e| panic!("field {name}: {e:#}"));
        let expected = customer.pointer(pointer).and_then(Value::as_str);
        assert_eq!(
            b.value(&field).expect("value"),
            expected.unwrap_or(""),
            "{name} shows the invited {pointer}"
        );
        assert_eq!(
            b.accessible_name(&field).expect("accessible name"),
            label,
            "{name} is announced by its label"
        );
        assert_eq!(
            b.attr(&field, "required").expect("attribute").is_some(),
            REQUIRED.contains(&name),
            "{name} is required exactly when its label says so"
        );
    }
    let email = b.wait_for("#contact-email").expect("the contact email");
    assert_eq!(
        b.text(&email).expect("text"),
        customer["contact"]["email"].as_str().expect("email"),
        "the invited email is shown (it is not editable)"
    );
    let buttons = b.find_all("form button").expect("buttons");
    assert_eq!(buttons.len(), 1, "one button: submit");
    assert_eq!(b.role(&buttons[0]).expect("role"), "button");
    assert_eq!(b.accessible_name(&buttons[0]).expect("name"), SUBMIT);
}

/// The invite as the partner's API shows it.
fn invite_from_api(h: &Harness, invite: &Value) -> Value {
    let id = invite["id"].as_str().expect("invite id");
    let reply = h.get(&format!("/api/invites/{id}"), Some(&h.partner("p0")));
    assert_eq!(reply.status, 200, "GET /api/invites/{id}: {}", reply.body);
    reply.json()
}

/// The organization record the registration wrote.
fn stored_organization(h: &Harness, id: &str) -> Value {
    let bytes = h
        .snapshot()
        .remove(&format!("o/{id}"))
        .unwrap_or_else(|| panic!("organization {id} is stored"));
    serde_json::from_slice(&bytes).expect("the organization record is JSON")
}

#[test]
fn registration_page_shows_the_invite_and_registers_with_the_keyboard_only() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    let invite = h.invite("p0", "ada@globex.example");
    let b = start(JavaScript::On);
    assert!(
        b.page_scripts_run().expect("script probe"),
        "the probe sees scripts run where they are on (else the JavaScript-off test proves nothing)"
    );

    b.goto(&invite_link(&h, &invite))
        .expect("open the invite link");
    assert_registration_page(&b, &h, &invite);
    screenshot(&b, "registration");

    // Keyboard only from here: nothing is clicked, no element is targeted.
    // The first Tab from the top of the page reaches the first field, and
    // each Tab the next field in reading order, then the button.
    assert_eq!(
        b.focused_description().expect("focus"),
        "body",
        "nothing has the focus yet"
    );
    let typed = [
        ("company_name", "Globex Berlin GmbH"),
        ("street", "Friedrichstraße"),
        ("house_number", "12a"),
        ("postcode", "10117"),
    ];
    for (name, _, _) in FIELDS {
        b.press(&[Key::Tab]).expect("Tab");
        assert_eq!(
            b.focused_description().expect("focus"),
            format!("input[name={name}]"),
            "Tab moves through the fields in page order"
        );
        if let Some((_, text)) = typed.iter().find(|(n, _)| *n == name) {
            b.retype(text).expect("type");
            let field = b.focused().expect("focus");
            assert_eq!(b.value(&field).expect("value"), *text, "{name} as typed");
        }
    }
    b.press(&[Key::Tab]).expect("Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        format!("button {SUBMIT:?}"),
        "after the last field Tab reaches the submit button"
    );
    screenshot(&b, "registration-keyboard");
    b.press(&[Key::Space]).expect("Space on the button");

    let heading = b
        .wait_for_heading("You are connected")
        .expect("the success page");
    assert_eq!(heading, "You are connected");
    let (connection, grants) = column(&h, "reseller_with_support");
    let text = b.page_text().expect("page text");
    assert!(
        text.contains(&format!(
            "Your organization is now connected to Partner p0 as {connection}"
        )),
        "the success page says to whom and how:\n{text}"
    );
    assert_eq!(b.texts("ul.grants li").expect("grants"), grants);
    screenshot(&b, "registered");

    // The partner's API: accepted, by the invited contact.
    let got = invite_from_api(&h, &invite);
    assert_eq!(
        got["status"], "accepted",
        "the invite after the form: {got}"
    );
    let last = got["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(last["action"], "accepted", "{got}");
    assert_eq!(last["by"]["email"], "ada@globex.example", "{got}");
    let org = got["organization_id"].as_str().expect("organization id");
    let customers = h.get("/api/customers", Some(&h.partner("p0"))).json();
    assert_eq!(
        customers["items"][0]["name"], "Globex Berlin GmbH",
        "the typed company name: {customers}"
    );
    assert_eq!(customers["items"][0]["organization_id"], org);
    let stored = stored_organization(&h, org);
    let address = &stored["details"]["company"]["address"];
    assert_eq!(address["street"], "Friedrichstraße", "{stored}");
    assert_eq!(address["house_number"], "12a", "{stored}");
    assert_eq!(address["postcode"], "10117", "{stored}");
    assert_eq!(
        address["city"], "Berlin",
        "an untouched field keeps the invited value: {stored}"
    );
    assert_eq!(stored["admin_email"], "ada@globex.example", "{stored}");
}

#[test]
fn registration_works_with_javascript_off() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    let invite = h.invite("p0", "grace@globex.example");
    let b = start(JavaScript::Off);
    assert!(
        !b.page_scripts_run().expect("script probe"),
        "pages' scripts are off in this session"
    );

    b.goto(&invite_link(&h, &invite))
        .expect("open the invite link");
    assert_registration_page(&b, &h, &invite);
    screenshot(&b, "registration-no-js");

    // A required field emptied: the browser itself refuses to send the form.
    let company = b
        .wait_for("input[name=company_name]")
        .expect("company name");
    b.clear(&company).expect("clear");
    let button = b.wait_for("form button").expect("button");
    b.click(&button).expect("submit");
    let invalid = b
        .wait_for("input[name=company_name]:invalid")
        .expect("the emptied required field is marked invalid");
    b.send_keys(&invalid, "Globex GmbH").expect("type");
    assert_eq!(
        invite_from_api(&h, &invite)["status"],
        "pending",
        "the browser sent nothing"
    );

    // A value only the server rejects: the form comes back (422) with what
    // was typed, a list of what to correct linking to the field, and the
    // field marked invalid, described by its message and focused.
    let country = b.wait_for("input[name=country]").expect("country");
    b.clear(&country).expect("clear");
    b.send_keys(&country, "Germany").expect("type");
    b.click(&button).expect("submit");
    let summary = b
        .wait_for("[role=alert] h2")
        .expect("the form again, with what to correct");
    assert_eq!(b.text(&summary).expect("text"), "Please correct 1 field");
    assert!(
        b.title().expect("title").starts_with("Error: "),
        "the title says the form needs correcting"
    );
    let listed = b.texts("[role=alert] li a").expect("the list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].starts_with("Country: "), "{listed:?}");
    let country = b.wait_for("input[name=country]").expect("country");
    assert_eq!(b.value(&country).expect("value"), "Germany");
    assert_eq!(
        b.attr(&country, "aria-invalid").expect("attr").as_deref(),
        Some("true")
    );
    let described = b
        .attr(&country, "aria-describedby")
        .expect("attr")
        .expect("the field points at its message");
    let message = b.wait_for(&format!("#{described}")).expect("the message");
    assert!(
        b.text(&message).expect("text").contains("ISO 3166-1"),
        "the message says what a country must be"
    );
    assert_eq!(
        b.focused_description().expect("focus"),
        "input[name=country]",
        "the first field to correct has the focus"
    );
    let company = b.wait_for("input[name=company_name]").expect("company");
    assert_eq!(
        b.value(&company).expect("value"),
        "Globex GmbH",
        "what was typed elsewhere is kept"
    );
    screenshot(&b, "registration-rejected");
    assert_eq!(
        invite_from_api(&h, &invite)["status"],
        "pending",
        "a rejected form registers nothing"
    );
    b.clear(&country).expect("clear");
    b.send_keys(&country, "DE").expect("type");

    let postcode = b.wait_for("input[name=postcode]").expect("postcode");
    b.send_keys(&postcode, "10115").expect("type");
    let vat = b.wait_for("input[name=vat_id]").expect("vat id");
    b.clear(&vat).expect("clear");
    let button = b.wait_for("form button").expect("button");
    b.click(&button).expect("submit");
    b.wait_for_heading("You are connected")
        .expect("the success page");
    screenshot(&b, "registered-no-js");

    let got = invite_from_api(&h, &invite);
    assert_eq!(got["status"], "accepted", "{got}");
    let stored = stored_organization(&h, got["organization_id"].as_str().expect("org"));
    let company = &stored["details"]["company"];
    assert_eq!(company["name"], "Globex GmbH", "{stored}");
    assert_eq!(company["address"]["country"], "DE", "{stored}");
    assert_eq!(company["address"]["postcode"], "10115", "{stored}");
    assert!(
        company.get("vat_id").is_none_or(Value::is_null),
        "an emptied optional field is removed: {stored}"
    );
}

#[test]
fn links_that_no_longer_work_show_their_own_page() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    let p0 = h.partner("p0");
    let b = start(JavaScript::On);

    let pages = |name: &str, link: &str, heading: &str, explains: &str| {
        b.goto(link).expect("open the link");
        let shown = b
            .wait_for_heading(heading)
            .unwrap_or_else(|e| panic!("the {name} page: {e:#}"));
        assert_eq!(shown, heading, "the {name} page's heading");
        let alert = b.wait_for("[role=alert]").expect("an alert");
        let said = b.text(&alert).expect("text");
        assert!(
            said.contains(explains),
            "the {name} page explains {explains:?}: {said:?}"
        );
        assert!(
            b.find_all("form").expect("forms").is_empty(),
            "the {name} page offers no form"
        );
        assert!(
            b.page_text()
                .expect("text")
                .contains("ask the sender for a new link"),
            "the {name} page says what to do"
        );
        screenshot(&b, &format!("link-{name}"));
    };

    // Used: the invite was accepted (through the API).
    let used = h.invite("p0", "ada@globex.example");
    let redeemed = h.post(
        "/api/invites/redeem",
        None,
        &json!({"token": used["token"]}),
    );
    assert_eq!(redeemed.status, 201, "{}", redeemed.body);
    pages(
        "used",
        &invite_link(&h, &used),
        "Already accepted",
        "already been used",
    );

    // Revoked by the partner.
    let revoked = h.invite("p0", "bob@globex.example");
    let id = revoked["id"].as_str().expect("id");
    let reply = h.post(&format!("/api/invites/{id}/revoke"), Some(&p0), &json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    pages(
        "revoked",
        &invite_link(&h, &revoked),
        "Link no longer valid",
        "revoked by the partner",
    );

    // Replaced: the partner resent the invite, so the first link is dead.
    let resent = h.invite("p0", "carol@globex.example");
    let id = resent["id"].as_str().expect("id");
    let reply = h.post(&format!("/api/invites/{id}/resend"), Some(&p0), &json!({}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    pages(
        "replaced",
        &invite_link(&h, &resent),
        "Link no longer valid",
        "replaced by a newer one",
    );

    // Expired: the link of a pending invite, signed with the app's key ring
    // and the invite's generation but with an expiry an hour ago.
    let pending = h.invite("p0", "dan@globex.example");
    let now = SystemClock.now();
    let token = KeyRing::parse(e2e::RING)
        .expect("the harness ring")
        .sign(&Claims {
            purpose: Purpose::Invite,
            record_id: pending["id"].as_str().expect("id").into(),
            partner_id: Some("p0".into()),
            organization_id: None,
            subject: None,
            role: None,
            issued_at: now - 7 * 24 * 3600,
            expires_at: now - 3600,
            generation: pending["generation"]
                .as_u64()
                .and_then(|g| u32::try_from(g).ok())
                .expect("the invite's generation"),
        })
        .expect("sign");
    pages(
        "expired",
        &format!("{}/invite/{token}", h.base()),
        "Link expired",
        "has expired",
    );
    // The same invite's real link still works: only the expiry differs.
    b.goto(&invite_link(&h, &pending)).expect("open");
    b.wait_for_heading("invites you to connect")
        .expect("the pending invite's own link still opens the registration page");
}

/// The approval link in the newest email to `admin`, pointed at the app.
fn approval_link(h: &Harness, admin: &str) -> String {
    let mail = h
        .received("/mail")
        .iter()
        .rev()
        .map(|m| serde_json::from_slice::<Value>(&m.body).expect("mail JSON"))
        .find(|m| m["to"] == admin && m["text"].as_str().is_some_and(|t| t.contains("/connect/")))
        .unwrap_or_else(|| panic!("an approval email to {admin}"));
    let text = mail["text"].as_str().expect("mail text");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/connect/"))
        .expect("the approval link");
    local(h, link)
}

/// A connection request from `partner` to `org`.
fn request(h: &Harness, partner: &str, org: &str, connection: &str) -> String {
    let reply = h.post(
        "/api/connections",
        Some(&h.partner(partner)),
        &json!({"organization_id": org, "connection": connection}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().expect("request id").to_string()
}

fn request_status(h: &Harness, partner: &str, id: &str) -> Value {
    let list = h.get("/api/connections", Some(&h.partner(partner))).json();
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["status"].clone())
        .unwrap_or_else(|| panic!("request {id} in {partner}'s list: {list}"))
}

#[test]
fn approval_page_shows_the_request_and_decides_with_the_keyboard() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", false);
    h.setup_partner("p2", false);
    let admin = "admin@globex.example";
    let org = h.register("p0", admin);
    let first = request(&h, "p1", &org, "msp");
    let link = approval_link(&h, admin);

    let b = start(JavaScript::On);
    b.goto(&link).expect("open the approval link");
    let heading = b
        .wait_for_heading("asks to connect")
        .expect("the approval page");
    assert_eq!(
        heading, "Partner p1 asks to connect to Globex <GmbH>",
        "who asks, to what (the name as text, not markup)"
    );
    let (connection, grants) = column(&h, "msp");
    let text = b.page_text().expect("text");
    assert!(
        text.contains(&format!("Approving connects them as {connection}")),
        "the page names the connection {connection:?}:\n{text}"
    );
    assert_eq!(
        b.texts("ul.grants li").expect("grants"),
        grants,
        "one line per capability of {connection}"
    );
    assert!(
        text.contains("Your organization's settings stay as they are"),
        "{text}"
    );
    screenshot(&b, "approval");

    // Keyboard only: Tab reaches Approve, then Decline; Shift+Tab goes back.
    b.press(&[Key::Tab]).expect("Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Approve\""
    );
    b.press(&[Key::Tab]).expect("Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Decline\""
    );
    b.chord(Key::Shift, char::from(Key::Tab))
        .expect("Shift+Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Approve\""
    );
    for button in b.find_all("form button").expect("buttons") {
        assert_eq!(b.role(&button).expect("role"), "button");
    }
    b.press(&[Key::Enter]).expect("Enter on Approve");
    let decided = b
        .wait_for_heading("Request approved")
        .expect("the decision page");
    assert_eq!(decided, "Request approved");
    screenshot(&b, "approved");
    assert_eq!(request_status(&h, "p1", &first), "approved");
    let partners = h.get("/api/partners", Some(&h.admin(&org))).json();
    assert!(
        partners["items"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["partner_id"] == "p1")),
        "the admin sees p1 among the organization's partners: {partners}"
    );

    // The link is used up: its page says so and offers no decision.
    b.goto(&link).expect("open again");
    b.wait_for_heading("No longer possible")
        .expect("the page of a decided request's link");
    let alert = b.wait_for("[role=alert]").expect("an alert");
    let said = b.text(&alert).expect("text");
    assert!(said.contains("already been decided"), "{said:?}");
    assert!(
        b.find_all("form").expect("forms").is_empty(),
        "a decided request's link offers no decision"
    );
    screenshot(&b, "approval-used");

    // Another partner's request, declined with Space on Decline.
    let second = request(&h, "p2", &org, "reseller_without_support");
    b.goto(&approval_link(&h, admin)).expect("open");
    b.wait_for_heading("Partner p2 asks to connect")
        .expect("the second approval page");
    b.press(&[Key::Tab, Key::Tab]).expect("Tab Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Decline\""
    );
    b.press(&[Key::Space]).expect("Space on Decline");
    b.wait_for_heading("Request declined")
        .expect("the decision page");
    screenshot(&b, "declined");
    assert_eq!(request_status(&h, "p2", &second), "declined");
}

/// `partner` asks to change `relationship` to `connection`: the answer's
/// status and JSON.
fn change(h: &Harness, partner: &str, relationship: &str, connection: &str) -> (u16, Value) {
    let reply = h.post(
        &format!("/api/relationships/{relationship}/change"),
        Some(&h.partner(partner)),
        &json!({ "connection": connection }),
    );
    (reply.status, reply.json())
}

#[test]
fn a_change_of_connection_shows_what_is_gained_and_lost_and_is_decided_by_keyboard_with_or_without_javascript()
 {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", false);
    let admin = "admin@globex.example";
    let org = h.register("p0", admin);
    let rel = h.link("p1", &org);
    let (status, asked) = change(&h, "p1", &rel, "msp");
    assert_eq!(status, 202, "{asked}");
    let link = approval_link(&h, admin);

    let b = start(JavaScript::On);
    b.goto(&link).expect("open the approval link");
    let heading = b
        .wait_for_heading("asks to change its connection")
        .expect("the change's approval page");
    assert_eq!(
        heading,
        "Partner p1 asks to change its connection to Globex <GmbH>"
    );
    let (msp, all) = column(&h, "msp");
    let (with_support, kept) = column(&h, "reseller_with_support");
    let gained: Vec<String> = all.into_iter().filter(|c| !kept.contains(c)).collect();
    let text = b.page_text().expect("text");
    assert!(
        text.contains(&format!(
            "Approving changes the connection from {with_support} to {msp}"
        )),
        "{text}"
    );
    assert_eq!(b.texts("ul.grants li").expect("gained"), gained);
    assert_eq!(
        b.texts(".change h2").expect("columns"),
        ["Gained", "Lost"],
        "gains and losses side by side"
    );
    assert!(text.contains("Nothing"), "nothing is lost: {text}");
    screenshot(&b, "change-approval");
    b.press(&[Key::Tab]).expect("Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Approve\""
    );
    b.press(&[Key::Enter]).expect("Enter on Approve");
    b.wait_for_heading("Request approved")
        .expect("the decision page");
    let r = h
        .get(&format!("/api/relationships/{rel}"), Some(&h.partner("p1")))
        .json();
    assert_eq!(r["connection"], "msp", "{r}");
    b.goto(&link).expect("open again");
    b.wait_for_heading("No longer possible")
        .expect("a used change link's page");
    assert!(b.find_all("form").expect("forms").is_empty());

    // Without JavaScript: down at once, up again, declined with Space.
    assert_eq!(change(&h, "p1", &rel, "reseller_without_support").0, 200);
    let (status, _) = change(&h, "p1", &rel, "reseller_with_support");
    assert_eq!(status, 202);
    let b = start(JavaScript::Off);
    b.goto(&approval_link(&h, admin)).expect("open");
    b.wait_for_heading("asks to change its connection")
        .expect("the page without scripts");
    b.press(&[Key::Tab, Key::Tab]).expect("Tab Tab");
    assert_eq!(
        b.focused_description().expect("focus"),
        "button \"Decline\""
    );
    b.press(&[Key::Space]).expect("Space on Decline");
    b.wait_for_heading("Request declined")
        .expect("the decision page");
    screenshot(&b, "change-declined-no-js");

    // A withdrawn change's link says so.
    let (_, asked) = change(&h, "p1", &rel, "reseller_with_support");
    let withdrawn_link = approval_link(&h, admin);
    let id = asked["id"].as_str().expect("id");
    let withdrawn = h.post(
        &format!("/api/connections/{id}/withdraw"),
        Some(&h.partner("p1")),
        &json!({}),
    );
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    b.goto(&withdrawn_link).expect("open");
    b.wait_for_heading("Link no longer valid")
        .expect("a withdrawn change's page");
    let said = b
        .text(&b.wait_for("[role=alert]").expect("alert"))
        .expect("text");
    assert!(said.contains("withdrawn"), "{said:?}");
    screenshot(&b, "change-withdrawn");

    // An expired change's link, and one whose relationship ended since.
    let (_, asked) = change(&h, "p1", &rel, "reseller_with_support");
    let expired_link = approval_link(&h, admin);
    let id = asked["id"].as_str().expect("id");
    let slot = id.split('_').nth(1).expect("the request's slot");
    h.rewrite(&format!("rel/{rel}"), |r| {
        r["pending_change"]["expires_at"] = json!(1)
    });
    h.rewrite(&format!("p/p1/con/{slot}"), |r| r["expires_at"] = json!(1));
    b.goto(&expired_link).expect("open");
    b.wait_for_heading("Link expired")
        .expect("an expired change's page");
    screenshot(&b, "change-expired");
    let (status, _) = change(&h, "p1", &rel, "reseller_with_support");
    assert_eq!(status, 202, "a new change once the last one expired");
    let ended_link = approval_link(&h, admin);
    let ended = h.post(
        &format!("/api/relationships/{rel}/end"),
        Some(&h.admin(&org)),
        &json!({}),
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    b.goto(&ended_link).expect("open");
    b.wait_for_heading("No longer possible")
        .expect("the page of a change whose relationship ended");
    let said = b
        .text(&b.wait_for("[role=alert]").expect("alert"))
        .expect("text");
    assert!(said.contains("no longer connected"), "{said:?}");
    assert!(b.find_all("form").expect("forms").is_empty());
    screenshot(&b, "change-ended");
}

/// The catalog of `language` (`shared/src/messages/<language>.toml`),
/// flattened: `section.key` -> text.
fn catalog(language: &str) -> std::collections::BTreeMap<String, String> {
    fn flatten(
        prefix: &str,
        table: &toml::Table,
        into: &mut std::collections::BTreeMap<String, String>,
    ) {
        for (key, value) in table {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(t) => flatten(&name, t, into),
                toml::Value::String(s) => {
                    into.insert(name, s.clone());
                }
                other => panic!("{name} is {other:?}, not text"),
            }
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../shared/src/messages/{language}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{language}.toml: {e}"));
    let mut flat = std::collections::BTreeMap::new();
    flatten("", &table, &mut flat);
    flat
}

/// Asserts that the page shows the message `key` of `messages` (its words
/// around the placeholders), that it is in `language`, and that no
/// placeholder or catalog key shows.
fn assert_shows(
    b: &Browser,
    messages: &std::collections::BTreeMap<String, String>,
    language: &str,
    keys: &[&str],
) {
    let root = b.wait_for("html").expect("the page");
    assert_eq!(
        b.attr(&root, "lang").expect("lang").as_deref(),
        Some(language),
        "<html lang>"
    );
    // WebDriver gives no-break spaces (French punctuation) as spaces.
    let spaced = |s: &str| s.replace(['\u{a0}', '\u{202f}'], " ");
    let text = spaced(&b.page_text().expect("text"));
    for key in keys {
        let message = messages
            .get(*key)
            .unwrap_or_else(|| panic!("{key} in {language}.toml"));
        for words in spaced(message).split(['{', '}']).step_by(2) {
            let words = words.trim();
            assert!(
                words.is_empty() || text.contains(words),
                "the {language} page shows {key} ({words:?}):\n{text}"
            );
        }
    }
    assert!(
        !text.contains('{') && !text.contains('}'),
        "a placeholder shows:\n{text}"
    );
}

#[test]
fn every_page_and_email_is_in_the_invites_or_the_browsers_language() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", false);
    for language in ["en", "de", "fr", "nl"] {
        let messages = catalog(language);
        let b = start(JavaScript::On);

        // The registration page of an invite with the locale.
        let mut body = e2e::invite_body(&format!("ada-{language}@globex.example"));
        body["locale"] = json!(format!("{language}-BE"));
        let reply = h.post("/api/invites/generate", Some(&h.partner("p0")), &body);
        assert_eq!(reply.status, 201, "{}", reply.body);
        let invite = reply.json();
        b.goto(&invite_link(&h, &invite)).expect("open the link");
        assert_shows(
            &b,
            &messages,
            language,
            &[
                "registration.heading",
                "registration.offer",
                "registration.submit",
                "registration.expires",
                "connection.reseller_with_support",
                "capability.first_contact",
                "capability.billing_via_partner",
                "field.company_name",
            ],
        );
        screenshot(&b, &format!("registration-{language}"));

        // The same link once used: its problem page, in the invite's language.
        let redeemed = h.post(
            "/api/invites/redeem",
            None,
            &json!({"token": invite["token"]}),
        );
        assert_eq!(redeemed.status, 201, "{}", redeemed.body);
        let org = redeemed.json()["organization_id"]
            .as_str()
            .expect("org")
            .to_string();
        b.goto(&invite_link(&h, &invite))
            .expect("open the used link");
        assert_shows(
            &b,
            &messages,
            language,
            &[
                "problem.heading.already_accepted",
                "problem.text.invite_used",
            ],
        );
        screenshot(&b, &format!("link-used-{language}"));

        // A connection request in the language: its email and its page.
        let admin = format!("ada-{language}@globex.example");
        let asked = h.post(
            "/api/connections",
            Some(&h.partner("p1")),
            &json!({"organization_id": org, "connection": "msp", "locale": language}),
        );
        assert_eq!(asked.status, 201, "{}", asked.body);
        let mail = h
            .received("/mail")
            .iter()
            .rev()
            .map(|m| serde_json::from_slice::<Value>(&m.body).expect("mail JSON"))
            .find(|m| {
                m["to"] == admin.as_str()
                    && m["text"].as_str().is_some_and(|t| t.contains("/connect/"))
            })
            .expect("the approval email");
        let link = approval_link(&h, &admin);
        let public = link.replacen(h.base(), PUBLIC_BASE, 1);
        let html = mail["html"].as_str().expect("an HTML part");
        assert!(
            html.contains(&public),
            "the HTML part links to {public}: {html}"
        );
        assert!(html.contains(&format!("lang=\"{language}\"")), "{html}");
        b.goto(&link).expect("open the approval link");
        assert_shows(
            &b,
            &messages,
            language,
            &[
                "approval.offer",
                "approval.approve",
                "approval.decline",
                "connection.msp",
                "capability.manage_portal",
            ],
        );
        screenshot(&b, &format!("approval-{language}"));

        // No locale: the browser's Accept-Language decides.
        let accepting =
            Browser::start_in(JavaScript::On, Some(&format!("{language}-CH,{language}")))
                .expect("a session");
        let plain = h.invite("p0", &format!("grace-{language}@globex.example"));
        accepting
            .goto(&invite_link(&h, &plain))
            .expect("open the link");
        assert_shows(
            &accepting,
            &messages,
            language,
            &["registration.heading", "registration.submit"],
        );
    }
}
