//! The conformance suite on [`Backend`] itself: what each backend does under
//! each [`KvSemantics`], stated per mode and backend.

use std::collections::BTreeSet;
use std::sync::Barrier;

use devhost::kv::{Backend, KvSemantics, SwapError};

/// Which of Spin's stores a backend stands for: Spin's Redis store, or its
/// SQLite store (`key-value-spin`, also Spin's in-memory store, which
/// devhost's memory backend stands in for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// devhost's memory backend.
    Memory,
    /// A SQLite file.
    Sqlite,
    /// A Redis server.
    Redis,
}

const S: &str = "default";

/// What a swap reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reported {
    Ok,
    CasFailed,
}

fn reported(result: Result<(), SwapError>, what: &str) -> Reported {
    match result {
        Ok(()) => Reported::Ok,
        Err(SwapError::CasFailed(_)) => Reported::CasFailed,
        Err(SwapError::Other(e)) => panic!("{what}: a store error: {e}"),
    }
}

fn value(b: &dyn Backend, key: &str) -> Option<Vec<u8>> {
    b.get(S, key).expect("get")
}

fn bytes(v: &str) -> Option<Vec<u8>> {
    Some(v.as_bytes().to_vec())
}

/// A compare-and-swap on `key`: `current` (which must see `seen`), then
/// `meanwhile` (another client's write), then a swap to `new`. Returns what
/// the swap reported and the value afterwards.
fn cas_race(
    b: &dyn Backend,
    key: &str,
    seen: Option<&str>,
    meanwhile: impl FnOnce(),
    new: &str,
    what: &str,
) -> (Reported, Option<Vec<u8>>) {
    let mut cas = b.cas(S, key).expect("cas");
    assert_eq!(
        cas.current().expect("current"),
        seen.and_then(bytes),
        "{what}: {key}"
    );
    meanwhile();
    let r = reported(cas.swap(new.as_bytes()), what);
    (r, value(b, key))
}

/// Every check of one backend in one mode. The backend must be empty.
pub fn backend_conformance(b: &dyn Backend, kind: Kind, mode: KvSemantics) {
    let what = &format!("{kind:?}, {mode}");
    plain_operations(b, what);
    get_many_as_each_mode_answers(b, kind, mode, what);
    compare_and_swap_as_each_mode_answers(b, kind, mode, what);
    concurrency(b, kind, mode, what);
}

/// The same in every mode: values are bytes (empty and non-UTF-8
/// included), absent is not empty, listing, deleting, increments, and the
/// host-side conveniences `get_many` (in order, absent as `None`) and
/// `swap_if` (truthful).
fn plain_operations(b: &dyn Backend, what: &str) {
    assert_eq!(value(b, "k"), None, "{what}");
    b.set(S, "k", b"v1").expect("set");
    assert_eq!(value(b, "k"), bytes("v1"), "{what}");
    b.set(S, "k", b"v2").expect("overwrite");
    assert_eq!(value(b, "k"), bytes("v2"), "{what}");
    let binary = [0u8, 255, 1, b'\n', 0xc3, 0x28];
    b.set(S, "bin", &binary).expect("binary");
    assert_eq!(value(b, "bin").as_deref(), Some(&binary[..]), "{what}");
    b.set(S, "empty", b"").expect("empty");
    assert_eq!(value(b, "empty"), bytes(""), "{what}: empty is not absent");
    b.set(S, "key with spaces/and:colons", b"x")
        .expect("odd key");

    let many = b
        .get_many(S, &["k".into(), "nope".into(), "empty".into(), "k".into()])
        .expect("get_many");
    assert_eq!(
        many,
        vec![bytes("v2"), None, bytes(""), bytes("v2")],
        "{what}: the host's get_many: in order, absent as None"
    );
    assert!(b.get_many(S, &[]).expect("none").is_empty(), "{what}");

    let keys: BTreeSet<String> = b.keys(S).expect("keys").into_iter().collect();
    let expected: BTreeSet<String> = ["k", "bin", "empty", "key with spaces/and:colons"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(keys, expected, "{what}");

    b.delete(S, "k").expect("delete");
    b.delete(S, "k").expect("delete absent");
    assert_eq!(value(b, "k"), None, "{what}");
    b.set(S, "k", b"v2").expect("set again");

    assert_eq!(
        b.increment(S, "n", 5).expect("incr"),
        5,
        "{what}: absent is 0"
    );
    assert_eq!(b.increment(S, "n", -7).expect("incr"), -2, "{what}");
    assert_eq!(b.increment(S, "n", 0).expect("read"), -2, "{what}: a read");
    assert!(b.increment(S, "n", i64::MAX).is_ok(), "{what}");
    assert!(
        b.increment(S, "n", i64::MAX).is_err(),
        "{what}: overflow is an error, not a wrap"
    );
    assert!(
        b.increment(S, "bin", 1).is_err(),
        "{what}: a value that is not a counter"
    );

    let swap_if = |key: &str, expected: Option<&[u8]>, new: &[u8]| {
        b.swap_if(S, key, expected, new).expect("swap_if")
    };
    assert!(swap_if("si", None, b"one"), "{what}: absent as expected");
    assert!(!swap_if("si", None, b"x"), "{what}: present now");
    assert!(!swap_if("si", Some(b"two"), b"x"), "{what}: differs");
    assert_eq!(value(b, "si"), bytes("one"), "{what}: unchanged");
    assert!(swap_if("si", Some(b"one"), b"two"), "{what}: equal");
    assert_eq!(value(b, "si"), bytes("two"), "{what}");
    assert!(
        !swap_if("si-absent", Some(b""), b"x"),
        "{what}: absent is not empty"
    );
    b.set(S, "si-empty", b"").expect("set");
    assert!(
        !swap_if("si-empty", None, b"x"),
        "{what}: empty is not absent"
    );
    assert!(swap_if("si-empty", Some(b""), &binary), "{what}: empty");
    assert!(swap_if("si-empty", Some(&binary), b""), "{what}: binary");
}

/// `wasi:keyvalue` `get-many` (`batch_get_many`), the store holding `k`
/// (`v2`), `bin`, `empty` (`""`) and `key with spaces/and:colons`:
///
/// - `correct`: every key asked for, in order, duplicates kept, `None` for
///   an absent one.
/// - `spin`/`spin-next` on memory and SQLite: Spin's `SELECT key, value ...
///   WHERE key IN rarray(...)`: only the keys that exist, each once, in key
///   order.
/// - `spin`/`spin-next` on Redis: Spin's `KEYS k1 k2 ...`: two or more keys
///   fail with `ERR wrong number of arguments for 'keys' command`. (One key
///   is a glob pattern: see the Redis tests.)
fn get_many_as_each_mode_answers(b: &dyn Backend, kind: Kind, mode: KvSemantics, what: &str) {
    let asked: Vec<String> = ["k", "nope", "empty", "k"].map(String::from).to_vec();
    let got = b.batch_get_many(S, &asked);
    let pair = |k: &str, v: Option<&str>| (k.to_string(), v.and_then(bytes));
    match (kind, mode) {
        (_, KvSemantics::Correct) => assert_eq!(
            got.expect("get-many"),
            vec![
                pair("k", Some("v2")),
                pair("nope", None),
                pair("empty", Some("")),
                pair("k", Some("v2")),
            ],
            "{what}: in order, absent as None"
        ),
        (Kind::Memory | Kind::Sqlite, KvSemantics::Spin | KvSemantics::SpinNext) => assert_eq!(
            got.expect("get-many"),
            vec![pair("empty", Some("")), pair("k", Some("v2"))],
            "{what}: absent keys left out, each key once, in key order"
        ),
        (Kind::Redis, KvSemantics::Spin | KvSemantics::SpinNext) => {
            let e = got.expect_err("KEYS takes one pattern");
            assert!(
                e.contains("wrong number of arguments for 'keys' command"),
                "{what}: {e}"
            );
        }
    }
    let one_absent = b
        .batch_get_many(S, &["nope".to_string()])
        .expect("one absent key");
    match (kind, mode) {
        (_, KvSemantics::Correct) => {
            assert_eq!(one_absent, vec![pair("nope", None)], "{what}")
        }
        // SQLite leaves it out; Redis's `KEYS nope` matches nothing.
        _ => assert_eq!(one_absent, Vec::new(), "{what}: left out"),
    }
    assert_eq!(
        b.batch_get_many(S, &[]).expect("no keys"),
        Vec::new(),
        "{what}"
    );
}

/// Compare-and-swap, one scenario at a time, with what each mode reports
/// and what the store then holds.
fn compare_and_swap_as_each_mode_answers(
    b: &dyn Backend,
    kind: Kind,
    mode: KvSemantics,
    what: &str,
) {
    use KvSemantics::{Correct, Spin, SpinNext};
    use Reported::{CasFailed, Ok};
    let spin_redis = kind == Kind::Redis && mode == Spin;
    let next_redis = kind == Kind::Redis && mode == SpinNext;
    let set = |key: &str, v: &str| b.set(S, key, v.as_bytes()).expect("set");

    // Uncontended, on a present value: written in every mode; Spin's Redis
    // store reports it failed (its UNWATCH key is refused).
    set("c", "one");
    let got = cas_race(b, "c", Some("one"), || {}, "two", what);
    let expected = if spin_redis { CasFailed } else { Ok };
    assert_eq!(got, (expected, bytes("two")), "{what}: uncontended swap");

    // Uncontended, on an absent value: the same.
    let got = cas_race(b, "a", None, || {}, "x", what);
    assert_eq!(got, (expected, bytes("x")), "{what}: uncontended insert");

    // The value changed between `current` and the swap: never written; only
    // Spin-next's Redis store reports success (its aborted EXEC reads as ok).
    let got = cas_race(b, "c", Some("two"), || set("c", "other"), "mine", what);
    let expected = if next_redis { Ok } else { CasFailed };
    assert_eq!(got, (expected, bytes("other")), "{what}: lost the race");

    // Deleted between `current` and the swap: the same.
    set("d", "v");
    let got = cas_race(
        b,
        "d",
        Some("v"),
        || b.delete(S, "d").expect("delete"),
        "mine",
        what,
    );
    assert_eq!(got, (expected, None), "{what}: deleted meanwhile");

    // Absent at `current`, inserted by someone else before the swap: Spin's
    // SQLite store upserts unconditionally and reports success, overwriting
    // the insert; Redis's WATCH aborts the EXEC (Spin reports cas-failed,
    // Spin-next success); correct refuses.
    let got = cas_race(b, "i", None, || set("i", "theirs"), "mine", what);
    let expected = match (kind, mode) {
        (Kind::Memory | Kind::Sqlite, Spin | SpinNext) => (Ok, bytes("mine")),
        (Kind::Redis, Spin) => (CasFailed, bytes("theirs")),
        (Kind::Redis, SpinNext) => (Ok, bytes("theirs")),
        (_, Correct) => (CasFailed, bytes("theirs")),
    };
    assert_eq!(got, expected, "{what}: insert-if-absent raced");

    // A swap without `current`: Spin's stores compare with nothing (SQLite:
    // no seen value, so an upsert; Redis: no WATCH, so EXEC commits);
    // correct compares with the value when the CAS began.
    set("w", "v");
    let cas = b.cas(S, "w").expect("cas");
    set("w", "w");
    let got = (reported(cas.swap(b"z"), what), value(b, "w"));
    let expected = match (kind, mode) {
        (_, Correct) => (CasFailed, bytes("w")),
        (Kind::Redis, Spin) => (CasFailed, bytes("z")),
        _ => (Ok, bytes("z")),
    };
    assert_eq!(got, expected, "{what}: swap without current");

    // `current` twice, the value changing in between: the swap compares with
    // the second read, except on Redis, where the first WATCH already saw
    // the change, so EXEC aborts (Spin reports cas-failed, Spin-next ok).
    set("t", "one");
    let mut cas = b.cas(S, "t").expect("cas");
    assert_eq!(cas.current().expect("current"), bytes("one"), "{what}");
    set("t", "two");
    assert_eq!(cas.current().expect("current"), bytes("two"), "{what}");
    let got = (reported(cas.swap(b"mine"), what), value(b, "t"));
    let expected = match (kind, mode) {
        (Kind::Redis, Spin) => (CasFailed, bytes("two")),
        (Kind::Redis, SpinNext) => (Ok, bytes("two")),
        _ => (Ok, bytes("mine")),
    };
    assert_eq!(got, expected, "{what}: current twice");

    // Empty is a value, not absence, to `current`.
    set("e", "");
    let got = cas_race(b, "e", Some(""), || {}, "full", what);
    assert_eq!(got.1, bytes("full"), "{what}: from empty");
    b.delete(S, "e").expect("delete");
    let mut cas = b.cas(S, "e").expect("cas");
    assert_eq!(cas.current().expect("current"), None, "{what}");
    drop(cas);
    assert_eq!(value(b, "e"), None, "{what}: a dropped CAS writes nothing");
}

/// Under concurrency, 8 threads at once.
///
/// Every mode: 8 × 50 increments, none lost; 8 × 50 `swap_if` loops (the
/// host's truthful convenience), none lost.
///
/// Every mode: [`one_winner_per_round`]: clients that verify a swap by
/// reading back their own unique value see exactly one winner per round.
///
/// Clients that trust what the swap reports, each adding one 50 times:
/// - `correct`: none lost, from an absent value: 400.
/// - `spin`/`spin-next` on memory and SQLite, from a present value: none
///   lost (`UPDATE ... WHERE value = <seen>` is atomic): 400.
/// - `spin-next` on Redis: every swap reports success, so every client
///   swaps exactly 50 times, and updates are lost: 400 or less.
/// - `spin` on Redis: not run; every swap reports `cas-failed`, so such a
///   client never stops.
fn concurrency(b: &dyn Backend, kind: Kind, mode: KvSemantics, what: &str) {
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..50 {
                    b.increment(S, "shared", 1).expect("incr");
                    loop {
                        let current = value(b, "swapped");
                        let n: u64 = current
                            .as_deref()
                            .map_or(0, |v| String::from_utf8_lossy(v).parse().expect("n"));
                        let next = (n + 1).to_string();
                        if b.swap_if(S, "swapped", current.as_deref(), next.as_bytes())
                            .expect("swap_if")
                        {
                            break;
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        b.increment(S, "shared", 0).expect("read"),
        400,
        "{what}: no lost increment"
    );
    assert_eq!(value(b, "swapped"), bytes("400"), "{what}: no lost swap_if");

    one_winner_per_round(b, kind, mode, what);

    let trusting = |key: &str| -> (u64, u64) {
        let attempts: u64 = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let mut attempts = 0u64;
                        for _ in 0..50 {
                            loop {
                                attempts += 1;
                                let mut cas = b.cas(S, key).expect("cas");
                                let n: u64 = cas
                                    .current()
                                    .expect("current")
                                    .map_or(0, |v| String::from_utf8_lossy(&v).parse().expect("n"));
                                if reported(cas.swap((n + 1).to_string().as_bytes()), what)
                                    == Reported::Ok
                                {
                                    break;
                                }
                            }
                        }
                        attempts
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("worker")).sum()
        });
        let reached = value(b, key).map_or(0, |v| String::from_utf8_lossy(&v).parse().expect("n"));
        (attempts, reached)
    };
    match (kind, mode) {
        (_, KvSemantics::Correct) => {
            let (attempts, reached) = trusting("trusted");
            assert_eq!(reached, 400, "{what}: no lost update ({attempts} attempts)");
        }
        (Kind::Memory | Kind::Sqlite, KvSemantics::Spin | KvSemantics::SpinNext) => {
            b.set(S, "trusted", b"0").expect("set");
            let (attempts, reached) = trusting("trusted");
            assert_eq!(
                reached, 400,
                "{what}: from a present value, no lost update ({attempts} attempts)"
            );
        }
        (Kind::Redis, KvSemantics::SpinNext) => {
            let (attempts, reached) = trusting("trusted");
            eprintln!("{what}: 400 swaps, all reported won, reached {reached}");
            assert_eq!(attempts, 400, "{what}: every swap reported success");
            assert!(
                (1..=400).contains(&reached),
                "{what}: 400 reported successes reach {reached}"
            );
        }
        (Kind::Redis, KvSemantics::Spin) => {}
    }
}

/// 8 clients race on one key for 20 rounds. Each round starts from a
/// present value (`r<n>`); each client begins a CAS, and if `current` sees
/// the round's value it swaps in its own unique value and reads the key
/// back, winning iff it reads its own value. In every mode exactly one
/// client wins each round: only one swap writes (Spin's SQLite `UPDATE ...
/// WHERE value = <seen>`, Redis's WATCH, or the truthful compare-and-set).
///
/// What the swaps reported, per mode: `correct`, and `spin`/`spin-next` on
/// memory and SQLite: exactly one success per round, the winner's. `spin` on
/// Redis: none (every swap reports `cas-failed`). `spin-next` on Redis:
/// every swap that ran reports success.
///
/// (From an absent value, Spin's SQLite store would let several clients
/// write, each its own upsert, and each might read its own value back: see
/// the insert-if-absent scenario.)
fn one_winner_per_round(b: &dyn Backend, kind: Kind, mode: KvSemantics, what: &str) {
    const CLIENTS: usize = 8;
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        let start = format!("r{round}");
        b.set(S, "round", start.as_bytes()).expect("set");
        let barrier = Barrier::new(CLIENTS);
        // Each client: (swapped, what the swap reported, won by reading back).
        let outcomes: Vec<(bool, Option<Reported>, bool)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..CLIENTS)
                .map(|client| {
                    let (barrier, start) = (&barrier, &start);
                    scope.spawn(move || {
                        let mine = format!("r{round}-client{client}");
                        barrier.wait();
                        let mut cas = b.cas(S, "round").expect("cas");
                        if cas.current().expect("current").as_deref() != Some(start.as_bytes()) {
                            return (false, None, false);
                        }
                        let r = reported(cas.swap(mine.as_bytes()), what);
                        let won = value(b, "round").as_deref() == Some(mine.as_bytes());
                        (true, Some(r), won)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("client"))
                .collect()
        });
        let winners = outcomes.iter().filter(|(_, _, won)| *won).count();
        assert_eq!(winners, 1, "{what}: round {round}: {outcomes:?}");
        let swapped = outcomes.iter().filter(|(s, _, _)| *s).count();
        let reported_ok = outcomes
            .iter()
            .filter(|(_, r, _)| *r == Some(Reported::Ok))
            .count();
        let winner_reported = outcomes
            .iter()
            .find(|(_, _, won)| *won)
            .and_then(|(_, r, _)| *r);
        match (kind, mode) {
            (Kind::Redis, KvSemantics::Spin) => {
                assert_eq!(reported_ok, 0, "{what}: round {round}: {outcomes:?}")
            }
            (Kind::Redis, KvSemantics::SpinNext) => {
                assert_eq!(reported_ok, swapped, "{what}: round {round}: {outcomes:?}")
            }
            _ => {
                assert_eq!(reported_ok, 1, "{what}: round {round}: {outcomes:?}");
                assert_eq!(
                    winner_reported,
                    Some(Reported::Ok),
                    "{what}: round {round}: {outcomes:?}"
                );
            }
        }
    }
}
