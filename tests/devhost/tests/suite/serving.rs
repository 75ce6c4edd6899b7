//! How devhost serves, as Spin 4.1 does: an instance serves many requests
//! and keeps its globals (the fixture's `/instance` counts the requests its
//! instance served), and the answer is written as Spin's server writes it, so
//! a keep-alive client sees Spin's Nagle stall unless the host is `fast`.

use std::time::{Duration, Instant};

use crate::common::{Fixture, agent, call};
use devhost::server::Limits;

/// What `/instance` answers to `n` requests in turn.
fn served(f: &Fixture, n: usize) -> Vec<u64> {
    (0..n)
        .map(|_| {
            let (status, body, _) = f.call("GET", "/instance", b"");
            assert_eq!(status, 200, "{body}");
            body.parse().expect("a count")
        })
        .collect()
}

#[test]
fn an_instance_serves_many_requests_and_keeps_its_globals() {
    let f = Fixture::start(|b| b);
    assert_eq!(served(&f, 5), [1, 2, 3, 4, 5]);
}

#[test]
fn an_instance_serves_at_most_its_reuse_count() {
    let f = Fixture::start(|b| {
        b.limits(Limits {
            max_instance_reuse_count: 3,
            ..Limits::default()
        })
    });
    assert_eq!(served(&f, 7), [1, 2, 3, 1, 2, 3, 1]);
}

#[test]
fn an_idle_instance_is_dropped_after_the_idle_timeout() {
    let f = Fixture::start(|b| {
        b.limits(Limits {
            idle_instance_timeout: Duration::from_millis(100),
            ..Limits::default()
        })
    });
    assert_eq!(served(&f, 2), [1, 2]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(served(&f, 1), [1], "a new instance");
}

#[test]
fn an_instance_in_post_return_work_takes_new_requests() {
    let f = Fixture::start(|b| b);
    assert_eq!(f.call("GET", "/after/late?wait=go", b"").1, "answered");
    assert_eq!(
        served(&f, 1),
        [2],
        "the same instance, its work still waiting"
    );
    assert_eq!(f.app().running_instances(), 1, "its post-return work");
    f.app().kv().set("default", "go", b"").expect("set go");
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.app().running_instances() != 0 {
        assert!(Instant::now() < deadline, "the post-return work ends");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The times of 15 GETs of `path` on one keep-alive connection, sorted
/// (warmed up first: a new connection acknowledges at once).
fn keep_alive_times(f: &Fixture, path: &str) -> Vec<Duration> {
    let agent = agent();
    for _ in 0..3 {
        call(&agent, "GET", &f.url(path), b"");
    }
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let started = Instant::now();
            call(&agent, "GET", &f.url(path), b"");
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

#[test]
fn a_body_written_after_its_head_waits_for_the_delayed_ack_unless_fast() {
    // `/kv/<key>` reads the store before it answers. As on Spin, hyper then
    // mostly writes the end of the body apart from its head and, without
    // TCP_NODELAY, Nagle holds it until the client's delayed ACK (40 ms on
    // Linux): about four requests in five here and on Spin, so a third is
    // a safe floor.
    const STALL: Duration = Duration::from_millis(30);
    let f = Fixture::start(|b| b);
    let times = keep_alive_times(&f, "/kv/absent");
    let stalled = times.iter().filter(|t| **t >= STALL).count();
    assert!(stalled >= times.len() / 3, "{times:?}");
    let f = Fixture::start(|b| b.fast());
    let times = keep_alive_times(&f, "/kv/absent");
    assert!(times[times.len() / 2] < STALL, "{times:?}");
}
