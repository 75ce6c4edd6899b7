//! The Redis key-value backend and Spin's runtime config file: conformance
//! against a real `redis-server` of each test's own (`apt-get install
//! redis-server`), the fixture component on Redis, two `devhost` processes
//! sharing one server, and which runtime config files are accepted.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::common::{
    FIXTURE_VARIABLES, Fixture, Kind, MANIFEST, agent, atomics_hold, backend_conformance, call,
    check_batch, fixture_conformance,
};
use devhost::kv::{Backend, KvSemantics, RedisBackend, SwapError};
use devhost::runtime_config::{RuntimeConfig, StoreConfig};
use devhost::testing::{
    HostProcess, KV_SEMANTICS_VARIABLE, RedisServer, TestApp, build_components, workspace_root,
};

fn redis() -> RedisServer {
    RedisServer::start().expect("a redis-server of the test's own")
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).expect("write the runtime config");
    path
}

/// `--runtime-config-file <file>` and the fixture's variables, for `devhost up`.
fn up_args(extra: &[&str], config: Option<&Path>) -> Vec<OsString> {
    let mut args: Vec<OsString> = extra.iter().map(OsString::from).collect();
    if let Some(config) = config {
        args.push("--runtime-config-file".into());
        args.push(config.into());
    }
    args.extend(FIXTURE_VARIABLES.iter().map(OsString::from));
    args
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

#[test]
fn redis_backend_conforms_in_every_mode() {
    for mode in KvSemantics::ALL {
        let server = redis();
        let backend = RedisBackend::connect_with(&server.url(), mode).expect("connects");
        backend_conformance(&backend, Kind::Redis, mode);
    }
}

#[test]
fn spins_get_many_on_redis_is_keys_with_the_keys_as_patterns() {
    let server = redis();
    for mode in [KvSemantics::Spin, KvSemantics::SpinNext] {
        let backend = RedisBackend::connect_with(&server.url(), mode).expect("connects");
        let get_many = |keys: &[&str]| {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            backend.batch_get_many("default", &keys)
        };
        backend.set("default", "k", b"v").expect("set");
        for key in ["g1", "g2", "h1", "h2", "h3"] {
            backend.set("default", key, b"x").expect("set");
        }
        let e = get_many(&["k", "g1"]).expect_err("two patterns");
        assert!(
            e.contains("wrong number of arguments for 'keys' command"),
            "{mode}: {e}"
        );
        // One key: `KEYS k` answers the matching key names, decoded as
        // (key, value) pairs. No match: no pair.
        assert_eq!(
            get_many(&["absent"]).expect("no match"),
            Vec::new(),
            "{mode}"
        );
        // One match, one name: not a pair.
        let e = get_many(&["k"]).expect_err("one name is no pair");
        assert!(e.contains("arity of 2"), "{mode}: {e}");
        // Two matches: one pair, one key name as the other's "value".
        let pair = get_many(&["g*"]).expect("two names, one pair");
        assert!(
            pair == vec![("g1".to_string(), Some(b"g2".to_vec()))]
                || pair == vec![("g2".to_string(), Some(b"g1".to_vec()))],
            "{mode}: {pair:?}"
        );
        let e = get_many(&["h*"]).expect_err("three names");
        assert!(e.contains("arity of 2"), "{mode}: {e}");
    }
}

#[test]
fn a_redis_cas_never_leaves_a_watch_on_a_pooled_connection() {
    // A swap after a WATCH that someone else's write dirtied aborts; so a
    // connection back in the pool with a WATCH still on it would make the
    // next CAS, on another key, abort too. Single-threaded, the backend's
    // pool holds one connection, which every CAS here takes in turn.
    for mode in [KvSemantics::Spin, KvSemantics::SpinNext] {
        let server = redis();
        let backend = RedisBackend::connect_with(&server.url(), mode).expect("connects");
        let other = RedisBackend::connect_with(&server.url(), mode).expect("connects");
        let s = "default";
        let next_swap_writes = |key: &str| {
            let mut cas = backend.cas(s, key).expect("cas");
            assert_eq!(cas.current().expect("current"), None);
            let reported = cas.swap(b"written");
            let expected = match mode {
                KvSemantics::Spin => Err(()),
                _ => Ok(()),
            };
            assert_eq!(
                reported.map_err(|e| assert!(matches!(e, SwapError::CasFailed(_)))),
                expected,
                "{mode}"
            );
            assert_eq!(
                backend.get(s, key).expect("get").as_deref(),
                Some(&b"written"[..]),
                "{mode}: {key}: no WATCH left from before"
            );
        };
        // Dropped after `current`, unswapped.
        let mut cas = backend.cas(s, "w").expect("cas");
        cas.current().expect("current");
        drop(cas);
        other.set(s, "w", b"changed").expect("set");
        next_swap_writes("x");
        // Swapped, whatever it reported.
        let mut cas = backend.cas(s, "w").expect("cas");
        cas.current().expect("current");
        let _ = cas.swap(b"mine");
        other.set(s, "w", b"changed again").expect("set");
        next_swap_writes("y");
        // Swapped after losing the race (EXEC aborted).
        let mut cas = backend.cas(s, "w").expect("cas");
        cas.current().expect("current");
        other.set(s, "w", b"theirs").expect("set");
        let _ = cas.swap(b"mine");
        assert_eq!(
            backend.get(s, "w").expect("get").as_deref(),
            Some(&b"theirs"[..]),
            "{mode}"
        );
        other.set(s, "w", b"theirs again").expect("set");
        next_swap_writes("z");
    }
}

#[test]
fn counters_are_redis_integers_and_keys_are_not_prefixed() {
    let server = redis();
    let backend = RedisBackend::connect(&server.url()).expect("connects");
    assert_eq!(backend.increment("default", "n", 42).expect("incr"), 42);
    assert_eq!(
        backend.get("default", "n").expect("get").as_deref(),
        Some(&b"42"[..]),
        "INCRBY's decimal text, as Spin's Redis store keeps counters"
    );
    backend.set("default", "plain", b"7").expect("set");
    assert_eq!(backend.increment("default", "plain", 1).expect("incr"), 8);
    // One label is one Redis database, as in Spin: the label is no prefix.
    let other = RedisBackend::connect(&server.url()).expect("connects");
    assert_eq!(
        other.get("another-label", "n").expect("get").as_deref(),
        Some(&b"42"[..])
    );
}

#[test]
fn key_value_and_atomics_through_the_component_on_redis_in_every_mode() {
    for mode in KvSemantics::ALL {
        let server = redis();
        let f = Fixture::start(|b| b.kv_redis(server.url()).kv_semantics(mode));
        fixture_conformance(&f, Kind::Redis, mode);
        let direct = RedisBackend::connect(&server.url()).expect("connects");
        assert_eq!(
            direct.get("default", "hits").expect("get").as_deref(),
            Some(&b"64"[..]),
            "{mode}: the component's counter is in Redis"
        );
    }
}

#[test]
fn runtime_config_file_selects_redis_for_the_default_store() {
    let server = redis();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server.runtime_config_toml());
    // The file overrides the builder's SQLite choice, as it overrides `--kv`.
    let sqlite = dir.path().join("unused.db");
    let f = Fixture::start(|b| b.kv_sqlite(&sqlite).runtime_config_file(&config));
    assert_eq!(f.call("PUT", "/kv/greeting", b"from redis").0, 204);
    let direct = RedisBackend::connect(&server.url()).expect("connects");
    assert_eq!(
        direct.get("default", "greeting").expect("get").as_deref(),
        Some(&b"from redis"[..])
    );
    assert!(!sqlite.exists(), "the overridden store is never opened");
}

#[test]
fn a_runtime_config_without_default_keeps_the_hosts_default_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[key_value_store.elsewhere]\ntype = \"spin\"\npath = \"elsewhere.db\"\n",
    );
    let db = dir.path().join("default.db");
    let f = Fixture::start(|b| b.kv_sqlite(&db).runtime_config_file(&config));
    assert_eq!(f.call("PUT", "/kv/greeting", b"local").0, 204);
    let sqlite = devhost::kv::SqliteBackend::open(&db).expect("opens");
    assert_eq!(
        sqlite.get("default", "greeting").expect("get").as_deref(),
        Some(&b"local"[..])
    );
    assert!(
        dir.path().join("elsewhere.db").exists(),
        "relative paths are taken from the file's directory"
    );
}

/// `devhost up <args>` with `DEVHOST_KV_SEMANTICS` set to `semantics`.
fn start_with_env(args: Vec<OsString>, semantics: &str) -> HostProcess {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_devhost"));
    command
        .arg("--manifest")
        .arg(workspace_root().join(MANIFEST))
        .args(["up", "--listen", "127.0.0.1:0"])
        .args(args)
        .env(KV_SEMANTICS_VARIABLE, semantics);
    HostProcess::spawn(command).expect("the host starts")
}

#[test]
fn two_devhost_processes_share_one_redis() {
    build_components(MANIFEST).expect("fixture builds");
    let server = redis();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server.runtime_config_toml());
    let exe = env!("CARGO_BIN_EXE_devhost");
    // One through the runtime config file (which overrides --kv), one
    // through --kv with a Redis URL: both must land on the same server. One
    // is told the semantics by its flag, one by its environment.
    let first = HostProcess::start(
        exe,
        MANIFEST,
        up_args(
            &["--kv", "memory", "--kv-semantics", "correct"],
            Some(&config),
        ),
    )
    .expect("the first host starts");
    assert!(
        first.log().contains("--kv memory is ignored"),
        "{}",
        first.log()
    );
    let url = server.url();
    let second = start_with_env(up_args(&["--kv", &url], None), "correct");
    for host in [&first, &second] {
        assert!(
            host.log().contains("kv semantics: correct"),
            "{}",
            host.log()
        );
    }
    atomics_hold(
        &agent(),
        &[first.base_url(), second.base_url()],
        "two processes, one Redis",
        Kind::Redis,
        KvSemantics::Correct,
    );
    let (status, body, _) = call(
        &agent(),
        "GET",
        &format!("{}/kv/hits", second.base_url()),
        b"",
    );
    assert_eq!((status, body.as_str()), (200, "64"));
}

#[test]
fn devhost_processes_take_their_semantics_from_flag_then_environment_else_spin() {
    build_components(MANIFEST).expect("fixture builds");
    let server = redis();
    let url = server.url();
    let exe = env!("CARGO_BIN_EXE_devhost");
    let kv = ["--kv", url.as_str()];
    let default = HostProcess::start(exe, MANIFEST, up_args(&kv, None)).expect("starts");
    let from_env = start_with_env(up_args(&kv, None), "correct");
    let flag_wins = start_with_env(
        up_args(&["--kv", &url, "--kv-semantics", "spin-next"], None),
        "correct",
    );
    let agent = agent();
    for (host, mode) in [
        (&default, KvSemantics::Spin),
        (&from_env, KvSemantics::Correct),
        (&flag_wins, KvSemantics::SpinNext),
    ] {
        assert!(
            host.log().contains(&format!("kv semantics: {mode}")),
            "{}",
            host.log()
        );
        check_batch(&agent, host.base_url(), Kind::Redis, mode, mode.name());
    }
    // Atomics across two processes under Spin's semantics: what
    // `atomics_hold` says Spin's Redis store does, across processes too.
    let second = HostProcess::start(exe, MANIFEST, up_args(&kv, None)).expect("starts");
    atomics_hold(
        &agent,
        &[default.base_url(), second.base_url()],
        "two processes, one Redis, spin",
        Kind::Redis,
        KvSemantics::Spin,
    );
}

#[test]
fn an_unreachable_redis_stops_start_up_naming_the_url() {
    build_components(MANIFEST).expect("fixture builds");
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
    );
    let refused = |args: Vec<OsString>| match HostProcess::start(
        env!("CARGO_BIN_EXE_devhost"),
        MANIFEST,
        args,
    ) {
        Ok(host) => panic!("started on {}", host.base_url()),
        Err(e) => format!("{e:#}"),
    };
    let message = refused(up_args(&[], Some(&config)));
    assert!(
        message.contains(&url) && message.contains("cannot reach Redis"),
        "{message}"
    );
    let message = refused(up_args(&["--kv", &url], None));
    assert!(message.contains(&url), "{message}");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = runtime.block_on(
        TestApp::builder(MANIFEST)
            .variable("secret_thing", "x")
            .kv_redis(&url)
            .start(),
    );
    let message = format!("{:#}", started.err().expect("refused"));
    assert!(message.contains(&url), "{message}");
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let port = closed_port();
    let url = format!("redis://user:hunter2@127.0.0.1:{port}");
    let message = format!(
        "{:#}",
        RedisBackend::connect(&url).expect_err("nothing listens")
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        message.contains(&format!("redis://user:***@127.0.0.1:{port}")),
        "{message}"
    );
    assert_eq!(
        RuntimeConfig::redis_default(url).describe(),
        format!("default: Redis redis://user:***@127.0.0.1:{port}")
    );
}

#[test]
fn a_store_label_the_file_does_not_define_stops_start_up() {
    build_components(MANIFEST).expect("fixture builds");
    let dir = tempfile::tempdir().expect("tempdir");
    // The fixture's component, granted one more store label.
    let wasm = workspace_root().join("target/wasm32-wasip2/release/devhost_fixture.wasm");
    let manifest = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"labels\"\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"fixture\"\n\
             [component.fixture]\nsource = {:?}\nkey_value_stores = [\"default\", \"users\"]\n",
            wasm.to_string_lossy()
        ),
    )
    .expect("manifest");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let start = |config: &str| {
        let path = write_config(dir.path(), config);
        runtime.block_on(
            TestApp::builder(&manifest)
                .runtime_config_file(path)
                .start(),
        )
    };
    let message = format!(
        "{:#}",
        start("[key_value_store.other]\ntype = \"memory\"\n")
            .err()
            .expect("refused")
    );
    assert!(
        message.contains("\"users\"") && message.contains("[key_value_store.users]"),
        "{message}"
    );
    let app = start("[key_value_store.users]\ntype = \"memory\"\n").expect("starts");
    runtime.block_on(app.shutdown());
}

#[test]
fn spins_runtime_config_syntax_parses() {
    let config = RuntimeConfig::parse(
        r#"
        [key_value_store.default]
        type = "redis"
        url = "redis://localhost"

        [key_value_store.user_data]
        type = "spin"
        path = ".spin/user_data.db"

        [key_value_store.absolute]
        type = "spin"
        path = "/var/kv.db"

        [key_value_store.scratch]
        type = "spin"

        [key_value_store.mem]
        type = "memory"
        "#,
        Path::new("/cfg"),
    )
    .expect("parses");
    assert_eq!(
        config.key_value_stores,
        BTreeMap::from([
            (
                "default".to_string(),
                StoreConfig::Redis {
                    url: "redis://localhost".into()
                }
            ),
            (
                "user_data".to_string(),
                StoreConfig::Spin {
                    path: Some(PathBuf::from("/cfg/.spin/user_data.db"))
                }
            ),
            (
                "absolute".to_string(),
                StoreConfig::Spin {
                    path: Some(PathBuf::from("/var/kv.db"))
                }
            ),
            ("scratch".to_string(), StoreConfig::Spin { path: None }),
            ("mem".to_string(), StoreConfig::Memory),
        ])
    );
    assert!(config.defines("default") && !config.defines("other"));
    assert_eq!(
        RuntimeConfig::parse("", Path::new("/")).expect("empty"),
        RuntimeConfig::default()
    );
}

#[test]
fn bad_runtime_config_files_are_refused_with_the_reason() {
    let cases = [
        (
            "[key_value_store.default]\ntype = \"etcd\"",
            "unknown type \"etcd\"",
        ),
        (
            "[key_value_store.default]\ntype = \"aws_dynamo\"\nregion = \"x\"",
            "Spin store type devhost does not implement",
        ),
        (
            "[key_value_store.users]\ntype = \"redis\"",
            "[key_value_store.users]: type \"redis\" needs `url`",
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"http://u:hunter2@x\"",
            "is not a Redis URL",
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\nurl = 6379",
            "`url` must be a string",
        ),
        (
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"\npath = \"y\"",
            "unknown key `path`",
        ),
        (
            "[key_value_store.default]\npath = \"x\"",
            "`type` is missing",
        ),
        ("[key_value_store]\ndefault = 1", "must be a table"),
        ("key_value_store = 1", "must be a table of stores"),
        (
            "[sqlite_database.default]\ntype = \"spin\"",
            "`sqlite_database` is not supported",
        ),
        ("[key_value_store.default\n", "not valid TOML"),
    ];
    for (text, expected) in cases {
        let message = format!(
            "{:#}",
            RuntimeConfig::parse(text, Path::new("/")).expect_err(text)
        );
        assert!(message.contains(expected), "{text:?}: {message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = RuntimeConfig::load(&dir.path().join("absent.toml")).expect_err("absent");
    assert!(
        format!("{missing:#}").contains("cannot read runtime config file"),
        "{missing:#}"
    );
    let bad = write_config(dir.path(), "[key_value_store.default]\ntype = \"etcd\"\n");
    let message = format!("{:#}", RuntimeConfig::load(&bad).expect_err("bad"));
    assert!(
        message.contains(&bad.display().to_string()) && message.contains("etcd"),
        "the file is named: {message}"
    );
}
