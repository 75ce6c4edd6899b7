//! Arbitrary bytes as the body of `POST /api/invites/generate`: the operation
//! never panics, answers with an invite or a problem of the request's own
//! making (400 or 422), and a rejected request leaves the store empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_invites::auth::Principal;
use partner_invites::clock::ManualClock;
use partner_invites::ops::{App, Config, parse_json};
use partner_invites::outbound::RecordingTransport;
use partner_invites::problem::ProblemKind;
use partner_invites::random::CountingEntropy;
use partner_invites::store::testing::MemoryStore;
use partner_invites::token::KeyRing;

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::new();
    let transport = RecordingTransport::default();
    let Ok(keys) = KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") else { return };
    let app = App {
        store: &store,
        transport: &transport,
        keys,
        clock: Box::new(ManualClock::at(1_795_305_600)),
        random: Box::new(CountingEntropy::default()),
        config: Config {
            public_base_url: "https://invites.example".into(),
            mail_relay_url: None,
            vendor_name: "Vendor".into(),
            ..Config::default()
        },
    };
    let partner = Principal::Partner { partner_id: "p1".into(), user: None };
    // As the endpoint does: the body parsed into the typed input, then the operation.
    let created = parse_json(data)
        .and_then(|input| futures::executor::block_on(app.invites().create(&partner, input, None)));
    match created {
        Ok(view) => assert_eq!(view.status, "pending"),
        Err(problem) => {
            assert!(
                matches!(problem.kind, ProblemKind::Malformed | ProblemKind::ValidationFailed),
                "unexpected {problem:?}"
            );
            assert!(store.snapshot().is_empty(), "a rejected request wrote to the store");
        }
    }
});
