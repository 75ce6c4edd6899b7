//! A whole app on the in-memory store, with a clock the test moves.
#![allow(dead_code)]

use std::sync::Arc;

use partner_invites::auth::Principal;
use partner_invites::clock::ManualClock;
use partner_invites::ops::{App, Config};
use partner_invites::outbound::RecordingTransport;
use partner_invites::random::CountingEntropy;
use partner_invites::store::MemoryStore;
use partner_invites::token::KeyRing;

/// 2026-11-22T00:00:00Z.
pub const START: u64 = 1_795_305_600;
/// A fixed ring: key bytes 0..32.
pub const RING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub type TestApp<'a> = App<&'a MemoryStore, &'a RecordingTransport>;

pub struct World {
    pub store: MemoryStore,
    pub transport: RecordingTransport,
    pub clock: Arc<ManualClock>,
    pub relay: Option<String>,
}

impl World {
    pub fn new() -> World {
        World {
            store: MemoryStore::new(),
            transport: RecordingTransport::default(),
            clock: Arc::new(ManualClock::at(START)),
            relay: None,
        }
    }

    pub fn app(&self) -> TestApp<'_> {
        App {
            store: &self.store,
            transport: &self.transport,
            keys: KeyRing::parse(RING).expect("test ring"),
            clock: Box::new(self.clock.clone()),
            random: Box::new(CountingEntropy::default()),
            config: Config {
                public_base_url: "https://invites.example".into(),
                mail_relay_url: self.relay.clone(),
                vendor_name: "Vendor".into(),
            },
        }
    }
}

pub fn partner(id: &str) -> Principal {
    Principal::Partner {
        partner_id: id.into(),
        user: Some("u1".into()),
    }
}

pub fn admin(org: &str) -> Principal {
    Principal::CustomerAdmin {
        organization_id: org.into(),
        user: Some("a1".into()),
    }
}

pub fn invite_body(email: &str) -> Vec<u8> {
    serde_json::json!({
        "connection": "reseller_with_support",
        "customer": {
            "company": {"name": "Acme GmbH", "address": {"country": "DE", "city": "Berlin"}, "vat_id": "DE123456789"},
            "contact": {"first_name": "Ada", "last_name": "Lovelace", "email": email}
        }
    })
    .to_string()
    .into_bytes()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
