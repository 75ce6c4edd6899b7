//! Rate limits as the store sees them: what each window leaves behind.

mod support;

use partner_invites::ops::{Limits, Scope};
use support::*;

/// The rate-limit counters in the store, as `scope/window`.
fn counters(w: &World) -> Vec<String> {
    w.store
        .snapshot()
        .into_keys()
        .filter_map(|k| {
            let mut parts = k.strip_prefix("rl/")?.split('/');
            let scope = parts.next()?;
            let window = parts.nth(1)?;
            Some(format!("{scope}/{window}"))
        })
        .collect()
}

#[test]
fn each_window_deletes_the_counters_of_the_one_before_even_with_a_scope_off() {
    let w = World::new();
    let mut app = w.app();
    app.config.limits = Limits {
        link_per_address: 0,
        ..Limits::default()
    };
    let subjects = [
        (Scope::Address, "192.0.2.7"),
        (Scope::Token, "pi1.k1.token"),
    ];
    let quotas = block_on(app.limiter().count(&subjects)).expect("counted");
    assert_eq!(quotas.len(), 1, "the address is not counted: {quotas:?}");
    assert_eq!(quotas[0].scope, Scope::Token);
    let first = START - START % 60;
    assert_eq!(counters(&w), [format!("per-token/{first}")]);

    w.clock.advance(60);
    block_on(app.limiter().count(&subjects)).expect("counted");
    assert_eq!(
        counters(&w),
        [format!("per-token/{}", first + 60)],
        "the window before is gone"
    );
}
