//! One invite redeemed 500 times at once across two hosts of the app sharing
//! one store has exactly one winner, and the partner sees one customer.
//!
//! The hosts are processes of the harness's kind (`E2E_HOST`: devhost, or a
//! real Spin) on a SQLite file, or on a Redis server with `E2E_KV=redis`: on
//! Spin that is its own Redis store, with its misreported swaps.
//! (`redis.rs` runs the same race on devhost under each key-value mode.)
//!
//! Not on Spin's SQLite store (`scripts/test` skips it there): that store is
//! one node's, and two Spin processes on one file answer some writes with
//! "database is locked" (`docs/spin-key-value.md`); hosts that share a store
//! share Redis.

use e2e::{Harness, ProcessStore, invite_body};

/// Client threads; together they send [`REDEMPTIONS`] requests.
const CLIENTS: usize = 48;
const REDEMPTIONS: usize = 500;

#[test]
fn five_hundred_concurrent_redemptions_across_two_hosts_on_one_store_one_winner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ProcessStore::from_env(dir.path());
    let h = Harness::start();
    let hosts = [h.start_process(&store), h.start_process(&store)];
    let bases: Vec<&str> = hosts.iter().map(|p| p.base_url()).collect();
    let partner = format!("Bearer {}", h.partner("p1"));
    let json = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let authorised = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("authorization", partner.as_str()),
    ];

    let profile = serde_json::json!({
        "display_name": "Partner p1",
        "billing_accounts": ["billing@p1.example"],
    });
    let put = h.request_at(
        bases[0],
        "PUT",
        "/api/partner",
        &authorised,
        profile.to_string().as_bytes(),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let created = h.request_at(
        bases[1],
        "POST",
        "/api/invites/generate",
        &authorised,
        invite_body("ada@globex.example").to_string().as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let invite = created.json();
    let body = serde_json::json!({ "token": invite["token"] }).to_string();

    let answers: Vec<(usize, u16, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (h, bases, body, json) = (&h, &bases, &body, &json);
                s.spawn(move || {
                    (client..REDEMPTIONS)
                        .step_by(CLIENTS)
                        .map(|i| {
                            let host = i % bases.len();
                            let reply = h.request_at(
                                bases[host],
                                "POST",
                                "/api/invites/redeem",
                                json,
                                body.as_bytes(),
                            );
                            (host, reply.status, reply.body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("client"))
            .collect()
    });
    assert_eq!(answers.len(), REDEMPTIONS);
    let count = |status: u16| answers.iter().filter(|(_, s, _)| *s == status).count();
    let others: Vec<_> = answers
        .iter()
        .filter(|(_, s, _)| ![201, 409].contains(s))
        .collect();
    assert!(
        others.is_empty(),
        "answers other than 201 and 409: {others:?}"
    );
    assert_eq!(count(201), 1, "one winner");
    assert_eq!(count(409), REDEMPTIONS - 1);

    let id = invite["id"].as_str().expect("invite id");
    for base in &bases {
        let stored = h.request_at(base, "GET", &format!("/api/invites/{id}"), &authorised, b"");
        assert_eq!(stored.status, 200, "{}", stored.body);
        assert_eq!(stored.json()["status"], "accepted", "{}", stored.body);
        let customers = h
            .request_at(base, "GET", "/api/customers", &authorised, b"")
            .json();
        let items = customers["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "exactly one customer: {customers}");
    }
}
