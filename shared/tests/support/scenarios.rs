//! The operations under test, one request each, with the world they need,
//! the follow-ups a user would make, and what each must have achieved: shared
//! by the fault-injection suite and the Spin-store suite.

use std::collections::BTreeMap;

use partner_invites::domain::{Deliverable, DeliveryState};
use partner_invites::ops::{App, Authority, PageRequest};
use partner_invites::outbound::Transport;
use partner_invites::problem::{Problem, ProblemKind};
use partner_invites::store::{KeyValue, Slot};

use super::*;

/// What the operations under test need, made by [`setup`].
#[derive(Debug, Clone)]
pub struct Ctx {
    /// p1's pending invite to a new customer.
    pub invite: String,
    pub invite_token: String,
    /// p1's pending invite to the admin of `org`.
    pub link_invite: String,
    pub link_token: String,
    /// An organization registered through p0's invite.
    pub org: String,
    /// p2's pending request to `org`, and its approval link's token.
    pub request: String,
    pub approval_token: String,
    /// p0's relationship with `org` (reseller with support).
    pub relationship: String,
    /// p4's relationship with `org` (reseller with support).
    pub relationship4: String,
    /// p5's relationship with `org` (reseller with support), its request to
    /// change to MSP, and the approval link's token.
    pub relationship5: String,
    pub change_request: String,
    pub change_token: String,
}

/// The operations, each one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
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
    PutOrganization,
    Import,
    /// The due attempts of what failed in [`setup`].
    Dispatch,
    /// p0 ends its relationship.
    End,
    /// The organization's admin ends p5's, while a change waits.
    EndByAdmin,
    /// p0 changes to reseller without support (at once).
    ChangeDown,
    /// p4 asks to change to MSP.
    AskChange,
    ApproveChange,
    DeclineChange,
    WithdrawChange,
}

pub const OPS: [Op; 21] = [
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
    Op::PutOrganization,
    Op::Import,
    Op::Dispatch,
    Op::End,
    Op::EndByAdmin,
    Op::ChangeDown,
    Op::AskChange,
    Op::ApproveChange,
    Op::DeclineChange,
    Op::WithdrawChange,
];

/// The body of a change to `connection`.
pub fn change_body(connection: &str) -> partner_invites::ops::ChangeConnection {
    let body = serde_json::json!({ "connection": connection });
    partner_invites::ops::parse_json(body.to_string().as_bytes()).expect("change body")
}

pub fn page() -> PageRequest {
    PageRequest::default()
}

pub fn profile_body(name: &str, webhook: bool) -> Vec<u8> {
    let mut body = serde_json::json!({
        "display_name": name,
        "billing_accounts": ["billing@partner.example"],
    });
    if webhook {
        body["webhook_url"] = serde_json::json!(format!("https://hooks.example/{name}"));
    }
    body.to_string().into_bytes()
}

pub fn approval_token(w: &World) -> String {
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

/// Partners p0..p5 (p1..p5 with webhooks), an organization connected to
/// p0, p4 and p5 (p5 asking to change to MSP), two pending invites of p1 and
/// a pending request of p2.
pub fn setup(w: &World) -> Ctx {
    setup_on(&w.app(), w)
}

/// [`setup`] through `app` (on `w`'s store, or a store over it).
pub fn setup_on<S: KeyValue, T: Transport>(app: &App<S, T>, w: &World) -> Ctx {
    block_on(async {
        let partners = [
            ("p0", false),
            ("p1", true),
            ("p2", true),
            ("p3", true),
            ("p4", true),
            ("p5", true),
        ];
        for (p, hook) in partners {
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
        let mut relationships = Vec::new();
        for p in ["p0", "p4", "p5"] {
            if p != "p0" {
                let linked = app
                    .create_invite(&partner(p), &invite_body("admin@org.example"), None)
                    .await
                    .expect("invite");
                let body = serde_json::json!({"token": linked.token.expect("token"), "organization_id": org});
                app.redeem_invite(Some(&admin(&org)), body.to_string().as_bytes())
                    .await
                    .expect("linked");
            }
            let customers = app.list_customers(p, page()).await.expect("customers");
            relationships.push(customers.items[0].relationship_id.clone());
        }
        let asked = app
            .relationships()
            .change(&partner("p5"), &relationships[2], change_body("msp"))
            .await
            .expect("change asked");
        let partner_invites::ops::Changed::Asked(change_request) = asked else {
            panic!("a change to MSP waits for approval");
        };
        let change_token = approval_token(w);
        // Every endpoint is down for the last commit: its email and its
        // deliveries are left to be tried again, and are due.
        w.transport.answer_with(Ok(503));
        let asked = serde_json::json!({"organization_id": org, "connection": "msp"});
        let request = app
            .request_connection(&partner("p2"), asked.to_string().as_bytes())
            .await
            .expect("request");
        w.transport.answer_with(Ok(200));
        w.clock.advance(10);
        Ctx {
            invite: invite.id,
            invite_token: invite.token.expect("token"),
            link_invite: link.id,
            link_token: link.token.expect("token"),
            org,
            request: request.id,
            approval_token: approval_token(w),
            relationship: relationships[0].clone(),
            relationship4: relationships[1].clone(),
            relationship5: relationships[2].clone(),
            change_request: change_request.id,
            change_token,
        }
    })
}

/// The request itself.
pub async fn run<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    op: Op,
    c: &Ctx,
) -> Result<(), Problem> {
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
        Op::PutOrganization => app
            .organizations()
            .put(
                &operator(),
                "tenant-1",
                partner_invites::ops::parse_json(
                    br#"{"name": "Initech", "admins": [{"email": "it@initech.example"}]}"#,
                )?,
            )
            .await
            .map(drop),
        Op::Import => {
            let items = [
                r#"{"id": "tenant-1", "name": "Initech", "admins": [{"email": "it@initech.example"}]}"#,
                r#"{"id": "tenant-2", "name": "Globex", "admins": [{"email": "ops@globex.example"}], "settings": {"plan": "team"}}"#,
                r#"{"id": "tenant-3", "name": ""}"#,
            ]
            .iter()
            .map(|i| serde_json::from_str(i).map_err(|e| e.to_string()))
            .collect();
            app.organizations()
                .import(&operator(), items)
                .await
                .map(drop)
        }
        Op::Dispatch => dispatch_all(app).await,
        Op::End => {
            let end = partner_invites::ops::EndRelationship {
                reason: Some("contract ended".into()),
            };
            let p0 = partner("p0");
            app.relationships()
                .end(&p0, &c.relationship, end)
                .await
                .map(drop)
        }
        Op::EndByAdmin => app
            .relationships()
            .end(&admin(&c.org), &c.relationship5, Default::default())
            .await
            .map(drop),
        Op::ChangeDown => app
            .relationships()
            .change(
                &partner("p0"),
                &c.relationship,
                change_body("reseller_without_support"),
            )
            .await
            .map(drop),
        Op::AskChange => app
            .relationships()
            .change(&partner("p4"), &c.relationship4, change_body("msp"))
            .await
            .map(drop),
        Op::ApproveChange => app
            .approve_request(&c.change_request, Authority::Link(&c.change_token))
            .await
            .map(drop),
        Op::DeclineChange => app
            .decline_request(&c.change_request, Authority::Bearer(&admin(&c.org)))
            .await
            .map(drop),
        Op::WithdrawChange => app
            .withdraw_request(&partner("p5"), &c.change_request)
            .await
            .map(drop),
    }
}

/// What a scheduler does: dispatch calls until nothing due is left.
pub async fn dispatch_all<S: KeyValue, T: Transport>(app: &App<S, T>) -> Result<(), Problem> {
    for _ in 0..100 {
        if !app.dispatcher().dispatch(&operator(), None).await?.more {
            return Ok(());
        }
    }
    panic!("dispatch never drained the index");
}

/// The keys of the items [`setup`] left retrying.
pub fn retrying(w: &World) -> Vec<String> {
    let c = super::invariants::contents(&w.store.snapshot());
    let emails = c.emails.iter().filter_map(|(k, s)| match s {
        Slot::Record(e) => Some((k, e.state())),
        _ => None,
    });
    let deliveries = c.deliveries.iter().filter_map(|(k, s)| match s {
        Slot::Record(d) => Some((k, d.state())),
        _ => None,
    });
    emails
        .chain(deliveries)
        .filter(|(_, state)| *state == DeliveryState::Retrying)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Fine outcomes of the same request sent again, after the first one's fate.
pub fn retry_ok(op: Op, outcome: &Result<(), Problem>) -> bool {
    let kind = outcome.as_ref().err().map(|p| p.kind);
    matches!(
        (op, kind),
        (_, None)
            | (
                Op::Revoke
                    | Op::Approve
                    | Op::Decline
                    | Op::End
                    | Op::EndByAdmin
                    | Op::ChangeDown
                    | Op::ApproveChange
                    | Op::DeclineChange
                    | Op::WithdrawChange,
                Some(ProblemKind::InvalidState)
            )
            | (Op::AskChange, Some(ProblemKind::DuplicateRequest))
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
pub fn follow_up<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    op: Op,
    c: &Ctx,
) -> Result<(), Problem> {
    let again = block_on(run(app, op, c));
    read_everything(app, c);
    again
}

/// Every read that finishes what a request left: invites, lists.
pub fn read_everything<S: KeyValue, T: Transport>(app: &App<S, T>, c: &Ctx) {
    block_on(read_all(app, c))
}

/// What [`read_everything`] reads, for a caller already in a future.
pub async fn read_all<S: KeyValue, T: Transport>(app: &App<S, T>, c: &Ctx) {
    let p1 = partner("p1");
    let mut orgs = vec![c.org.clone()];
    for id in [&c.invite, &c.link_invite] {
        if let Ok(i) = app.get_invite(&p1, id).await {
            orgs.extend(i.organization_id);
        }
    }
    for id in [&c.relationship, &c.relationship4, &c.relationship5] {
        app.relationships()
            .get(&operator(), id)
            .await
            .expect("relationship");
    }
    for p in ["p0", "p1", "p2", "p3", "p4", "p5"] {
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
}

/// The operation's own outcome, once followed up.
pub fn outcome_holds<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    w: &World,
    op: Op,
    c: &Ctx,
    before: &Snapshot,
) -> Result<(), String> {
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
                    .filter(|i| i.contact_email == "new@acme.example")
                    .count();
                let wanted = if op == Op::Generate { 2 } else { 1 };
                // Without a key the retry makes a second invite; with one,
                // exactly one exists (or none, if the first request stopped
                // between claiming the key and recording it).
                if op == Op::GenerateWithKey && new == 0 {
                    // The one window of an Idempotency-Key: claimed, not yet
                    // recorded. Nothing was created; the key answers 409.
                    let keys = w.store.snapshot();
                    let claimed = keys
                        .keys()
                        .any(|k| k.contains("/idem/") && !k.ends_with("/rec"));
                    let recorded = keys.keys().any(|k| k.ends_with("/rec"));
                    return want(
                        before.retry_in_progress && claimed && !recorded,
                        "no invite under the key, outside the claim-to-record window",
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
            Op::Dispatch => {
                // A claim outlives a dispatcher that stopped after sending:
                // once it lapses, the item is tried again (at least once).
                w.clock
                    .advance(partner_invites::ops::dispatch::CLAIM_FOR + 60);
                dispatch_all(app).await.map_err(|p| p.to_string())?;
                let left = retrying(w);
                let c = super::invariants::contents(&w.store.snapshot());
                let undelivered = before
                    .retrying
                    .iter()
                    .filter(|k| {
                        let email = match c.emails.get(*k) {
                            Some(Slot::Record(e)) => Some(e.state()),
                            _ => None,
                        };
                        let state = email.or_else(|| match c.deliveries.get(*k) {
                            Some(Slot::Record(d)) => Some(d.state()),
                            _ => None,
                        });
                        state != Some(DeliveryState::Delivered)
                    })
                    .count();
                want(
                    !before.retrying.is_empty() && left.is_empty() && undelivered == 0,
                    &format!(
                        "{undelivered} of {:?} undelivered, {left:?} retrying",
                        before.retrying
                    ),
                )
            }
            Op::End | Op::EndByAdmin | Op::ChangeDown | Op::AskChange => {
                let id = match op {
                    Op::EndByAdmin => &c.relationship5,
                    Op::AskChange => &c.relationship4,
                    _ => &c.relationship,
                };
                let r = app
                    .relationships()
                    .get(&operator(), id)
                    .await
                    .map_err(|p| p.to_string())?;
                let s = &r.customer;
                match op {
                    Op::ChangeDown => want(
                        s.connection.as_str() == "reseller_without_support",
                        s.connection.as_str(),
                    ),
                    Op::AskChange => want(s.pending_change.is_some(), "no pending change"),
                    _ => {
                        let status = change_status(app, c).await?;
                        // The change waiting on p5's relationship died with it.
                        want(
                            s.status == "ended" && (op == Op::End || status == "withdrawn"),
                            &format!("{} (change request {status})", s.status),
                        )
                    }
                }
            }
            Op::ApproveChange | Op::DeclineChange | Op::WithdrawChange => {
                let status = change_status(app, c).await?;
                let r = app
                    .relationships()
                    .get(&operator(), &c.relationship5)
                    .await
                    .map_err(|p| p.to_string())?;
                let (wanted, connection) = match op {
                    Op::ApproveChange => ("approved", "msp"),
                    Op::DeclineChange => ("declined", "reseller_with_support"),
                    _ => ("withdrawn", "reseller_with_support"),
                };
                let now = r.customer.connection.as_str();
                want(
                    status == wanted && now == connection,
                    &format!("{status}, {now}"),
                )
            }
            Op::PutOrganization | Op::Import => {
                let o = app
                    .organizations()
                    .get(&operator(), "tenant-1")
                    .await
                    .map_err(|p| p.to_string())?;
                if op == Op::Import {
                    app.organizations()
                        .get(&operator(), "tenant-2")
                        .await
                        .map_err(|p| p.to_string())?;
                }
                // Known, and a partner can ask for it (its ledger exists).
                let ask = serde_json::json!({"organization_id": "tenant-1", "connection": "msp"});
                app.request_connection(&partner("p0"), ask.to_string().as_bytes())
                    .await
                    .map_err(|p| format!("asking for it: {p}"))?;
                want(o.name == "Initech", &o.name)
            }
        }
    })
}

/// The status of p5's change request, as p5's list shows it.
async fn change_status<S: KeyValue, T: Transport>(
    app: &App<S, T>,
    c: &Ctx,
) -> Result<&'static str, String> {
    let requests = app
        .list_requests(&partner("p5"), page())
        .await
        .map_err(|p| p.to_string())?;
    requests
        .items
        .iter()
        .find(|r| r.id == c.change_request)
        .map(|r| r.status)
        .ok_or_else(|| "p5's change request is not listed".to_string())
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub counters: BTreeMap<String, u64>,
    /// The items left retrying before the operation.
    pub retrying: Vec<String>,
    pub retry_in_progress: bool,
}
