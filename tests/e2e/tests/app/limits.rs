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

#[test]
fn a_burst_on_one_link_is_limited_per_token_and_the_limited_requests_write_nothing() {
    let h = limited(1000, 3, 1000);
    h.setup_partner("p1", false);
    let invite = h.invite("p1", "ada@globex.example");
    let token = invite["token"].as_str().expect("token");
    let path = format!("/invite/{token}");
    for _ in 0..3 {
        let r = h.get(&path, None);
        assert_eq!(r.status, 200, "{}", r.body);
        let quotas = r.header_values("ratelimit");
        assert!(
            quotas.iter().any(|v| v.starts_with("\"per-token\";r=")),
            "{quotas:?}"
        );
    }
    let before = h.whole_store();
    for _ in 0..5 {
        let r = h.get(&path, None);
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
    // The same for redemption with that token, and for the page.
    let r = h.post(
        "/api/invites/redeem",
        None,
        &serde_json::json!({"token": token}),
    );
    r.problem(429);
    let page = h.request("GET", &path, &[("accept", "text/html")], b"");
    assert_eq!(page.status, 429);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.header("retry-after").is_some());
    assert_eq!(
        h.whole_store(),
        before,
        "the limited requests wrote nothing"
    );
}

#[test]
fn one_address_is_limited_across_links_and_a_partner_across_the_api() {
    let h = limited(4, 1000, 6);
    h.setup_partner("p1", false); // 1 partner request
    let p1 = h.partner("p1");
    let a = h.invite("p1", "a@globex.example"); // 2
    let b = h.invite("p1", "b@globex.example"); // 3
    for invite in [&a, &b, &a, &b] {
        let path = format!("/invite/{}", invite["token"].as_str().expect("token"));
        assert_eq!(h.get(&path, None).status, 200);
    }
    let path = format!("/invite/{}", a["token"].as_str().expect("token"));
    let r = h.get(&path, None);
    r.problem(429);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"per-address\";q=4;w=60")
    );

    for _ in 0..3 {
        assert_eq!(h.get("/api/invites", Some(&p1)).status, 200); // 4, 5, 6
    }
    let before = h.whole_store();
    let r = h.get("/api/invites", Some(&p1));
    r.problem(429);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"per-partner\";q=6;w=60")
    );
    let r = h.post(
        "/api/invites/generate",
        Some(&p1),
        &e2e::invite_body("c@globex.example"),
    );
    r.problem(429);
    assert_eq!(
        h.whole_store(),
        before,
        "the limited requests wrote nothing"
    );
    // Another partner is not limited by p1's use.
    h.setup_partner("p2", false);
    assert_eq!(h.get("/api/invites", Some(&h.partner("p2"))).status, 200);
}
