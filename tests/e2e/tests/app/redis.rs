//! The real app on Redis, as Spin runs it with a runtime config file: two
//! devhost processes share one `redis-server` (the test's own; `apt-get
//! install redis-server`), and one invite redeemed 500 times at once across
//! both has exactly one winner.
//!
//! It runs once per key-value mode, each on a fresh server: `spin` (what
//! Spin's Redis store does today: `get-many` of two or more keys fails, and
//! every compare-and-swap reports `cas-failed`, though it wrote iff the key
//! was unchanged), `spin-next` (Spin with its `UNWATCH` bug fixed: a swap
//! that lost reports success) and `correct`. The in-process host and both
//! processes get the same mode.
//!
//! The two processes run devhost's command line (`devhost up
//! --runtime-config-file ...`, the binary's own code) in copies of this test
//! executable, because this package cannot name the `devhost` binary and
//! building it here would rebuild its dependencies with other features.

use std::path::PathBuf;

use devhost::testing::{HostProcess, KvSemantics, RedisServer, run_devhost_if_child};
use e2e::{Harness, Options, invite_body};

/// The entry point of the devhost processes: a no-op when run as a test.
#[test]
fn devhost_process() {
    run_devhost_if_child();
}

/// Client threads; together they send [`REDEMPTIONS`] requests.
const CLIENTS: usize = 48;
const REDEMPTIONS: usize = 500;

/// A runtime config file, removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    /// `name` tells apart the files of tests running at once.
    fn write(name: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!(
            "e2e-runtime-config-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("write the runtime config");
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn five_hundred_concurrent_redemptions_across_two_hosts_on_one_redis_one_winner_spin() {
    redemptions_have_one_winner(KvSemantics::Spin);
}

#[test]
fn five_hundred_concurrent_redemptions_across_two_hosts_on_one_redis_one_winner_spin_next() {
    redemptions_have_one_winner(KvSemantics::SpinNext);
}

#[test]
fn five_hundred_concurrent_redemptions_across_two_hosts_on_one_redis_one_winner_correct() {
    redemptions_have_one_winner(KvSemantics::Correct);
}

fn redemptions_have_one_winner(mode: KvSemantics) {
    let redis = RedisServer::start().expect("a redis-server of the test's own");
    let config = ConfigFile::write(mode.name(), &redis.runtime_config_toml());
    // An in-process host on the same Redis, for set-up and to read the store.
    let h = Harness::start_configured(Options::default(), |b| {
        b.runtime_config_file(&config.0).kv_semantics(mode)
    });
    let start_host = || {
        let mut args = vec![
            "--runtime-config-file".to_string(),
            config.0.to_string_lossy().into_owned(),
            "--kv-semantics".to_string(),
            mode.name().to_string(),
        ];
        args.extend(h.variable_args());
        let host = HostProcess::start_self("redis::devhost_process", "spin.toml", &args)
            .expect("a devhost process starts");
        assert!(
            host.log().contains(&format!("kv semantics: {mode}")),
            "{}",
            host.log()
        );
        host
    };
    let hosts = [start_host(), start_host()];
    let bases: Vec<&str> = hosts.iter().map(HostProcess::base_url).collect();

    h.setup_partner("p1", false);
    let created = h.post_at(
        bases[0],
        "/api/invites/generate",
        Some(&h.partner("p1")),
        &invite_body("ada@globex.example"),
    );
    assert_eq!(created.status, 201, "{mode}: {}", created.body);
    let invite = created.json();
    let token = invite["token"].as_str().expect("token").to_string();
    let body = serde_json::json!({ "token": token });

    let statuses: Vec<(usize, u16)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (h, bases, body) = (&h, &bases, &body);
                s.spawn(move || {
                    (client..REDEMPTIONS)
                        .step_by(CLIENTS)
                        .map(|i| {
                            let host = i % bases.len();
                            let reply = h.post_at(bases[host], "/api/invites/redeem", None, body);
                            (host, reply.status)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("client"))
            .collect()
    });
    assert_eq!(statuses.len(), REDEMPTIONS);
    let count = |status: u16| statuses.iter().filter(|(_, s)| *s == status).count();
    assert_eq!(count(201), 1, "{mode}: statuses: {statuses:?}");
    assert_eq!(
        count(409),
        REDEMPTIONS - 1,
        "{mode}: statuses: {statuses:?}"
    );
    for host in 0..bases.len() {
        assert!(
            statuses.iter().filter(|(h, _)| *h == host).count() >= REDEMPTIONS / 2,
            "{mode}: both hosts served half the requests"
        );
    }

    let snapshot = h.snapshot();
    // Records only: a slot may also hold a marker (`~gap`, `~pending ...`),
    // which is no relationship.
    let relationships = snapshot
        .iter()
        .filter(|(k, v)| {
            k.starts_with("p/p1/cust/") && !k.ends_with("/seq") && !v.starts_with(b"~")
        })
        .count();
    assert_eq!(relationships, 1, "{mode}: exactly one relationship stored");
    let organizations = snapshot
        .keys()
        .filter(|k| k.starts_with("o/") && k.matches('/').count() == 1)
        .count();
    assert_eq!(organizations, 1, "{mode}: exactly one organization stored");

    let id = invite["id"].as_str().expect("invite id");
    let stored = h.request_at(
        bases[1],
        "GET",
        &format!("/api/invites/{id}"),
        &[
            ("accept", "application/json"),
            ("authorization", &format!("Bearer {}", h.partner("p1"))),
        ],
        b"",
    );
    assert_eq!(stored.status, 200, "{mode}: {}", stored.body);
    assert_eq!(
        stored.json()["status"],
        "accepted",
        "{mode}: {}",
        stored.body
    );
}
