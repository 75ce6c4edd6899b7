//! Fault injection: every multi-write operation is cut at each of its
//! writes, in each of four ways, and a fresh app on the same store must then
//! reach a consistent state with nothing lost.
//!
//! For an operation that makes N writes unhindered, each case runs it with
//! one [`Fault`] at write k (1..=N): the request stops there (a crash, a
//! trap, a timeout), the write fails and the request goes on, the write lands
//! but is reported failed, or a swap does not land but is reported won. Then
//! the follow-ups a user would make (the same request again, a read of the
//! record, the lists) run on a fresh app, and the invariants of
//! `support/invariants.rs` and the operation's own outcome are checked.

mod support;

use std::collections::BTreeMap;

use partner_invites::problem::ProblemKind;
use partner_invites::store::testing::{Fault, FaultyStore, OvertakenStore};
use support::invariants::contents;
use support::scenarios::*;
use support::*;

/// Fault points (single writes, each entry of a batch its own) the
/// operation passes when nothing goes wrong.
fn writes_of(op: Op) -> usize {
    let w = World::relayed();
    let c = setup(&w);
    let faulty = FaultyStore::new(&w.store, None);
    let app = w.app_on(&faulty);
    block_on(run(&app, op, &c)).unwrap_or_else(|p| panic!("{op:?} unhindered: {p}"));
    faulty.points()
}

/// The world [`setup`] leaves, and what the checks compare with.
fn prepared() -> (World, Ctx, Snapshot) {
    let w = World::relayed();
    let c = setup(&w);
    let before = Snapshot {
        counters: contents(&w.store.snapshot()).counters,
        retrying: retrying(&w),
        ..Snapshot::default()
    };
    (w, c, before)
}

/// What is wrong once the reads a user makes have finished everything: the
/// invariants, and the operation's own outcome.
fn settled_problems(w: &World, op: Op, c: &Ctx, before: &Snapshot) -> Vec<String> {
    read_everything(&w.app(), c);
    let mut problems = w.violations(&before.counters);
    if let Err(e) = outcome_holds(&w.app(), w, op, c, before) {
        problems.push(format!("outcome: {e}"));
    }
    problems
}

fn faults_at(k: usize) -> [Fault; 4] {
    [
        Fault::StopBefore(k),
        Fault::Fail(k),
        Fault::AppliedButReportedFailed(k),
        Fault::LostButReportedWon(k),
    ]
}

#[test]
fn every_operation_survives_a_fault_at_every_write() {
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for op in OPS {
        let n = writes_of(op);
        table.push(format!("{op:?}: {n} writes"));
        for k in 1..=n {
            for fault in faults_at(k) {
                cases += 1;
                let (w, c, mut before) = prepared();
                {
                    let faulty = FaultyStore::new(&w.store, Some(fault));
                    let app = w.app_on(&faulty);
                    let _ = block_on(run(&app, op, &c));
                }
                let again = follow_up(&w.app(), op, &c);
                before.retry_in_progress = again
                    .as_ref()
                    .is_err_and(|p| p.kind == ProblemKind::InvalidState);
                let mut problems = Vec::new();
                if !(retry_ok(op, &again) || op == Op::GenerateWithKey && before.retry_in_progress)
                {
                    problems.push(format!("the retry answered {again:?}"));
                }
                // A second round of reads finishes anything the first left.
                problems.extend(settled_problems(&w, op, &c, &before));
                if !problems.is_empty() {
                    failures.push(format!(
                        "{op:?} with {fault:?}:\n  {}",
                        problems.join("\n  ")
                    ));
                }
            }
        }
    }
    eprintln!("fault injection: {cases} cases\n{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A commit that another request finishes before its own request reads it
/// back (the other's settle rewrites the record, so the bytes this request
/// swapped in are gone) is still this request's success: each operation,
/// overtaken so after each of its swaps, answers as if unhindered and
/// leaves what it would, with nothing it prepared thrown away.
#[test]
fn every_operation_survives_being_overtaken_after_each_swap() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for op in OPS {
        for k in 1.. {
            let (w, c, before) = prepared();
            let reader = w.app();
            let store =
                OvertakenStore::new(&w.store, k, Box::new(|| Box::pin(read_all(&reader, &c))));
            let outcome = block_on(run(&w.app_on(&store), op, &c));
            if store.swaps() < k {
                break;
            }
            if !store.fired() {
                continue;
            }
            cases += 1;
            let mut problems = Vec::new();
            if let Err(p) = outcome {
                problems.push(format!("the request answered {p}"));
            }
            problems.extend(settled_problems(&w, op, &c, &before));
            if !problems.is_empty() {
                failures.push(format!(
                    "{op:?} overtaken after swap {k}:\n  {}",
                    problems.join("\n  ")
                ));
            }
        }
    }
    eprintln!("overtaken: {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_invariants_hold_after_the_unhindered_flows() {
    let w = World::relayed();
    let c = setup(&w);
    for op in [Op::RedeemNew, Op::Request, Op::Approve] {
        block_on(run(&w.app(), op, &c)).unwrap_or_else(|p| panic!("{op:?}: {p}"));
    }
    let found = w.violations(&BTreeMap::new());
    assert!(found.is_empty(), "{found:#?}");
}
