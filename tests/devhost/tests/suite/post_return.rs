//! Post-return work: a component that `spawn`s a task which runs on after
//! its handler returned. As in Spin, the client gets the response at once,
//! the instance runs on until the guest has nothing left to do (or the
//! timeout passed since its last answer), a trap there is only logged, and
//! stopping the host lets the work finish.
//!
//! The fixture's `/after/<key>?wait=<go>` answers at once and writes `key`
//! only once `go` exists in the store, which the test writes after it got
//! the answer: so the answer cannot have waited for the work, and the work
//! cannot have run before the answer. Nothing here measures latency: each
//! wait polls with a generous deadline.

use std::time::{Duration, Instant};

use crate::common::{FIXTURE_VARIABLES, Fixture, MANIFEST, agent, call};
use devhost::server::Limits;
use devhost::testing::{HostProcess, build_components};

/// Far more than anything here takes, far less than the default 30 s timeout.
const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `done` every 10 ms until it holds; panics with `what` after [`PATIENCE`].
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "not within {PATIENCE:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stored(f: &Fixture, key: &str) -> Option<Vec<u8>> {
    f.app().kv().get("default", key).expect("get")
}

#[test]
fn post_return_work_runs_after_the_response_is_sent() {
    let f = Fixture::start(|b| b);
    // An instance with nothing left to do ends with its answer, long before
    // the timeout.
    assert_eq!(f.call("GET", "/headers", b"").0, 200);
    eventually("the /headers instance ends", || {
        f.app().running_instances() == 0
    });

    let (status, body, _) = f.call("GET", "/after/late?wait=go", b"");
    assert_eq!(
        (status, body.as_str()),
        (200, "answered"),
        "answered at once"
    );
    assert_eq!(stored(&f, "late"), None, "the work waits for `go`");
    assert_eq!(
        f.app().running_instances(),
        1,
        "the instance runs on after answering"
    );
    f.app().kv().set("default", "go", b"").expect("set go");
    eventually("the post-return work writes `late`", || {
        stored(&f, "late").is_some()
    });
    assert_eq!(
        stored(&f, "late").as_deref(),
        Some(&b"written after the response"[..])
    );
    eventually("the instance ends once its work is done", || {
        f.app().running_instances() == 0
    });

    // Without waiting for anything, after a wasi:clocks sleep.
    assert_eq!(f.call("GET", "/after/soon?sleep=50", b"").1, "answered");
    eventually("the post-return work writes `soon`", || {
        stored(&f, "soon").is_some()
    });
}

#[test]
fn a_trap_in_post_return_work_leaves_the_answer_and_the_host_serving() {
    let f = Fixture::start(|b| b);
    let (status, body, _) = f.call("GET", "/after-trap?wait=go", b"");
    assert_eq!((status, body.as_str()), (200, "answered"));
    f.app().kv().set("default", "go", b"").expect("set go");
    eventually("the trapped instance ends", || {
        f.app().running_instances() == 0
    });
    assert_eq!(f.call("GET", "/headers", b"").0, 200, "still serving");
    assert_eq!(f.call("GET", "/after/next", b"").1, "answered");
    eventually("post-return work still runs", || {
        stored(&f, "next").is_some()
    });
}

#[test]
fn post_return_work_ends_at_the_request_timeout() {
    let mut f = Fixture::start(|b| {
        b.limits(Limits {
            timeout: Duration::from_secs(1),
            ..Limits::default()
        })
    });
    let kv = f.app().kv().clone();
    let (status, body, _) = f.call("GET", "/after/never?wait=absent", b"");
    assert_eq!((status, body.as_str()), (200, "answered"));
    eventually("the instance is dropped at the timeout", || {
        f.app().running_instances() == 0
    });
    // No instance is left to see its `go`.
    kv.set("default", "absent", b"").expect("set go");
    assert_eq!(f.call("GET", "/headers", b"").0, 200, "still serving");
    assert_eq!(stored(&f, "never"), None, "the work was cut off");
    // The old 504, unchanged: no answer within the timeout.
    assert_eq!(f.call("GET", "/spin-forever", b"").0, 504);

    // Stopping waits for running instances, but no longer than their
    // timeout: this one never gets its `go`.
    assert_eq!(f.call("GET", "/after/never2?wait=absent2", b"").0, 200);
    f.stop();
    kv.set("default", "absent2", b"").expect("set go");
    assert_eq!(kv.get("default", "never2").expect("get"), None);
}

#[test]
fn stopping_the_host_lets_post_return_work_finish() {
    let mut f = Fixture::start(|b| b);
    let kv = f.app().kv().clone();
    let (status, body, _) = f.call("GET", "/after/drained?wait=go&sleep=300", b"");
    assert_eq!((status, body.as_str()), (200, "answered"));
    kv.set("default", "go", b"").expect("set go");
    // The work still has its 300 ms sleep ahead when shutdown begins.
    f.stop();
    assert_eq!(
        kv.get("default", "drained").expect("get").as_deref(),
        Some(&b"written after the response"[..]),
        "shutdown waited for the post-return work"
    );
}

#[test]
fn devhost_up_logs_a_trap_and_a_timeout_in_post_return_work() {
    build_components(MANIFEST).expect("fixture builds");
    let host = HostProcess::start(
        env!("CARGO_BIN_EXE_devhost"),
        MANIFEST,
        // A store of its own: the default is a file in the fixture's directory.
        ["--kv", "memory", "--timeout", "1"]
            .into_iter()
            .chain(FIXTURE_VARIABLES),
    )
    .expect("devhost up starts");
    let agent = agent();
    let url = |path: &str| format!("{}{path}", host.base_url());

    let (status, body, _) = call(&agent, "GET", &url("/after-trap?wait=go"), b"");
    assert_eq!((status, body.as_str()), (200, "answered"));
    assert_eq!(call(&agent, "PUT", &url("/kv/go"), b"").0, 204);
    eventually("the trap is logged", || {
        host.log().contains("failed after answering")
    });
    assert!(
        host.log().contains("post-return work traps on purpose"),
        "{}",
        host.log()
    );

    let (status, body, _) = call(&agent, "GET", &url("/after/never?wait=absent"), b"");
    assert_eq!((status, body.as_str()), (200, "answered"));
    eventually("the timeout is logged", || {
        host.log().contains("post-return work still running 1s")
    });
    // The instance is gone: its `go` comes too late.
    assert_eq!(call(&agent, "PUT", &url("/kv/absent"), b"").0, 204);
    assert_eq!(call(&agent, "GET", &url("/headers"), b"").0, 200);
    assert_eq!(call(&agent, "GET", &url("/kv/never"), b"").0, 404);
}
