//! Redelivery: what failed is tried again on schedule by the dispatcher, once
//! per attempt, and an endpoint that answers 410 Gone is disabled.

mod support;

use partner_invites::domain::{Deliverable, DeliveryState, WebhookDelivery};
use partner_invites::ops::dispatch::DISPATCH_SECONDS;
use partner_invites::outbound::{Answer, OUTBOUND_TIMEOUT_SECONDS, Transport, no_answer};
use partner_invites::store::Slot;
use partner_invites::store::testing::{Fault, FaultyStore, OvertakenStore};
use support::invariants::contents;
use support::scenarios::*;
use support::*;

const HOOK: &str = "https://hooks.example/p1";

/// A world where p1 has a webhook.
fn world() -> World {
    let w = World::new();
    block_on(w.app().put_profile("p1", &profile_body("p1", true))).expect("profile");
    w
}

fn invite(w: &World) {
    block_on(
        w.app()
            .create_invite(&partner("p1"), &invite_body("ada@acme.example"), None),
    )
    .expect("invite");
}

/// p1's deliveries, oldest first.
fn deliveries(w: &World) -> Vec<WebhookDelivery> {
    contents(&w.store.snapshot())
        .deliveries
        .into_values()
        .filter_map(Slot::record)
        .collect()
}

fn posts_to(w: &World, url: &str) -> usize {
    w.transport.sent().iter().filter(|s| s.url == url).count()
}

fn dispatch(w: &World) {
    block_on(dispatch_all(&w.app())).expect("dispatch");
}

/// A new endpoint's secret is shown once: also when another save of the
/// profile overtakes this one's swap before it can read it back.
#[test]
fn a_new_secret_is_shown_even_when_another_save_overtook_the_swap() {
    let w = World::new();
    let body = profile_body("p1", true);
    let other = w.app();
    let overtaking = || -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(async {
            other
                .put_profile("p1", &body)
                .await
                .expect("the other save");
        })
    };
    // The save's one swap.
    let store = OvertakenStore::new(&w.store, 1, Box::new(overtaking));
    let view = block_on(w.app_on(&store).put_profile("p1", &body)).expect("saved");
    assert!(store.fired(), "the save was not overtaken");
    assert!(
        view.webhook_secret.is_some(),
        "the new secret was not shown"
    );
}

/// An endpoint that never answers: each request takes the whole outbound
/// timeout of the world's clock (recorded by the world's transport), then
/// fails.
struct Unanswered<'a>(&'a World);

impl Transport for Unanswered<'_> {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<Answer, String> {
        let _ = self.0.transport.post(url, headers, body).await;
        self.0.clock.advance(OUTBOUND_TIMEOUT_SECONDS);
        Err(no_answer(url))
    }
}

#[test]
fn a_dispatch_call_starts_no_attempt_once_its_time_is_up() {
    let w = world();
    w.transport.answer_with(Ok(503));
    for n in 0..10 {
        let body = invite_body(&format!("user{n}@acme.example"));
        block_on(w.app().create_invite(&partner("p1"), &body, None)).expect("invite");
    }
    assert_eq!(posts_to(&w, HOOK), 10);
    // Nothing is due yet: this moves the cursor up to the last minutes.
    dispatch(&w);
    w.clock.advance(60);

    let hanging = w.app_with(&w.store, Unanswered(&w));
    let report = block_on(hanging.dispatcher().dispatch(&operator(), None)).expect("dispatch");
    let fit = usize::try_from(DISPATCH_SECONDS / OUTBOUND_TIMEOUT_SECONDS).expect("small");
    assert_eq!(report.attempted, fit, "{report:?}");
    assert!(report.more, "the rest is the next call's: {report:?}");
    assert_eq!(posts_to(&w, HOOK), 10 + fit);

    // The next calls, to an endpoint that answers, make the rest.
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 20);
    assert!(
        deliveries(&w).iter().all(|d| d.attempts.len() == 2),
        "each delivery had its second attempt once"
    );
}

#[test]
fn a_failing_endpoint_is_tried_on_schedule_until_it_accepts() {
    let w = world();
    w.transport.answer_with(Ok(503));
    invite(&w);
    assert_eq!(posts_to(&w, HOOK), 1);
    let first = &deliveries(&w)[0];
    assert_eq!(first.state(), DeliveryState::Retrying);

    // Not before it is due: the first wait is 5 s (±10 %).
    w.clock.advance(4);
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 1, "tried before its time");

    for (wait, sent) in [(2, 2), (330, 3)] {
        w.clock.advance(wait);
        dispatch(&w);
        assert_eq!(posts_to(&w, HOOK), sent, "after {wait} more seconds");
        dispatch(&w);
        assert_eq!(posts_to(&w, HOOK), sent, "a second dispatch sent it again");
    }
    w.transport.answer_with(Ok(200));
    w.clock.advance(30 * 60 + 200);
    dispatch(&w);
    let d = &deliveries(&w)[0];
    assert_eq!(posts_to(&w, HOOK), 4);
    assert_eq!(d.state(), DeliveryState::Delivered);
    assert_eq!(d.attempts.len(), 4);
    assert_eq!(d.next_attempt_at, None);

    w.clock.advance(86_400);
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 4, "a delivered item was sent again");
    assert!(w.violations(&Default::default()).is_empty());
}

#[test]
fn an_item_fails_for_good_after_the_last_wait_of_its_schedule() {
    let w = world();
    w.transport.answer_with(Ok(500));
    invite(&w);
    for _ in 0..12 {
        w.clock.advance(11 * 3600);
        dispatch(&w);
    }
    let d = &deliveries(&w)[0];
    // The first attempt and one per wait of the default schedule.
    assert_eq!(d.attempts.len(), 8);
    assert_eq!(d.state(), DeliveryState::Failed);
    assert_eq!(posts_to(&w, HOOK), 8);
}

#[test]
fn retry_after_postpones_the_next_attempt() {
    let w = world();
    w.transport.answer(Ok(Answer {
        status: 429,
        retry_after: Some("120".into()),
    }));
    invite(&w);
    let d = &deliveries(&w)[0];
    assert_eq!(d.next_attempt_at, Some(START + 120));
    w.clock.advance(60);
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 1);
    w.clock.advance(61);
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 2);
}

#[test]
fn an_endpoint_that_answers_gone_is_disabled_until_the_partner_enables_it() {
    let w = world();
    w.transport.answer_post(HOOK, Some(Ok(Answer::from(410))));
    invite(&w);
    let d = &deliveries(&w)[0];
    assert_eq!(d.state(), DeliveryState::Failed, "410 is final");
    let health = |w: &World| {
        let view = block_on(w.app().get_profile("p1")).expect("profile");
        serde_json::to_value(view.webhook_health).expect("json")
    };
    let h = health(&w);
    assert_eq!(h["state"], "disabled", "{h}");
    assert_eq!(h["disabled"]["delivery_id"], d.id.as_str());

    // Disabled: later events are recorded, not sent.
    invite(&w);
    w.clock.advance(3600);
    dispatch(&w);
    assert_eq!(posts_to(&w, HOOK), 1);

    w.transport.answer_post(HOOK, None);
    block_on(w.app().partners().enable_webhook(&partner("p1"))).expect("enabled");
    // Enabled, and still failing until it accepts a delivery.
    assert_eq!(health(&w)["state"], "failing");
    invite(&w);
    assert_eq!(posts_to(&w, HOOK), 2);
    assert_eq!(health(&w)["state"], "healthy");
}

#[test]
fn the_dispatcher_alone_finishes_what_a_stopped_request_committed() {
    let mut cases = 0;
    let mut failures = Vec::new();
    for op in OPS {
        for k in 1.. {
            let w = World::relayed();
            let c = setup(&w);
            let before = contents(&w.store.snapshot()).counters;
            let faulty = FaultyStore::new(&w.store, Some(Fault::StopBefore(k)));
            let _ = block_on(run(&w.app_on(&faulty), op, &c));
            if !faulty.fired() {
                break;
            }
            cases += 1;
            // Nobody comes back: only the scheduler's calls.
            w.clock.advance(past_every_claim());
            dispatch(&w);
            let found: Vec<String> = w
                .violations(&before)
                .into_iter()
                .filter(|v| v.contains("never attempted") || v.contains("no index entry"))
                .collect();
            if !found.is_empty() {
                failures.push(format!("{op:?} stopped before write {k}: {found:?}"));
            }
        }
    }
    eprintln!("the dispatcher alone: {cases} cases");
    assert!(cases > 100, "{cases} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Past the rescue delay of a commit's items and any claim.
fn past_every_claim() -> u64 {
    partner_invites::ops::dispatch::CLAIM_FOR + 120
}

#[test]
fn a_piggyback_reads_a_few_entries_however_busy_the_minute() {
    let w = world();
    for _ in 0..300 {
        invite(&w);
    }
    // A minute on, the 300 commits' index entries are due to be looked at.
    w.clock.advance(61);
    let before = w.store.calls();
    block_on(w.app().dispatcher().piggyback()).expect("piggyback");
    let after = w.store.calls();
    let trips = after.total() - before.total();
    assert!(
        trips <= 2 * (2 + 16),
        "{trips} round trips for one piggyback over 300 entries"
    );
    // The dispatch calls still look at every one of them.
    dispatch(&w);
    let index = contents(&w.store.snapshot()).due;
    assert!(index.is_empty(), "{} entries left", index.len());
}

#[test]
fn a_piggyback_leaves_spent_index_entries_to_the_dispatch_calls() {
    let w = world();
    for _ in 0..3 {
        invite(&w);
    }
    // A minute on, the commits' index entries are due to be looked at: their
    // items were all delivered, so nothing is due.
    w.clock.advance(61);
    let faulty = FaultyStore::new(&w.store, None);
    block_on(w.app_on(&faulty).dispatcher().piggyback()).expect("piggyback");
    assert_eq!(faulty.writes(), 0, "a piggyback with nothing due wrote");
    assert_eq!(contents(&w.store.snapshot()).due.len(), 3);
    // The dispatch calls delete them.
    dispatch(&w);
    let index = contents(&w.store.snapshot()).due;
    assert!(index.is_empty(), "{} entries left", index.len());
}
