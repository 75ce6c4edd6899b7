//! Rate limits as the store sees them: a fixed set of counters, reused
//! window after window, whatever the traffic.

mod support;

use partner_invites::ops::{BUCKETS, Limits, Scope};
use partner_invites::token::{Claims, KeyRing, Purpose, Role};
use partner_invites::web::Incoming;
use partner_invites::web::api;
use partner_invites::web::routes::PARTNER_SETTINGS;
use support::*;

/// The rate-limit counters in the store.
fn counters(w: &World) -> Vec<String> {
    w.store
        .snapshot()
        .into_keys()
        .filter(|k| k.starts_with("rl/"))
        .collect()
}

#[test]
fn distinct_addresses_and_links_never_add_counters_beyond_the_buckets() {
    let w = World::new();
    let app = w.app();
    for round in 0..3 {
        for n in 0..6_000 {
            let address = format!("198.51.{}.{}", n / 256, n % 256);
            let link = format!("Invite/inv{round}x{n}");
            block_on(
                app.limiter()
                    .count(&[(Scope::Address, &address), (Scope::Token, &link)]),
            )
            .expect("under the limits");
        }
        w.clock.advance(60);
    }
    let keys = counters(&w);
    assert!(
        keys.len() as u64 <= 2 * BUCKETS,
        "{} counters for 36,000 subjects",
        keys.len()
    );
}

#[test]
fn made_up_links_are_not_counted_and_write_nothing() {
    let w = World::new();
    let app = w.app();
    let before = w.store.snapshot();
    for n in 0..1_000 {
        let quotas = block_on(app.limiter().count_link(
            &format!("203.0.113.{}", n % 256),
            &format!("pi1.k1.made-up-{n}"),
            Purpose::Invite,
        ))
        .expect("not refused");
        assert!(quotas.is_empty(), "{quotas:?}");
    }
    assert_eq!(w.store.snapshot(), before);
}

#[test]
fn a_counter_starts_again_in_each_window_even_with_a_scope_off() {
    let w = World::new();
    let mut app = w.app();
    app.config.limits = Limits {
        link_per_address: 0,
        link_per_token: 3,
        ..Limits::default()
    };
    let subjects = [(Scope::Address, "192.0.2.7"), (Scope::Token, "Invite/inv1")];
    for remaining in [2, 1, 0] {
        let quotas = block_on(app.limiter().count(&subjects)).expect("counted");
        assert_eq!(quotas.len(), 1, "the address is not counted: {quotas:?}");
        assert_eq!(
            (quotas[0].scope, quotas[0].remaining),
            (Scope::Token, remaining)
        );
    }
    let before = w.store.snapshot();
    let refused = block_on(app.limiter().count(&subjects)).expect_err("over the limit");
    assert_eq!(refused.status(), 429);
    assert_eq!(
        w.store.snapshot(),
        before,
        "a refused request writes nothing"
    );

    w.clock.advance(60);
    let quotas = block_on(app.limiter().count(&subjects)).expect("a new window");
    assert_eq!(quotas[0].remaining, 2);
    assert_eq!(counters(&w).len(), 1, "the same counter, moved on");
}

#[test]
fn a_counter_counts_in_strides_below_half_its_limit_and_each_request_above() {
    let w = World::new();
    let mut app = w.app();
    let limit = 6_400;
    app.config.limits = Limits {
        partner: limit,
        ..Limits::default()
    };
    let subjects = [(Scope::Partner, "p1")];
    w.store.start_trace();
    let mut counted = 0u32;
    let mut first_half_writes = 0;
    while block_on(app.limiter().count(&subjects)).is_ok() {
        counted += 1;
        if counted == limit / 3 {
            first_half_writes = w
                .store
                .take_trace()
                .iter()
                .filter(|t| t.starts_with("increment"))
                .count();
        }
        assert!(counted <= 2 * limit, "never refused");
    }
    assert!(
        (limit * 8 / 10..=limit * 12 / 10).contains(&counted),
        "{counted} requests let through for a limit of {limit}"
    );
    // A third of the limit is 2,133 requests: about 21 writes in strides of
    // 100, where counting each would be 2,133.
    assert!(
        (5..=60).contains(&first_half_writes),
        "{first_half_writes} writes for {} requests",
        limit / 3
    );
}

/// `Authorization` for partner `partner_id`: a `pi1` access token of the
/// test ring.
fn partner_bearer(partner_id: &str) -> String {
    let claims = Claims {
        purpose: Purpose::Access,
        record_id: "at_1".into(),
        partner_id: Some(partner_id.into()),
        organization_id: None,
        subject: Some("u1".into()),
        role: Some(Role::Partner),
        issued_at: START,
        expires_at: START + 3_600,
        generation: 0,
    };
    let token = KeyRing::parse(RING)
        .expect("test ring")
        .sign(&claims)
        .expect("signed");
    format!("Bearer {token}")
}

#[test]
fn a_partners_writes_through_the_api_are_counted_and_its_reads_are_not() {
    let w = World::new();
    let mut app = w.app();
    app.config.limits = Limits {
        partner: 2,
        ..Limits::default()
    };
    let bearer = partner_bearer("p1");
    let status = |method: &str, path: &str| {
        let (endpoint, params) = api::route(PARTNER_SETTINGS, method, path).expect("a route");
        let req = Incoming {
            method: method.into(),
            path: path.into(),
            headers: vec![("authorization".into(), bearer.clone())],
            ..Incoming::default()
        };
        block_on(api::partner_settings(&app, &req, endpoint, &params)).status
    };
    for _ in 0..5 {
        assert_ne!(status("GET", "/api/partner"), 429, "a read is not counted");
    }
    let writes: Vec<u16> = (0..3)
        .map(|_| status("POST", "/api/webhooks/enable"))
        .collect();
    assert!(
        writes[..2].iter().all(|s| *s != 429) && writes[2] == 429,
        "the third write is over the limit of two: {writes:?}"
    );
    assert_ne!(
        status("GET", "/api/partner"),
        429,
        "a read is not refused either"
    );
}
