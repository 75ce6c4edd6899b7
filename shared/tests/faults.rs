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

use partner_invites::ops::{App, Authority, PageRequest};
use partner_invites::outbound::Transport;
use partner_invites::problem::{Problem, ProblemKind};
use partner_invites::store::KeyValue;
use partner_invites::store::testing::{Fault, FaultyStore};
use support::invariants::{contents, violations};
use support::*;

/// What the operations under test need, made by [`setup`].
#[derive(Debug, Clone)]
struct Ctx {
    /// p1's pending invite to a new customer.
    invite: String,
    invite_token: String,
    /// p1's pending invite to the admin of `org`.
    link_invite: String,
    link_token: String,
    /// An organization registered through p0's invite.
    org: String,
    /// p2's pending request to `org`, and its approval link's token.
    request: String,
    approval_token: String,
}

/// The operations, each one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Generate,
    GenerateWithKey,
    Resend,
    Revoke,
    RedeemNew,
    RedeemExisting,
    Request,
    Approve,
    Decline,
    Withdraw,
    PutProfile,
}

const OPS: [Op; 11] = [
    Op::Generate,
    Op::GenerateWithKey,
    Op::Resend,
    Op::Revoke,
    Op::RedeemNew,
    Op::RedeemExisting,
    Op::Request,
    Op::Approve,
    Op::Decline,
    Op::Withdraw,
    Op::PutProfile,
];

fn page() -> PageRequest {
    PageRequest::default()
}

fn profile_body(name: &str, webhook: bool) -> Vec<u8> {
    let mut body = serde_json::json!({
        "display_name": name,
        "billing_accounts": ["billing@partner.example"],
    });
    if webhook {
        body["webhook_url"] = serde_json::json!(format!("https://hooks.example/{name}"));
    }
    body.to_string().into_bytes()
}

fn approval_token(w: &World) -> String {
    let mails = w.transport.sent();
    let text = mails
        .iter()
        .rev()
        .filter(|m| m.url == "https://relay.example/send")
        .find_map(|m| {
            let v: serde_json::Value = serde_json::from_slice(&m.body).ok()?;
            let text = v["text"].as_str()?.to_string();
            text.contains("/connect/").then_some(text)
        })
        .expect("an approval email");
    let start = text.find("/connect/").expect("link") + "/connect/".len();
    text[start..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_string()
}

/// Partners p0..p3 (p1, p2 and p3 with webhooks), an organization, two
/// pending invites of p1 and a pending request of p2.
fn setup(w: &World) -> Ctx {
    let app = w.app();
    block_on(async {
        for (p, hook) in [("p0", false), ("p1", true), ("p2", true), ("p3", true)] {
            app.put_profile(p, &profile_body(p, hook))
                .await
                .expect("profile");
        }
        let first = app
            .create_invite(&partner("p0"), &invite_body("admin@org.example"), None)
            .await
            .expect("invite");
        let body = serde_json::json!({"token": first.token.expect("token")});
        let org = app
            .redeem_invite(None, body.to_string().as_bytes())
            .await
            .expect("redeemed")
            .organization_id;
        let invite = app
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None)
            .await
            .expect("invite");
        let link = app
            .create_invite(&partner("p1"), &invite_body("admin@org.example"), None)
            .await
            .expect("invite");
        let asked = serde_json::json!({"organization_id": org, "connection": "msp"});
        let request = app
            .request_connection(&partner("p2"), asked.to_string().as_bytes())
            .await
            .expect("request");
        Ctx {
            invite: invite.id,
            invite_token: invite.token.expect("token"),
            link_invite: link.id,
            link_token: link.token.expect("token"),
            org,
            request: request.id,
            approval_token: approval_token(w),
        }
    })
}

/// The request itself.
async fn run<S: KeyValue, T: Transport>(app: &App<S, T>, op: Op, c: &Ctx) -> Result<(), Problem> {
    let p1 = partner("p1");
    match op {
        Op::Generate => app
            .create_invite(&p1, &invite_body("new@acme.example"), None)
            .await
            .map(drop),
        Op::GenerateWithKey => app
            .create_invite(&p1, &invite_body("new@acme.example"), Some("crm-1"))
            .await
            .map(drop),
        Op::Resend => app.resend_invite(&p1, &c.invite).await.map(drop),
        Op::Revoke => app.revoke_invite(&p1, &c.invite).await.map(drop),
        Op::RedeemNew => {
            let body = serde_json::json!({"token": c.invite_token, "organization": {"company": {"address": {"postcode": "10115"}}}});
            app.redeem_invite(None, body.to_string().as_bytes())
                .await
                .map(drop)
        }
        Op::RedeemExisting => {
            let body = serde_json::json!({"token": c.link_token, "organization_id": c.org});
            app.redeem_invite(Some(&admin(&c.org)), body.to_string().as_bytes())
                .await
                .map(drop)
        }
        Op::Request => {
            let body = serde_json::json!({"organization_id": c.org, "connection": "reseller_with_support"});
            app.request_connection(&partner("p3"), body.to_string().as_bytes())
                .await
                .map(drop)
        }
        Op::Approve => app
            .approve_request(&c.request, Authority::Link(&c.approval_token))
            .await
            .map(drop),
        Op::Decline => app
            .decline_request(&c.request, Authority::Bearer(&admin(&c.org)))
            .await
            .map(drop),
        Op::Withdraw => app
            .withdraw_request(&partner("p2"), &c.request)
            .await
            .map(drop),
        Op::PutProfile => app
            .put_profile("p1", &profile_body("p1 renamed", true))
            .await
            .map(drop),
    }
}

/// Fine outcomes of the same request sent again, after the first one's fate.
fn retry_ok(op: Op, outcome: &Result<(), Problem>) -> bool {
    let kind = outcome.as_ref().err().map(|p| p.kind);
    matches!(
        (op, kind),
        (_, None)
            | (
                Op::Revoke | Op::Approve | Op::Decline,
                Some(ProblemKind::InvalidState)
            )
            | (Op::Withdraw, Some(ProblemKind::Revoked))
            | (
                Op::RedeemNew | Op::RedeemExisting,
                Some(ProblemKind::AlreadyAccepted)
            )
            | (Op::Request, Some(ProblemKind::DuplicateRequest))
    )
}

/// What a user does next on a fresh app: the request again, then reads.
/// Answers the retry's outcome.
fn follow_up(w: &World, op: Op, c: &Ctx) -> Result<(), Problem> {
    let again = block_on(run(&w.app(), op, c));
    read_everything(w, c);
    again
}

/// Every read that finishes what a request left: invites, lists.
fn read_everything(w: &World, c: &Ctx) {
    let app = w.app();
    block_on(async {
        let p1 = partner("p1");
        let mut orgs = vec![c.org.clone()];
        for id in [&c.invite, &c.link_invite] {
            if let Ok(i) = app.get_invite(&p1, id).await {
                orgs.extend(i.organization_id);
            }
        }
        for p in ["p1", "p2", "p3"] {
            app.list_invites(&partner(p), None, page())
                .await
                .expect("invites");
            app.list_customers(p, page()).await.expect("customers");
            app.list_requests(&partner(p), page())
                .await
                .expect("requests");
        }
        for org in orgs {
            app.list_partners(&org, page()).await.expect("partners");
        }
    })
}

/// The operation's own outcome, once followed up.
fn outcome_holds(w: &World, op: Op, c: &Ctx, before: &Snapshot) -> Result<(), String> {
    let app = w.app();
    block_on(async {
        let p1 = partner("p1");
        let invite = app
            .get_invite(&p1, &c.invite)
            .await
            .map_err(|p| p.to_string())?;
        let linked = app
            .get_invite(&p1, &c.link_invite)
            .await
            .map_err(|p| p.to_string())?;
        let p2_requests = app
            .list_requests(&partner("p2"), page())
            .await
            .map_err(|p| p.to_string())?;
        let q = p2_requests
            .items
            .iter()
            .find(|r| r.id == c.request)
            .map(|r| r.status);
        let invites = app
            .list_invites(
                &p1,
                None,
                PageRequest::parse(Some("100"), None).expect("page"),
            )
            .await
            .map_err(|p| p.to_string())?;
        let want = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
        match op {
            Op::Generate | Op::GenerateWithKey => {
                let new = invites
                    .items
                    .iter()
                    .filter(|i| i.customer.contact.email == "new@acme.example")
                    .count();
                let wanted = if op == Op::Generate { 2 } else { 1 };
                // Without a key the retry makes a second invite; with one,
                // exactly one exists (or none, if the first request stopped
                // between claiming the key and recording it).
                if op == Op::GenerateWithKey && new == 0 {
                    return want(
                        before.retry_in_progress,
                        "no invite under the key, and the retry was not told the key is in progress",
                    );
                }
                want(
                    new == wanted || (op == Op::Generate && new == 1),
                    &format!("{new} new invites"),
                )
            }
            Op::Resend => want(
                invite.generation >= 1 && invite.status == "pending",
                &format!("generation {}", invite.generation),
            ),
            Op::Revoke => want(invite.status == "revoked", invite.status),
            Op::RedeemNew => want(invite.status == "accepted", invite.status),
            Op::RedeemExisting => want(linked.status == "accepted", linked.status),
            Op::Request => {
                let mine = app
                    .list_requests(&partner("p3"), page())
                    .await
                    .map_err(|p| p.to_string())?;
                let open = mine.items.iter().filter(|r| r.status == "pending").count();
                want(open == 1, &format!("{open} open requests of p3"))
            }
            Op::Approve => want(q == Some("approved"), &format!("{q:?}")),
            Op::Decline => want(q == Some("declined"), &format!("{q:?}")),
            Op::Withdraw => want(q == Some("withdrawn"), &format!("{q:?}")),
            Op::PutProfile => {
                let p = app.get_profile("p1").await.map_err(|p| p.to_string())?;
                want(p.display_name == "p1 renamed", &p.display_name)
            }
        }
    })
}

#[derive(Debug, Default)]
struct Snapshot {
    counters: BTreeMap<String, u64>,
    retry_in_progress: bool,
}

/// Writes the operation makes when nothing goes wrong.
fn writes_of(op: Op) -> usize {
    let w = World::relayed();
    let c = setup(&w);
    let faulty = FaultyStore::new(&w.store, None);
    let app = w.app_on(&faulty);
    block_on(run(&app, op, &c)).unwrap_or_else(|p| panic!("{op:?} unhindered: {p}"));
    faulty.writes()
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
                let w = World::relayed();
                let c = setup(&w);
                let mut before = Snapshot {
                    counters: contents(&w.store.snapshot()).counters,
                    ..Snapshot::default()
                };
                {
                    let faulty = FaultyStore::new(&w.store, Some(fault));
                    let app = w.app_on(&faulty);
                    let _ = block_on(run(&app, op, &c));
                }
                let again = follow_up(&w, op, &c);
                before.retry_in_progress = again
                    .as_ref()
                    .is_err_and(|p| p.kind == ProblemKind::InvalidState);
                let mut problems = Vec::new();
                if !(retry_ok(op, &again) || op == Op::GenerateWithKey && before.retry_in_progress)
                {
                    problems.push(format!("the retry answered {again:?}"));
                }
                // A second round of reads finishes anything the first left.
                read_everything(&w, &c);
                problems.extend(violations(&contents(&w.store.snapshot()), &before.counters));
                if let Err(e) = outcome_holds(&w, op, &c, &before) {
                    problems.push(format!("outcome: {e}"));
                }
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

#[test]
fn the_invariants_hold_after_the_unhindered_flows() {
    let w = World::relayed();
    let c = setup(&w);
    for op in [Op::RedeemNew, Op::Request, Op::Approve] {
        block_on(run(&w.app(), op, &c)).unwrap_or_else(|p| panic!("{op:?}: {p}"));
    }
    let found = violations(&contents(&w.store.snapshot()), &BTreeMap::new());
    assert!(found.is_empty(), "{found:#?}");
}
