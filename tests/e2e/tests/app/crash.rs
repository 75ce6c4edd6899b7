//! A host killed with SIGKILL in the middle of a burst of redemptions, then
//! started again on the same store: every link is redeemed again, and
//! through the API nothing is lost or doubled. Every invite is accepted, each
//! has exactly one customer entry and one partner entry on its organization's
//! side, and each acceptance was delivered to the partner's webhook.
//!
//! The host is the harness's (`E2E_HOST`: a devhost process, or a real Spin)
//! and the store a SQLite file, or a Redis server with `E2E_KV=redis`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use e2e::{Harness, ProcessStore, invite_body};

const INVITES: usize = 600;
const CLIENTS: usize = 32;
/// Answers seen before the host is killed.
const KILL_AFTER: usize = 200;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// JSON headers with an `Authorization`.
fn authorised(auth: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("authorization", auth),
    ]
}

#[test]
fn a_host_killed_during_a_burst_of_redemptions_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ProcessStore::from_env(dir.path());
    let h = Harness::start();
    let partner = bearer(&h.partner("p1"));
    let json = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];

    let first = h.start_process(&store);
    let profile = serde_json::json!({
        "display_name": "Partner p1",
        "billing_accounts": ["billing@p1.example"],
        "webhook_url": format!("{}/hooks/p1", h.sink.url()),
    });
    let put = h.request_at(
        first.base_url(),
        "PUT",
        "/api/partner",
        &authorised(&partner),
        profile.to_string().as_bytes(),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let mut invites: Vec<(String, String)> = Vec::with_capacity(INVITES);
    for i in 0..INVITES {
        let mut body = invite_body(&format!("c{i}@globex.example"));
        body["send_email"] = serde_json::json!(false);
        let created = h.request_at(
            first.base_url(),
            "POST",
            "/api/invites/generate",
            &authorised(&partner),
            body.to_string().as_bytes(),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let v = created.json();
        invites.push((
            v["id"].as_str().expect("id").to_string(),
            v["token"].as_str().expect("token").to_string(),
        ));
    }

    // The burst; the host dies once KILL_AFTER answers have come back.
    let answered = AtomicUsize::new(0);
    let base = first.base_url().to_string();
    let mut first = Some(first);
    std::thread::scope(|s| {
        for client in 0..CLIENTS {
            let (h, invites, answered, base, json) = (&h, &invites, &answered, &base, &json);
            s.spawn(move || {
                for (_, token) in invites.iter().skip(client).step_by(CLIENTS) {
                    let body = serde_json::json!({ "token": token }).to_string();
                    if h.try_request_at(base, "POST", "/api/invites/redeem", json, body.as_bytes())
                        .is_some()
                    {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        while answered.load(Ordering::SeqCst) < KILL_AFTER {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        if let Some(host) = first.take() {
            host.stop();
        }
    });
    let before_kill = answered.load(Ordering::SeqCst);
    assert!(
        before_kill < INVITES,
        "the host died before the burst ended"
    );

    // Started again on the same store: every link is redeemed again.
    let second = h.start_process(&store);
    let base = second.base_url();
    let mut again: BTreeMap<u16, usize> = BTreeMap::new();
    for (_, token) in &invites {
        let body = serde_json::json!({ "token": token }).to_string();
        let reply = h.request_at(base, "POST", "/api/invites/redeem", &json, body.as_bytes());
        *again.entry(reply.status).or_default() += 1;
        assert!(
            reply.status == 201 || reply.status == 409,
            "a link after the restart: {} {}",
            reply.status,
            reply.body
        );
    }

    // Every invite accepted, with its organization.
    let mut organizations = BTreeMap::new();
    for (id, _) in &invites {
        let reply = h.request_at(
            base,
            "GET",
            &format!("/api/invites/{id}"),
            &authorised(&partner),
            b"",
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let v = reply.json();
        assert_eq!(v["status"], "accepted", "{id}: {v}");
        let org = v["organization_id"]
            .as_str()
            .expect("organization")
            .to_string();
        organizations.insert(org, id.clone());
    }
    assert_eq!(organizations.len(), INVITES, "one organization per invite");

    // Exactly one customer entry per invite.
    let mut customers: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/customers?limit=100{cursor}");
        let page = h
            .request_at(base, "GET", &path, &authorised(&partner), b"")
            .json();
        for item in page["items"].as_array().expect("items") {
            customers.push(item["organization_id"].as_str().expect("org").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = customers.iter().collect();
    assert_eq!(customers.len(), INVITES, "one customer entry per invite");
    assert_eq!(unique.len(), INVITES, "no customer listed twice");
    assert!(customers.iter().all(|o| organizations.contains_key(o)));

    // The partner on each organization's side, once.
    for org in organizations.keys() {
        let admin = bearer(&h.admin(org));
        let page = h
            .request_at(base, "GET", "/api/partners", &authorised(&admin), b"")
            .json();
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{org}: {page}");
        assert_eq!(items[0]["partner_id"], "p1");
    }

    // Each acceptance delivered to the webhook (at least once; by webhook-id
    // a receiver drops repeats), and recorded once.
    let accepted: BTreeSet<String> = h
        .received("/hooks/p1")
        .iter()
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            (v["type"] == "invite.accepted")
                .then(|| v["data"]["id"].as_str().map(str::to_string))?
        })
        .collect();
    let accepted_len = accepted.len();
    let mut recorded = 0;
    let mut cursor = String::new();
    loop {
        let path = format!("/api/webhooks/deliveries?limit=100{cursor}");
        let page = h
            .request_at(base, "GET", &path, &authorised(&partner), b"")
            .json();
        let items = page["items"].as_array().expect("items");
        recorded += items
            .iter()
            .filter(|d| d["event"] == "invite.accepted")
            .count();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(recorded, INVITES, "one recorded delivery per acceptance");
    assert_eq!(
        accepted_len, INVITES,
        "every acceptance reached the webhook"
    );
    eprintln!("crash test: {before_kill} answers before the kill; after the restart {again:?}");
}
