//! Exactly-once redemption under a burst of concurrent requests.

use e2e::Harness;

#[test]
fn two_hundred_concurrent_redemptions_one_winner() {
    let h = Harness::start();
    h.setup_partner("p1", false);
    let token = h.invite("p1", "ada@globex.example")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let body = serde_json::json!({"token": token});
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..200)
            .map(|_| s.spawn(|| h.post("/api/invites/redeem", None, &body).status))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!(created, 1, "statuses: {statuses:?}");
    assert_eq!(conflicts, 199, "statuses: {statuses:?}");
    let relationships = h
        .snapshot()
        .keys()
        .filter(|k| k.starts_with("p/p1/cust/") && !k.ends_with("/seq"))
        .count();
    assert_eq!(relationships, 1);
    let orgs = h
        .snapshot()
        .keys()
        .filter(|k| k.starts_with("o/") && k.matches('/').count() == 1)
        .count();
    assert_eq!(orgs, 1);
}
