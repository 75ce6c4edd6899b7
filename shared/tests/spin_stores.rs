//! The store seam against stores that answer as Spin 4.1's do: get-many of
//! several keys fails, every swap is reported as failed (Spin's Redis store
//! today) or as won (once its UNWATCH is fixed), and a swap of an absent key
//! overwrites (Spin's SQLite store). Every operation, its follow-ups and the
//! lists run on such a store; each must reach its outcome, the invariants
//! must hold, and racing redemptions must still have one winner.

mod support;

use partner_invites::ops::PageRequest;
use partner_invites::problem::ProblemKind;
use partner_invites::store::testing::{SpinLike, SpinLikeStore};
use support::invariants::contents;
use support::scenarios::*;
use support::*;

const MODES: [SpinLike; 2] = [SpinLike::Spin, SpinLike::SpinNext];

#[test]
fn every_operation_reaches_its_outcome_on_spins_stores() {
    let mut failures = Vec::new();
    for mode in MODES {
        for op in OPS {
            let w = World::relayed();
            let store = SpinLikeStore::new(&w.store, mode);
            let app = w.app_on(&store);
            let c = setup_on(&app, &w);
            let before = Snapshot {
                counters: contents(&w.store.snapshot()).counters,
                retrying: retrying(&w),
                ..Snapshot::default()
            };
            if let Err(p) = block_on(run(&app, op, &c)) {
                failures.push(format!("{mode:?} {op:?}: {p}"));
                continue;
            }
            read_everything(&app, &c);
            let mut problems = w.violations(&before.counters);
            if let Err(e) = outcome_holds(&app, &w, op, &c, &before) {
                problems.push(format!("outcome: {e}"));
            }
            if !problems.is_empty() {
                failures.push(format!("{mode:?} {op:?}:\n  {}", problems.join("\n  ")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn racing_redemptions_have_one_winner_on_spins_stores() {
    for mode in MODES {
        let w = World::new();
        let store = SpinLikeStore::new(&w.store, mode);
        let token = block_on(w.app_on(&store).create_invite(
            &partner("p1"),
            &invite_body("ada@acme.example"),
            None,
        ))
        .expect("created")
        .token
        .expect("token");
        let body = serde_json::json!({ "token": token }).to_string();
        let outcomes: Vec<_> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..32)
                .map(|_| {
                    s.spawn(|| block_on(w.app_on(&store).redeem_invite(None, body.as_bytes())))
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().expect("racer"))
                .collect()
        });
        let wins = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(wins, 1, "{mode:?}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .filter_map(|o| o.as_ref().err())
                .all(|p| p.kind == ProblemKind::AlreadyAccepted),
            "{mode:?}: {outcomes:?}"
        );
        let customers = block_on(
            w.app_on(&store)
                .list_customers("p1", PageRequest::default()),
        )
        .expect("customers");
        assert_eq!(customers.items.len(), 1, "{mode:?}");
        let found = w.violations(&Default::default());
        assert!(found.is_empty(), "{mode:?}: {found:#?}");
    }
}
