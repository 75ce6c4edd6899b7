//! devhost against the fixture component: routing, headers, key-value,
//! atomics, variables, outbound allow-list, traps, limits.

use std::time::Duration;

use crate::common::{
    FIXTURE_VARIABLES, Fixture, Kind, MANIFEST, agent, atomics_hold, backend_conformance, call,
    fixture_conformance, json,
};
use devhost::kv::{Backend, KvSemantics, MemoryBackend, SqliteBackend};
use devhost::server::Limits;
use devhost::testing::{HostProcess, OutboundSink, TestApp, build_components};

#[test]
fn routes_like_spin_and_sets_its_headers() {
    let f = Fixture::start(|b| b);
    let route = |path: &str| json(&f.call("GET", path, b"").1);
    assert_eq!(
        route("/routes/exact")["spin-matched-route"],
        "/routes/exact"
    );
    let named = route("/routes/alpha");
    assert_eq!(named["spin-matched-route"], "/routes/:name");
    assert_eq!(named["spin-path-match-name"], "alpha");
    let deeper = route("/routes/alpha/more/x/y");
    assert_eq!(deeper["spin-matched-route"], "/routes/:name/more/...");
    assert_eq!(deeper["spin-path-info"], "/x/y");
    assert_eq!(deeper["spin-component-route"], "/routes/:name/more");
    assert_eq!(route("/routes/a/b")["spin-matched-route"], "/routes/...");
    let headers = route("/headers?q=1");
    assert_eq!(headers["spin-matched-route"], "/...");
    assert_eq!(headers["spin-raw-component-route"], "/...");
    assert_eq!(headers["spin-base-path"], "/");
    assert!(
        headers["spin-full-url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/headers?q=1"))
    );
    assert!(
        headers["spin-client-addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
}

#[test]
fn memory_and_sqlite_backends_conform_in_every_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    for mode in KvSemantics::ALL {
        backend_conformance(&MemoryBackend::new(mode), Kind::Memory, mode);
        let path = dir.path().join(format!("kv-{mode}.db"));
        let sqlite = SqliteBackend::open_with(&path, mode).expect("opens");
        backend_conformance(&sqlite, Kind::Sqlite, mode);
    }
}

#[test]
fn backends_default_to_spins_semantics() {
    assert_eq!(KvSemantics::default(), KvSemantics::Spin);
    let keys = ["a".to_string(), "absent".to_string()];
    let memory = MemoryBackend::default();
    memory.set("default", "a", b"1").expect("set");
    assert_eq!(
        memory.batch_get_many("default", &keys).expect("get-many"),
        vec![("a".to_string(), Some(b"1".to_vec()))],
        "absent keys left out, as Spin's store"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteBackend::open(&dir.path().join("kv.db")).expect("opens");
    sqlite.set("default", "a", b"1").expect("set");
    assert_eq!(
        sqlite.batch_get_many("default", &keys).expect("get-many"),
        vec![("a".to_string(), Some(b"1".to_vec()))]
    );
    let opened = devhost::kv::open("memory").expect("opens");
    assert_eq!(
        opened.batch_get_many("default", &keys).expect("get-many"),
        Vec::new()
    );
}

#[test]
fn spins_get_many_on_sqlite_is_its_rarray_query() {
    // The same rows as Spin's own statement, run on the same file: each key
    // that exists once, in key order, whatever the order asked.
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteBackend::open(&dir.path().join("kv.db")).expect("opens");
    for key in ["b", "a", "c"] {
        sqlite.set("default", key, key.as_bytes()).expect("set");
    }
    sqlite.set("other", "a", b"elsewhere").expect("set");
    let asked = ["c", "zz", "a", "c", "b"].map(String::from);
    let pairs = |keys: &[&str]| -> Vec<(String, Option<Vec<u8>>)> {
        keys.iter()
            .map(|k| (k.to_string(), Some(k.as_bytes().to_vec())))
            .collect()
    };
    assert_eq!(
        sqlite.batch_get_many("default", &asked).expect("get-many"),
        pairs(&["a", "b", "c"])
    );
    let memory = MemoryBackend::default();
    for key in ["b", "a", "c"] {
        memory.set("default", key, key.as_bytes()).expect("set");
    }
    assert_eq!(
        memory.batch_get_many("default", &asked).expect("get-many"),
        pairs(&["a", "b", "c"]),
        "memory answers as Spin's in-memory SQLite store"
    );
}

#[test]
fn sqlite_opens_with_spins_settings_unless_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The journal mode is the file's (synchronous is each connection's).
    let journal_mode = |db: &std::path::Path| -> String {
        let c = rusqlite::Connection::open(db).expect("opens");
        c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode")
    };
    // Spin's: SQLite's defaults, a rollback journal and full sync.
    let db = dir.path().join("spin.db");
    let sqlite = SqliteBackend::open(&db).expect("opens");
    sqlite.set("default", "k", b"v").expect("set");
    assert_eq!(journal_mode(&db), "delete");
    let db = dir.path().join("fast.db");
    let sqlite = SqliteBackend::open_fast(&db, KvSemantics::Spin).expect("opens");
    sqlite.set("default", "k", b"v").expect("set");
    assert_eq!(journal_mode(&db), "wal");
}

#[test]
fn sqlite_checkpoints_the_wal_off_the_request_path() {
    // With the fast settings, requests never checkpoint (wal_autocheckpoint
    // = 0); a background connection copies the WAL into the database file.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kv.db");
    let sqlite = SqliteBackend::open_fast(&db, KvSemantics::Spin).expect("opens");
    let value = vec![7u8; 4096];
    for i in 0..500 {
        sqlite
            .set("default", &format!("k{i}"), &value)
            .expect("set");
    }
    let file_size = || std::fs::metadata(&db).map_or(0, |m| m.len());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while file_size() < 2_000_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        file_size() >= 2_000_000,
        "the 2 MB written reached the database file: {} bytes",
        file_size()
    );
    assert_eq!(sqlite.get("default", "k499").expect("get"), Some(value));
}

#[test]
fn key_value_and_atomics_through_the_component_on_memory_and_sqlite_in_every_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    for mode in KvSemantics::ALL {
        let f = Fixture::start(|b| b.kv_memory().kv_semantics(mode));
        fixture_conformance(&f, Kind::Memory, mode);
        let path = dir.path().join(format!("kv-{mode}.db"));
        let f = Fixture::start(|b| b.kv_sqlite(&path).kv_semantics(mode));
        fixture_conformance(&f, Kind::Sqlite, mode);
    }
}

#[test]
fn the_test_builder_defaults_to_spins_semantics() {
    // The fixture's batch leaves the absent b3 out, as Spin's store does.
    let f = Fixture::start(|b| b.kv_memory());
    let batch = json(&f.call("GET", "/batch", b"").1);
    assert_eq!(
        batch["got"],
        serde_json::json!([["b1", "one"], ["b2", "two"]])
    );
}

#[test]
fn sqlite_store_persists_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("kv.db");
    let mut f = Fixture::start(|b| b.kv_sqlite(&db));
    assert_eq!(f.call("PUT", "/kv/greeting", b"hi there").0, 204);
    f.stop();
    let f = Fixture::start(|b| b.kv_sqlite(&db));
    assert_eq!(
        f.call("GET", "/kv/greeting", b"").1,
        "hi there",
        "survives a restart"
    );
}

#[test]
fn atomics_hold_across_two_host_processes_on_one_sqlite_file() {
    build_components(MANIFEST).expect("fixture builds");
    let dir = tempfile::tempdir().expect("tempdir");
    for mode in [KvSemantics::Correct, KvSemantics::Spin] {
        let db = dir.path().join(format!("kv-{mode}.db"));
        let f = Fixture::start(|b| b.kv_sqlite(&db).kv_semantics(mode));
        let other = HostProcess::start(
            env!("CARGO_BIN_EXE_devhost"),
            MANIFEST,
            [
                "--kv".as_ref(),
                db.as_os_str(),
                "--kv-semantics".as_ref(),
                mode.name().as_ref(),
            ]
            .into_iter()
            .chain(FIXTURE_VARIABLES.iter().map(std::ffi::OsStr::new)),
        )
        .expect("the second host starts");
        assert!(
            other.log().contains(&format!("kv semantics: {mode}")),
            "{}",
            other.log()
        );
        let here = f.app().base_url().to_string();
        atomics_hold(
            &agent(),
            &[&here, other.base_url()],
            &format!("two processes, one SQLite file, {mode}"),
            Kind::Sqlite,
            mode,
        );
    }
}

#[test]
fn variables_resolve_and_required_ones_are_enforced() {
    let f = Fixture::start(|b| b.variable("greeting", "hey"));
    assert_eq!(f.call("GET", "/var/greeting", b"").1, "hey, world");
    assert_eq!(f.call("GET", "/var/token", b"").1, "s3cret");
    assert_eq!(f.call("GET", "/var/unknown", b"").0, 404);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let missing = runtime.block_on(TestApp::builder(MANIFEST).start());
    let message = format!("{:#}", missing.err().expect("refused"));
    assert!(
        message.contains("secret_thing") && message.contains("SPIN_VARIABLE_SECRET_THING"),
        "{message}"
    );
}

#[test]
fn outbound_requests_follow_the_allow_list() {
    build_components(MANIFEST).expect("fixture builds");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sink = runtime.block_on(OutboundSink::start()).expect("sink");
    let app = runtime
        .block_on(
            TestApp::builder(MANIFEST)
                .variable("secret_thing", "x")
                .variable("allowed_origin", sink.origin())
                .start(),
        )
        .expect("starts");
    let agent = agent();
    let (status, body, _) = call(
        &agent,
        "GET",
        &format!("{}/outbound?url={}/ping", app.base_url(), sink.url()),
        b"",
    );
    assert_eq!((status, body.as_str()), (200, "200"));
    assert_eq!(sink.requests().len(), 1);
    let (status, body, _) = call(
        &agent,
        "GET",
        &format!("{}/outbound?url=http://127.0.0.1:9/x", app.base_url()),
        b"",
    );
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    assert_eq!(sink.requests().len(), 1, "the denied request never left");
    runtime.block_on(app.shutdown());
}

#[test]
fn traps_timeouts_and_large_bodies_get_problems_and_the_host_keeps_serving() {
    let f = Fixture::start(|b| {
        b.limits(Limits {
            timeout: Duration::from_secs(2),
            max_body: 1024,
            ..Limits::default()
        })
    });
    let (status, body, headers) = f.call("GET", "/trap", b"");
    assert_eq!(status, 500);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/problem+json")
    );
    assert_eq!(json(&body)["status"], 500);
    assert_eq!(
        f.call("GET", "/headers", b"").0,
        200,
        "still serving after a trap"
    );

    assert_eq!(f.call("POST", "/echo-size", &[b'x'; 1024]).1, "1024");
    let (status, body, _) = f.call("POST", "/echo-size", &[b'x'; 1025]);
    assert_eq!(status, 413);
    assert_eq!(json(&body)["status"], 413);

    let (status, body, _) = f.call("GET", "/spin-forever", b"");
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        f.call("GET", "/headers", b"").0,
        200,
        "still serving after a timeout"
    );
}
