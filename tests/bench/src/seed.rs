//! The data every host serves: one seeding, through the operations' own
//! code minus HTTP, into a SQLite file (and Redis beside it), which each
//! host then gets a copy of.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use devhost::kv::{Backend, KvSemantics, SqliteBackend};
use partner_invites::auth::Principal;
use partner_invites::clock::SystemClock;
use partner_invites::ops::{App, Config, StatusFilter};
use partner_invites::outbound::RecordingTransport;
use partner_invites::random::OsEntropy;
use partner_invites::store::KeyValue;
use partner_invites::token::{Claims, KeyRing, Purpose, Role};

use crate::direct::Direct;
use crate::tee::Tee;

/// The key ring of every host.
pub const RING: &str = "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Invites to redeem, and as many organizations to ask for.
    pub unique: usize,
    /// The large partner's invites, for list scaling.
    pub big: usize,
}

/// What the endpoints need, seeded.
pub struct Seeded {
    /// Invite tokens to redeem.
    pub tokens: Vec<String>,
    /// Organizations to ask for.
    pub organizations: Vec<String>,
    /// One of partner "bench"'s relationships.
    pub relationship: String,
}

/// An access token of `partner`, valid for a day.
pub fn bearer(keys: &KeyRing, partner: &str) -> Result<String> {
    let now = partner_invites::clock::Clock::now(&SystemClock);
    Ok(keys.sign(&Claims {
        purpose: Purpose::Access,
        record_id: "at_bench".into(),
        partner_id: Some(partner.into()),
        organization_id: None,
        subject: Some("bench".into()),
        role: Some(Role::Partner),
        issued_at: now,
        expires_at: now + 24 * 3600,
        generation: 0,
    })?)
}

/// The body of a new invite to customer `i`.
pub fn invite_body(i: usize) -> String {
    format!(
        r#"{{"connection":"msp","send_email":false,"customer":{{"company":{{"name":"Customer {i}","address":{{"country":"DE"}}}},"contact":{{"first_name":"Ada","last_name":"Lovelace","email":"ada{i}@customer.example"}}}}}}"#
    )
}

/// Seeds the SQLite file at `path`, and the Redis server at `redis` with the
/// same records, then leaves the file in Spin's journal mode (a rollback
/// journal): seeding writes in WAL mode, where a hundred thousand fsync'd
/// transactions would take many minutes.
pub fn seed_stores(path: &Path, redis: Option<&str>, sizes: Sizes) -> Result<Seeded> {
    let sqlite: Arc<dyn Backend> = Arc::new(SqliteBackend::open_fast(path, KvSemantics::Correct)?);
    let store: Arc<dyn Backend> = match redis {
        Some(url) => Arc::new(Tee {
            primary: sqlite,
            mirror: Arc::new(devhost::kv::RedisBackend::connect_with(
                url,
                KvSemantics::Correct,
            )?),
        }),
        None => sqlite,
    };
    let app = App {
        store: Direct(store),
        transport: RecordingTransport::default(),
        keys: KeyRing::parse(RING)?,
        clock: Box::new(SystemClock),
        random: Box::new(OsEntropy),
        config: Config {
            public_base_url: "http://bench".into(),
            mail_relay_url: None,
            vendor_name: "Vendor".into(),
            ..Config::default()
        },
    };
    let seeded = futures::executor::block_on(seed(&app, sizes))?;
    // Closes the file (and stops the checkpointer) before its journal mode changes.
    drop(app);
    // The checkpointer's connection closes on its own thread, soon: leaving
    // WAL mode needs the file to itself.
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut last = String::new();
    for _ in 0..100 {
        match connection.query_row("PRAGMA journal_mode = DELETE", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(mode) if mode.eq_ignore_ascii_case("delete") => return Ok(seeded),
            Ok(mode) => last = format!("journal mode {mode}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("{} stayed in WAL mode: {last}", path.display())
}

/// Seeds what the endpoints need.
async fn seed(app: &App<Direct, RecordingTransport>, s: Sizes) -> Result<Seeded> {
    let profile =
        r#"{"display_name":"Bench Partner","billing_accounts":["billing@bench.example"]}"#;
    let bench = Principal::Partner {
        partner_id: "bench".into(),
        user: None,
    };
    app.partners()
        .put(&bench, serde_json::from_str(profile)?)
        .await?;
    let mut tokens = Vec::with_capacity(s.unique);
    for i in 0..s.unique {
        let view = app
            .invites()
            .create(&bench, serde_json::from_str(&invite_body(i))?, None)
            .await?;
        tokens.push(view.token.context("token")?);
    }
    // Some customers for the customers list, through real redemptions.
    for token in tokens.drain(..200) {
        app.redemption()
            .redeem(
                None,
                serde_json::from_str(&format!(r#"{{"token":"{token}"}}"#))?,
            )
            .await?;
    }
    // Organizations for connection requests, by partner "bench-connect".
    let mut organizations = Vec::with_capacity(s.unique);
    for i in 0..s.unique {
        let id = format!("org_bench{i}");
        let org = partner_invites::domain::Organization {
            id: partner_invites::domain::OrganizationId::parse(&id).context("org id")?,
            details: Default::default(),
            admin_email: format!("admin{i}@org.example"),
            admins: Vec::new(),
            settings: Default::default(),
            created_at: 0,
            source: Default::default(),
        };
        // The ledger first, as every organization has one before it can be read.
        let records = app.records();
        records
            .put(
                &partner_invites::store::keys::ledger(&id),
                &partner_invites::domain::Ledger::default(),
            )
            .await?;
        records
            .put(&partner_invites::store::keys::organization(&id), &org)
            .await?;
        organizations.push(id);
    }
    // List scaling: a partner with 1,000 invites and one with `big`, among others.
    for (partner, n) in [
        ("scale-small", 1_000),
        ("scale-big", s.big),
        ("other-a", 1_000),
        ("other-b", 1_000),
    ] {
        let who = Principal::Partner {
            partner_id: partner.into(),
            user: None,
        };
        for i in 0..n {
            app.invites()
                .create(&who, serde_json::from_str(&invite_body(i))?, None)
                .await?;
        }
    }
    app.store.set("baseline", b"baseline value").await?;
    let customers = app
        .relationships()
        .customers(&bench, StatusFilter::All, Default::default())
        .await?;
    let relationship = customers
        .items
        .first()
        .context("a customer")?
        .relationship_id
        .clone();
    Ok(Seeded {
        tokens,
        organizations,
        relationship,
    })
}
