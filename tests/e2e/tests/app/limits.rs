//! Rate limits through the real components: a burst over a limit gets 429s
//! with `Retry-After` and the `RateLimit` headers and writes nothing; under
//! the limits every answer is what it would be without them.

use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Harness, Options};

/// The app with these limits, started at least 20 seconds before the end of
/// a minute: limits count in fixed windows of the host's clock, and a test
/// that ran into the next window would see its counts start again.
fn limited(per_address: u32, per_token: u32, partner: u32) -> Harness {
    let h = start_limited(per_address, per_token, partner);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let left = 60 - now % 60;
    if left < 20 {
        sleep(Duration::from_secs(left));
    }
    h
}

fn start_limited(per_address: u32, per_token: u32, partner: u32) -> Harness {
    Harness::start_with(Options {
        extra_variables: vec![
            (
                "rate_limit_link_per_address".into(),
                per_address.to_string(),
            ),
            ("rate_limit_link_per_token".into(), per_token.to_string()),
            ("rate_limit_partner".into(), partner.to_string()),
        ],
        ..Options::default()
    })
}

/// A redemption of `token` the form check refuses (422): counted, and
/// nothing else written.
fn refused_redemption(token: &str) -> serde_json::Value {
    serde_json::json!({
        "token": token,
        "organization": {"contact": {"email": "someone.else@example.com"}}
    })
}

#[test]
fn redemptions_of_one_link_are_limited_per_link_and_page_views_never_count() {
    let h = limited(1000, 3, 1000);
    h.setup_partner("p1", false);
    let invite = h.invite("p1", "ada@globex.example");
    let token = invite["token"].as_str().expect("token");
    let page = format!("/invite/{token}");
    // Reads write nothing, not even a counter.
    let before = h.whole_store();
    for _ in 0..10 {
        let r = h.get(&page, None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.header("ratelimit").is_none(),
            "a page view is not counted"
        );
    }
    assert_eq!(h.whole_store(), before, "page views wrote nothing");

    for _ in 0..3 {
        let r = h.post("/api/invites/redeem", None, &refused_redemption(token));
        assert_eq!(r.status, 422, "{}", r.body);
        let quotas = r.header_values("ratelimit");
        assert!(
            quotas.iter().any(|v| v.starts_with("\"per-token\";r=")),
            "{quotas:?}"
        );
    }
    let before = h.whole_store();
    for _ in 0..3 {
        let r = h.post("/api/invites/redeem", None, &refused_redemption(token));
        let p = r.problem(429);
        assert_eq!(p["type"], "urn:partner-invites:problem:too-many-requests");
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(r.header("ratelimit-policy"), Some("\"per-token\";q=3;w=60"));
        assert!(
            r.header("ratelimit")
                .is_some_and(|v| v.starts_with("\"per-token\";r=0;t="))
        );
    }
    // The registration form gets the limit as a page; the page itself still shows.
    let form = format!("token={token}");
    let r = h.request(
        "POST",
        "/api/invites/redeem",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        form.as_bytes(),
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.header("retry-after").is_some());
    assert_eq!(h.get(&page, None).status, 200);
    assert_eq!(
        h.whole_store(),
        before,
        "the limited requests wrote nothing"
    );
}

#[test]
fn made_up_links_are_refused_without_counting() {
    let h = limited(2, 2, 1000);
    h.setup_partner("p1", false);
    let before = h.whole_store();
    for n in 0..20 {
        let token = format!("pi1.k1.made-up-{n}");
        let r = h.post(
            "/api/invites/redeem",
            None,
            &serde_json::json!({"token": token}),
        );
        assert!(
            (400..500).contains(&r.status) && r.status != 429,
            "{} {}",
            r.status,
            r.body
        );
        assert_eq!(h.get(&format!("/invite/{token}"), None).status / 100, 4);
    }
    assert_eq!(h.whole_store(), before, "nothing counted, nothing written");
}

#[test]
fn one_address_is_limited_across_links_and_a_partner_across_the_api_writes() {
    let h = limited(4, 1000, 6);
    h.setup_partner("p1", false); // 1 partner write
    let p1 = h.partner("p1");
    let a = h.invite("p1", "a@globex.example"); // 2
    let b = h.invite("p1", "b@globex.example"); // 3
    let (a, b) = (
        a["token"].as_str().expect("token"),
        b["token"].as_str().expect("token"),
    );
    for token in [a, b, a, b] {
        let r = h.post("/api/invites/redeem", None, &refused_redemption(token));
        assert_eq!(r.status, 422, "{}", r.body);
    }
    let r = h.post("/api/invites/redeem", None, &refused_redemption(a));
    r.problem(429);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"per-address\";q=4;w=60")
    );

    // Reads are never counted.
    for _ in 0..10 {
        assert_eq!(h.get("/api/invites", Some(&p1)).status, 200);
    }
    for email in ["c@globex.example", "d@globex.example", "e@globex.example"] {
        h.invite("p1", email); // 4, 5, 6
    }
    let before = h.whole_store();
    let r = h.post(
        "/api/invites/generate",
        Some(&p1),
        &e2e::invite_body("f@globex.example"),
    );
    r.problem(429);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"per-partner\";q=6;w=60")
    );
    assert_eq!(h.get("/api/invites", Some(&p1)).status, 200);
    assert_eq!(
        h.whole_store(),
        before,
        "the limited request and the read wrote nothing"
    );
    // Another partner is not limited by p1's use.
    h.setup_partner("p2", false);
    h.invite("p2", "a@initech.example");
}
