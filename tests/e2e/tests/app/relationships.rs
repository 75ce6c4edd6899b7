//! A relationship's life through the real components: ended by the partner,
//! the customer's admin or an operator (and connected again afterwards), its
//! connection changed at once or on the admin's approval (link and bearer,
//! decline, withdraw, expiry), other sides' ids not found, and concurrent
//! ends and approvals leaving one outcome.

use e2e::{Harness, Options};
use serde_json::{Value, json};

/// The harness with the platform's endpoint at `/platform` on its sink.
fn harness() -> Harness {
    Harness::start_with(Options {
        extra_variables: vec![
            ("platform_webhook_url".into(), "{sink}/platform".into()),
            (
                "platform_webhook_secret".into(),
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            ),
        ],
        ..Options::default()
    })
}

/// The types of the events received at `path`, in order.
fn events(h: &Harness, path: &str) -> Vec<String> {
    h.received(path)
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).expect("json")["type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The token of the latest approval link mailed to the admin.
fn approval_token(h: &Harness) -> String {
    let mails = h.received("/mail");
    let text = mails
        .iter()
        .rev()
        .map(|m| serde_json::from_slice::<Value>(&m.body).expect("json"))
        .find_map(|m| {
            let text = m["text"].as_str()?.to_string();
            text.contains("/connect/").then_some(text)
        })
        .expect("an approval email");
    let line = text
        .lines()
        .find(|l| l.contains("/connect/"))
        .expect("link");
    line.rsplit('/').next().expect("token").trim().to_string()
}

fn end(h: &Harness, by: &str, id: &str, body: &Value) -> e2e::Reply {
    h.post(&format!("/api/relationships/{id}/end"), Some(by), body)
}

fn change(h: &Harness, partner: &str, id: &str, connection: &str) -> e2e::Reply {
    h.post(
        &format!("/api/relationships/{id}/change"),
        Some(&h.partner(partner)),
        &json!({ "connection": connection }),
    )
}

fn relationship(h: &Harness, by: &str, id: &str) -> Value {
    let reply = h.get(&format!("/api/relationships/{id}"), Some(by));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn statuses(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn either_side_or_an_operator_ends_it_and_the_pair_can_connect_again() {
    let h = harness();
    h.setup_partner("p0", false);
    h.setup_partner("p1", true);
    h.setup_partner("p2", true);
    let org = h.register("p0", "admin@org.example");
    let admin = h.admin(&org);
    let p1 = h.partner("p1");
    let rel1 = h.link("p1", &org);
    let asked = h.post(
        "/api/connections",
        Some(&h.partner("p2")),
        &json!({"organization_id": org, "connection": "msp"}),
    );
    let request = asked.json()["id"].as_str().expect("id").to_string();
    let approved = h.post(
        &format!("/api/connections/{request}/approve"),
        Some(&admin),
        &json!({}),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let rel2 =
        h.get("/api/customers", Some(&h.partner("p2"))).json()["items"][0]["relationship_id"]
            .as_str()
            .expect("rel")
            .to_string();
    let rel0 =
        h.get("/api/customers", Some(&h.partner("p0"))).json()["items"][0]["relationship_id"]
            .as_str()
            .expect("rel")
            .to_string();

    let r = relationship(&h, &p1, &rel1);
    assert_eq!(r["status"], "active");
    assert_eq!(r["history"][0]["action"], "created");

    // The partner ends it, with a reason; again is a 409 that writes nothing.
    let ended = end(&h, &p1, &rel1, &json!({"reason": "contract ended"}));
    assert_eq!(ended.status, 200, "{}", ended.body);
    let ended = ended.json();
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["ended_by"]["kind"], "partner");
    assert_eq!(ended["end_reason"], "contract ended");
    assert!(ended["ended_at"].is_string());
    assert_eq!(ended["history"][1]["action"], "ended");
    let before = h.snapshot();
    end(&h, &p1, &rel1, &json!({})).problem(409);
    end(&h, &admin, &rel1, &json!({})).problem(409);
    h.assert_unchanged(&before, "ending an ended relationship");
    let long = "x".repeat(501);
    let refused = end(&h, &admin, &rel2, &json!({"reason": long})).problem(422);
    assert_eq!(refused["errors"][0]["pointer"], "/reason");
    end(&h, &admin, &rel2, &json!({"why": "x"})).problem(400);
    h.assert_unchanged(&before, "rejected ends");

    // The customer's admin removes p2; an operator ends p0's.
    let by_admin = end(&h, &admin, &rel2, &json!({})).json();
    assert_eq!(by_admin["ended_by"]["kind"], "customer_admin");
    let by_operator = end(&h, &h.operator(), &rel0, &json!({})).json();
    assert_eq!(by_operator["ended_by"]["kind"], "operator");

    // Lists show the status and filter by it.
    let customers = h.get("/api/customers", Some(&p1)).json();
    assert_eq!(statuses(&customers), ["ended"]);
    assert!(customers["items"][0]["ended_at"].is_string());
    let active = h.get("/api/customers?status=active", Some(&p1)).json();
    assert_eq!(statuses(&active), Vec::<String>::new());
    let partners = h.get("/api/partners?status=ended", Some(&admin)).json();
    assert_eq!(statuses(&partners), ["ended", "ended", "ended"]);
    h.get("/api/partners?status=gone", Some(&admin))
        .problem(400);

    // Both sides were told: p1's webhook and the platform's feed.
    assert_eq!(
        events(&h, "/hooks/p1").last().map(String::as_str),
        Some("relationship.ended")
    );
    assert!(events(&h, "/hooks/p2").contains(&"relationship.ended".to_string()));
    let platform = events(&h, "/platform");
    assert_eq!(
        platform
            .iter()
            .filter(|t| *t == "relationship.ended")
            .count(),
        3,
        "{platform:?}"
    );

    // Connected again: by a new invite, and by a new request.
    let again = h.link("p1", &org);
    assert_ne!(again, rel1);
    let customers = h.get("/api/customers", Some(&p1)).json();
    assert_eq!(statuses(&customers), ["active", "ended"]);
    let asked = h.post(
        "/api/connections",
        Some(&h.partner("p2")),
        &json!({"organization_id": org, "connection": "reseller_without_support"}),
    );
    assert_eq!(asked.status, 201, "{}", asked.body);
    assert_eq!(relationship(&h, &p1, &rel1)["status"], "ended", "kept");
}

#[test]
fn a_change_that_takes_away_is_at_once_one_that_adds_waits_for_the_admin() {
    let h = harness();
    h.setup_partner("p0", false);
    h.setup_partner("p1", true);
    let org = h.register("p0", "admin@org.example");
    let admin = h.admin(&org);
    let p1 = h.partner("p1");
    let rel = h.link("p1", &org);
    let org_before = h.snapshot().get(&format!("o/{org}")).cloned();

    // Down: at once.
    let down = change(&h, "p1", &rel, "reseller_without_support");
    assert_eq!(down.status, 200, "{}", down.body);
    let down = down.json();
    assert_eq!(down["connection"], "reseller_without_support");
    assert_eq!(down["history"][1]["action"], "changed");
    assert_eq!(down["history"][1]["from"], "reseller_with_support");
    assert_eq!(down["history"][1]["to"], "reseller_without_support");
    let before = h.snapshot();
    change(&h, "p1", &rel, "reseller_without_support").problem(409);
    change(&h, "p1", &rel, "owner").problem(422);
    h.assert_unchanged(&before, "refused changes");

    // Up: a change request, approved through the page's link.
    let up = change(&h, "p1", &rel, "msp");
    assert_eq!(up.status, 202, "{}", up.body);
    let up = up.json();
    assert_eq!(up["status"], "pending");
    assert_eq!(up["change"]["relationship_id"], rel.as_str());
    assert_eq!(up["change"]["from"], "reseller_without_support");
    let id = up["id"].as_str().expect("id").to_string();
    let r = relationship(&h, &admin, &rel);
    assert_eq!(r["pending_change"]["request_id"], id.as_str());
    assert_eq!(r["connection"], "reseller_without_support", "not yet");
    let before = h.snapshot();
    change(&h, "p1", &rel, "reseller_with_support").problem(409);
    h.assert_unchanged(&before, "a second change while one waits");
    let inbox = h.get("/api/organization/requests", Some(&admin)).json();
    assert!(
        inbox["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "the admin's inbox shows it: {inbox}"
    );

    let token = approval_token(&h);
    let page = h.request(
        "GET",
        &format!("/connect/{token}"),
        &[("accept", "text/html")],
        b"",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("asks to change its connection"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Gained") && page.body.contains("Lost"));
    assert!(
        page.body
            .contains("Manage the portal on behalf of the customer")
    );
    let preview = h.request(
        "GET",
        &format!("/connect/{token}"),
        &[("accept", "application/json")],
        b"",
    );
    let preview = preview.json();
    assert_eq!(preview["change"]["from"], "reseller_without_support");
    assert_eq!(preview["change"]["lost"], json!([]));
    assert!(
        preview["change"]["gained"]
            .as_array()
            .is_some_and(|g| g.len() == 5)
    );
    let approved = h.request(
        "POST",
        &format!("/api/connections/{id}/approve"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        format!("token={token}").as_bytes(),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let r = relationship(&h, &p1, &rel);
    assert_eq!(r["connection"], "msp");
    assert!(r.get("pending_change").is_none());
    let changed = &r["history"][3];
    assert_eq!(changed["action"], "changed");
    assert_eq!(changed["by"]["kind"], "approval_link");
    assert_eq!(changed["request_id"], id.as_str());
    h.get(&format!("/connect/{token}"), None).problem(409);
    assert_eq!(
        h.snapshot().get(&format!("o/{org}")).cloned(),
        org_before,
        "the organization's record stays as it was"
    );
    let requests = h.get("/api/connections", Some(&p1)).json();
    assert_eq!(requests["items"][0]["status"], "approved");

    // Down again, up again: declined by bearer.
    assert_eq!(change(&h, "p1", &rel, "reseller_with_support").status, 200);
    let id = change(&h, "p1", &rel, "msp").json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let declined = h.post(
        &format!("/api/connections/{id}/decline"),
        Some(&admin),
        &json!({}),
    );
    assert_eq!(declined.json()["status"], "declined", "{}", declined.body);
    assert_eq!(
        relationship(&h, &p1, &rel)["connection"],
        "reseller_with_support"
    );

    // Approved by bearer.
    let id = change(&h, "p1", &rel, "msp").json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let approved = h.post(
        &format!("/api/connections/{id}/approve"),
        Some(&admin),
        &json!({}),
    );
    assert_eq!(approved.json()["status"], "approved", "{}", approved.body);
    assert_eq!(relationship(&h, &p1, &rel)["connection"], "msp");

    // Withdrawn by the partner: its link is no longer valid.
    assert_eq!(
        change(&h, "p1", &rel, "reseller_without_support").status,
        200
    );
    let id = change(&h, "p1", &rel, "reseller_with_support").json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let token = approval_token(&h);
    let withdrawn = h.post(
        &format!("/api/connections/{id}/withdraw"),
        Some(&p1),
        &json!({}),
    );
    assert_eq!(
        withdrawn.json()["status"],
        "withdrawn",
        "{}",
        withdrawn.body
    );
    h.get(&format!("/connect/{token}"), None).problem(410);

    // Expired: neither link nor bearer approves it, and a new one may be asked.
    let up = change(&h, "p1", &rel, "msp").json();
    let id = up["id"].as_str().expect("id").to_string();
    let slot: u64 = id.split('_').nth(1).expect("slot").parse().expect("n");
    h.rewrite(&format!("rel/{rel}"), |r| {
        r["pending_change"]["expires_at"] = json!(1)
    });
    h.rewrite(&format!("p/p1/con/{slot}"), |r| r["expires_at"] = json!(1));
    h.post(
        &format!("/api/connections/{id}/approve"),
        Some(&admin),
        &json!({}),
    )
    .problem(410);
    let r = relationship(&h, &p1, &rel);
    assert_eq!(r["connection"], "reseller_without_support");
    assert!(r.get("pending_change").is_none());
    let again = change(&h, "p1", &rel, "msp");
    assert_eq!(again.status, 202, "{}", again.body);

    // An end withdraws the change still waiting.
    let waiting = again.json()["id"].as_str().expect("id").to_string();
    assert_eq!(end(&h, &admin, &rel, &json!({})).status, 200);
    let requests = h.get("/api/connections", Some(&p1)).json();
    let status = requests["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == waiting.as_str())
        .map(|r| r["status"].clone());
    assert_eq!(status, Some(json!("withdrawn")));
    change(&h, "p1", &rel, "msp").problem(409);

    let hooks = events(&h, "/hooks/p1");
    for wanted in [
        "relationship.changed",
        "connection.requested",
        "connection.declined",
        "relationship.ended",
    ] {
        assert!(hooks.iter().any(|t| t == wanted), "{wanted}: {hooks:?}");
    }
    let platform = events(&h, "/platform");
    assert!(
        platform
            .iter()
            .filter(|t| *t == "relationship.changed")
            .count()
            >= 5,
        "{platform:?}"
    );
}

#[test]
fn other_partners_and_organizations_ids_are_not_found_on_every_new_route() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", true);
    h.setup_partner("p2", true);
    let org = h.register("p0", "admin@org.example");
    let other = h.register("p0", "admin@other.example");
    let rel = h.link("p1", &org);
    let up = change(&h, "p1", &rel, "msp");
    assert_eq!(up.status, 202, "{}", up.body);
    let request = up.json()["id"].as_str().expect("id").to_string();

    let before = h.snapshot();
    let p2 = h.partner("p2");
    let stranger = h.admin(&other);
    for by in [&p2, &stranger] {
        h.get(&format!("/api/relationships/{rel}"), Some(by))
            .problem(404);
        end(&h, by, &rel, &json!({})).problem(404);
    }
    change(&h, "p2", &rel, "reseller_without_support").problem(404);
    for id in ["rel_nope", "rel_0123456789abcdef01234567", "x%2Fy"] {
        h.get(&format!("/api/relationships/{id}"), Some(&p2))
            .problem(404);
    }
    h.post(
        &format!("/api/connections/{request}/withdraw"),
        Some(&p2),
        &json!({}),
    )
    .problem(404);
    for verb in ["approve", "decline"] {
        h.post(
            &format!("/api/connections/{request}/{verb}"),
            Some(&stranger),
            &json!({}),
        )
        .problem(404);
    }
    for path in ["/api/customers", "/api/connections"] {
        let list = h.get(path, Some(&p2)).json();
        assert!(
            list["items"].as_array().is_some_and(Vec::is_empty),
            "{list}"
        );
    }
    let partners = h.get("/api/partners", Some(&stranger)).json();
    assert_eq!(
        partners["items"].as_array().map(Vec::len),
        Some(1),
        "p0's only"
    );
    h.get(&format!("/api/relationships/{rel}"), None)
        .problem(401);
    h.assert_unchanged(&before, "probing wrote nothing");
    assert!(
        !events(&h, "/hooks/p2")
            .iter()
            .any(|t| t.starts_with("relationship.")),
        "p2 heard nothing of p1's relationship"
    );
}

#[test]
fn a_hundred_concurrent_ends_and_approvals_leave_one_outcome() {
    let h = Harness::start();
    h.setup_partner("p0", false);
    h.setup_partner("p1", false);
    let org = h.register("p0", "admin@org.example");
    let rel = h.link("p1", &org);
    let up = change(&h, "p1", &rel, "msp");
    let id = up.json()["id"].as_str().expect("id").to_string();
    let admin = h.admin(&org);
    let p1 = h.partner("p1");
    let results: Vec<(bool, u16)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..100)
            .map(|i| {
                let (h, admin, p1, rel, id) = (&h, &admin, &p1, &rel, &id);
                s.spawn(move || {
                    if i % 2 == 0 {
                        let by = if i % 4 == 0 { admin } else { p1 };
                        (true, end(h, by, rel, &json!({})).status)
                    } else {
                        let path = format!("/api/connections/{id}/approve");
                        (false, h.post(&path, Some(admin), &json!({})).status)
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let ends: Vec<u16> = results.iter().filter(|r| r.0).map(|r| r.1).collect();
    let approvals: Vec<u16> = results.iter().filter(|r| !r.0).map(|r| r.1).collect();
    assert_eq!(ends.iter().filter(|s| **s == 200).count(), 1, "{ends:?}");
    assert!(ends.iter().all(|s| [200, 409].contains(s)), "{ends:?}");
    let approved = approvals.iter().filter(|s| **s == 200).count();
    assert!(approved <= 1, "{approvals:?}");
    assert!(
        approvals.iter().all(|s| [200, 409, 410].contains(s)),
        "{approvals:?}"
    );

    let r = relationship(&h, &p1, &rel);
    assert_eq!(r["status"], "ended");
    let actions: Vec<&str> = r["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    let request = h.get("/api/connections", Some(&p1)).json()["items"][0].clone();
    assert_eq!(request["id"], id.as_str());
    if approved == 1 {
        assert_eq!(actions, ["created", "change_requested", "changed", "ended"]);
        assert_eq!(r["connection"], "msp");
        assert_eq!(request["status"], "approved");
    } else {
        assert_eq!(actions, ["created", "change_requested", "ended"]);
        assert_eq!(r["connection"], "reseller_with_support");
        assert_eq!(request["status"], "withdrawn");
    }
    let ledger: Value = serde_json::from_slice(
        h.snapshot()
            .get(&format!("o/{org}/ptn/ledger"))
            .expect("ledger"),
    )
    .expect("json");
    assert!(
        ledger["partners"].get("p1").is_none(),
        "the ledger no longer names the ended relationship: {ledger}"
    );
}
