//! Store writes per request, counted as Spin's SQLite store commits them:
//! every `set`, `delete`, `increment` and swap is its own fsync'd
//! transaction under one node-wide lock, a `set-many` or `delete-many` one
//! for the batch ([`FaultyStore::writes`]). A node does about 1,100 of them a
//! second, so a writing request's throughput is its count.
//!
//! The budgets are per request through the API, rate limiter included. The
//! limiter (`ops/limits.rs`, not counted here) writes on one request in a
//! stride while a counter is below half its limit: with the default limits
//! one API write in 156 and about one redemption in 11 ([`limiter_share`]),
//! so the operation's own writes must stay within the budget. A read
//! writes nothing.

mod support;

use partner_invites::ops::{Limits, stride};
use partner_invites::store::testing::FaultyStore;
use support::scenarios::*;
use support::*;

/// The writes `op` makes, on the world [`setup`] leaves, and each in order.
fn writes(op: Op) -> (usize, Vec<String>) {
    let w = World::relayed();
    let c = setup(&w);
    let faulty = FaultyStore::new(&w.store, None);
    w.store.start_trace();
    block_on(run(&w.app_on(&faulty), op, &c)).unwrap_or_else(|p| panic!("{op:?}: {p}"));
    let trace = w.store.take_trace();
    let written = trace
        .into_iter()
        .filter(|t| !t.starts_with("get") && !t.starts_with("cas-begin"))
        .collect();
    (faulty.writes(), written)
}

/// The writes a request spends on the rate limiter on average, with the
/// default limits, far below them: one increment in a stride per scope.
fn limiter_share(op: Op) -> f64 {
    let limits = Limits::default();
    let share = |limit| 1.0 / stride(limit) as f64;
    match op {
        Op::RedeemNew | Op::RedeemExisting => {
            share(limits.link_per_address) + share(limits.link_per_token)
        }
        _ => share(limits.partner),
    }
}

/// Each operation: its budget (with the limiter's write), and the ceiling
/// it is held to today where the budget is not met (see the module doc of
/// `store` for why each write is there).
const BUDGETS: [(Op, usize, usize); 9] = [
    (Op::Generate, 2, 9),
    (Op::RedeemNew, 4, 10),
    (Op::RedeemExisting, 4, 10),
    (Op::Request, 4, 10),
    (Op::Approve, 4, 10),
    (Op::End, 4, 8),
    (Op::ChangeDown, 4, 7),
    (Op::AskChange, 4, 11),
    (Op::ApproveChange, 4, 9),
];

#[test]
fn each_writing_request_stays_within_its_writes() {
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (op, budget, ceiling) in BUDGETS {
        let (n, trace) = writes(op);
        let limiter = limiter_share(op);
        let met = if n <= budget { "met" } else { "NOT met" };
        report.push(format!(
            "{op:?}: {n} + {limiter:.3} limiter, budget {budget} {met}\n  {}",
            trace.join("\n  ")
        ));
        if n > ceiling {
            over.push(format!("{op:?}: {n} writes, at most {ceiling}"));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        over.is_empty(),
        "{}\n{}",
        over.join("\n"),
        report.join("\n")
    );
}

/// The work after a writing answer ([`Dispatcher::piggyback`]) writes
/// nothing when nothing is due: every write it would make costs the node a
/// store transaction.
///
/// [`Dispatcher::piggyback`]: partner_invites::ops::dispatch::Dispatcher::piggyback
#[test]
fn a_piggyback_with_nothing_due_writes_nothing() {
    for (op, ..) in BUDGETS {
        let w = World::relayed();
        let c = setup(&w);
        // What [`setup`] left due is attempted first.
        block_on(run(&w.app(), Op::Dispatch, &c)).expect("dispatch");
        block_on(run(&w.app(), op, &c)).unwrap_or_else(|p| panic!("{op:?}: {p}"));
        let faulty = FaultyStore::new(&w.store, None);
        w.store.start_trace();
        block_on(w.app_on(&faulty).dispatcher().piggyback()).expect("piggyback");
        let trace = w.store.take_trace();
        assert_eq!(
            faulty.writes(),
            0,
            "{op:?}: the piggyback after it wrote:\n  {}",
            trace.join("\n  ")
        );
    }
}
