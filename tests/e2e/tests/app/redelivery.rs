//! Redelivery through the real components: what an endpoint refused is tried
//! again on schedule by `POST /api/outbox/dispatch` (and after writing
//! requests), each attempt once however many dispatchers run, and an
//! endpoint that answers 410 Gone is disabled until its partner enables it.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};

use e2e::{Harness, Options};
use serde_json::Value;

/// The app with waits of a second between attempts.
fn quick(no_relay: bool) -> Harness {
    Harness::start_with(Options {
        no_relay,
        extra_variables: vec![("delivery_schedule".into(), "1s 1s 1s 1s".into())],
        ..Options::default()
    })
}

/// A scheduler's run: dispatch calls until nothing due is left.
fn dispatch(h: &Harness) -> Value {
    let mut total = Value::Null;
    for _ in 0..100 {
        let reply = h.post(
            "/api/outbox/dispatch",
            Some(&h.operator()),
            &serde_json::json!({}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        total = reply.json();
        if total["more"] == false {
            return total;
        }
    }
    panic!("dispatch never drained the index: {total}");
}

/// Past every jittered wait of [`quick`]'s schedule.
fn wait_a_step() {
    sleep(Duration::from_millis(1200));
}

fn hooks(h: &Harness) -> usize {
    h.received("/hooks/p1").len()
}

/// p1's deliveries, newest first.
fn deliveries(h: &Harness) -> Vec<Value> {
    let reply = h.get("/api/webhooks/deliveries", Some(&h.partner("p1")));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_delivery_refused_three_times_is_delivered_on_the_fourth_attempt_and_never_again() {
    let h = quick(false);
    h.setup_partner("p1", true);
    h.sink.set_status(503);
    h.invite("p1", "ada@globex.example");
    assert_eq!(hooks(&h), 1);
    assert_eq!(deliveries(&h)[0]["state"], "retrying");
    assert!(deliveries(&h)[0]["next_attempt_at"].is_string());
    while hooks(&h) < 3 {
        wait_a_step();
        dispatch(&h);
    }
    h.sink.set_status(200);
    wait_a_step();
    dispatch(&h);
    eventually("the fourth attempt", || hooks(&h) == 4);
    let d = &deliveries(&h)[0];
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"].as_array().map(Vec::len), Some(4), "{d}");
    // The relay's email went the same way.
    let mails = h.received("/mail").len();
    assert!(mails >= 2, "{mails} emails sent");

    wait_a_step();
    dispatch(&h);
    assert_eq!(hooks(&h), 4, "a delivered item was sent again");
}

/// The first attempt is made inside the request that caused it: an endpoint
/// that never answers fails the attempt after the outbound timeout (5
/// seconds) instead of holding the request, and it is retried on schedule.
#[test]
fn an_endpoint_that_does_not_answer_fails_the_attempt_and_is_retried() {
    let h = quick(true);
    h.setup_partner("p1", true);
    h.sink.set_delay(Duration::from_secs(60));
    h.invite("p1", "ada@globex.example");
    assert_eq!(hooks(&h), 1, "the endpoint was called");
    let d = &deliveries(&h)[0];
    assert_eq!(d["state"], "retrying", "{d}");
    let error = d["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("within 5 seconds"), "{d}");

    h.sink.set_delay(Duration::ZERO);
    wait_a_step();
    dispatch(&h);
    eventually("the second attempt", || {
        deliveries(&h)[0]["state"] == "delivered"
    });
}

#[test]
fn concurrent_dispatchers_make_each_attempt_once() {
    let h = quick(false);
    h.setup_partner("p1", true);
    h.sink.set_status(503);
    for n in 0..6 {
        h.invite("p1", &format!("user{n}@globex.example"));
    }
    h.sink.set_status(200);
    wait_a_step();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| dispatch(&h));
        }
    });
    eventually("every delivery delivered", || {
        deliveries(&h).iter().all(|d| d["state"] == "delivered")
    });
    // What each endpoint received is exactly the attempts recorded.
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    for r in h.received("/hooks/p1") {
        let id = r
            .headers
            .iter()
            .find(|(k, _)| k == "webhook-id")
            .map(|(_, v)| v.clone())
            .expect("webhook-id");
        *received.entry(id).or_default() += 1;
    }
    let all = deliveries(&h);
    assert_eq!(all.len(), 6);
    for d in &all {
        let id = d["id"].as_str().expect("id");
        let attempts = d["attempts"].as_array().map_or(0, Vec::len);
        assert_eq!(received.get(id).copied(), Some(attempts), "{d}");
        // Refused until the sink turned to 200 (a write's own attempt may
        // have come first, while it still refused), then delivered once.
        let succeeded = d["attempts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["status"] == 200)
            .count();
        assert_eq!(succeeded, 1, "{d}");
        assert_eq!(d["attempts"][attempts - 1]["status"], 200, "{d}");
    }
    let outbox = h.get("/api/outbox?limit=100", Some(&h.operator())).json();
    let emails = outbox["items"].as_array().cloned().unwrap_or_default();
    let sent: usize = emails
        .iter()
        .map(|e| e["attempts"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(h.received("/mail").len(), sent, "{outbox}");
}

#[test]
fn a_writing_request_makes_a_due_attempt_after_its_answer() {
    let h = quick(true);
    h.setup_partner("p1", true);
    h.sink.set_status(503);
    h.invite("p1", "ada@globex.example");
    h.sink.set_status(200);
    wait_a_step();
    // No dispatch call: the next write does the due attempt.
    h.invite("p1", "grace@globex.example");
    eventually("the first invite's delivery tried again", || hooks(&h) == 3);
    eventually("both delivered", || {
        deliveries(&h).iter().all(|d| d["state"] == "delivered")
    });
}

#[test]
fn an_endpoint_that_answers_gone_is_disabled_until_its_partner_enables_it() {
    let h = quick(true);
    h.setup_partner("p1", true);
    h.sink.set_status(410);
    h.invite("p1", "ada@globex.example");
    let profile = h.get("/api/partner", Some(&h.partner("p1"))).json();
    let health = &profile["webhook_health"];
    assert_eq!(health["state"], "disabled", "{profile}");
    assert_eq!(deliveries(&h)[0]["state"], "failed");
    assert_eq!(health["disabled"]["delivery_id"], deliveries(&h)[0]["id"]);

    h.sink.set_status(200);
    h.invite("p1", "grace@globex.example");
    wait_a_step();
    dispatch(&h);
    assert_eq!(hooks(&h), 1, "sent to a disabled endpoint");

    let enabled = h.post(
        "/api/webhooks/enable",
        Some(&h.partner("p1")),
        &serde_json::json!({}),
    );
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_ne!(enabled.json()["webhook_health"]["state"], "disabled");
    h.invite("p1", "alan@globex.example");
    assert_eq!(hooks(&h), 2);
    let profile = h.get("/api/partner", Some(&h.partner("p1"))).json();
    assert_eq!(profile["webhook_health"]["state"], "healthy", "{profile}");
}
