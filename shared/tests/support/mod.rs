//! A whole app on the in-memory store, with a clock the test moves.
#![allow(dead_code)]

pub mod invariants;
pub mod scenarios;

use std::sync::Arc;

use partner_invites::auth::Principal;
use partner_invites::clock::ManualClock;
use partner_invites::domain::Email;
use partner_invites::ops::{
    App, ApprovalPreview, Authority, Config, IdempotencyKey, Page, PageRequest, ProfileView,
    RedeemPreview, Redeemed, StatusFilter, parse_json,
};
use partner_invites::outbound::{RecordingTransport, Transport};
use partner_invites::problem::Problem;
use partner_invites::random::CountingEntropy;
use partner_invites::store::testing::MemoryStore;
use partner_invites::token::KeyRing;
use partner_invites::view::{
    CustomerView, DeliveryView, InviteSummary, InviteView, PartnerView, RequestView,
};

/// 2026-11-22T00:00:00Z.
pub const START: u64 = 1_795_305_600;
/// A fixed ring: key bytes 0..32.
pub const RING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub type TestApp<'a> = App<&'a MemoryStore, &'a RecordingTransport>;

pub struct World {
    pub store: MemoryStore,
    pub transport: RecordingTransport,
    pub clock: Arc<ManualClock>,
    /// The platform's event endpoint, if the test gives one.
    pub platform: Option<partner_invites::ops::PlatformEndpoint>,
    /// One source for every app of the world, so ids and write nonces are
    /// unique across them, as the platform's randomness makes them.
    pub random: Arc<CountingEntropy>,
    pub relay: Option<String>,
}

impl World {
    pub fn new() -> World {
        World {
            store: MemoryStore::new(),
            transport: RecordingTransport::default(),
            clock: Arc::new(ManualClock::at(START)),
            random: Arc::new(CountingEntropy::default()),
            relay: None,
            platform: None,
        }
    }

    /// A world whose emails go to a relay and whose events also go to the
    /// platform's endpoint (both the recording transport).
    pub fn relayed() -> World {
        World {
            relay: Some("https://relay.example/send".into()),
            platform: Some(partner_invites::ops::PlatformEndpoint {
                url: "https://platform.example/events".into(),
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            }),
            ..World::new()
        }
    }

    /// Every invariant violated by the store as it stands (see
    /// [`invariants::violations`]); `before` are the counters before the
    /// operation under test.
    pub fn violations(&self, before: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
        let mut c = invariants::contents(&self.store.snapshot());
        c.platform = self.platform.is_some();
        invariants::violations(&c, before)
    }

    pub fn app(&self) -> TestApp<'_> {
        self.app_on(&self.store)
    }

    /// An app of this world over another store (a fault-injecting one).
    pub fn app_on<S: partner_invites::store::KeyValue>(
        &self,
        store: S,
    ) -> App<S, &RecordingTransport> {
        self.app_with(store, &self.transport)
    }

    /// An app of this world over another store and another transport.
    pub fn app_with<S: partner_invites::store::KeyValue, T: Transport>(
        &self,
        store: S,
        transport: T,
    ) -> App<S, T> {
        App {
            store,
            transport,
            keys: KeyRing::parse(RING).expect("test ring"),
            clock: Box::new(self.clock.clone()),
            random: Box::new(self.random.clone()),
            config: Config {
                public_base_url: "https://invites.example".into(),
                mail_relay_url: self.relay.clone(),
                vendor_name: "Vendor".into(),
                platform: self.platform.clone(),
                ..Config::default()
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
        claimed: Default::default(),
    }
}

pub fn operator() -> Principal {
    Principal::Operator {
        user: Some("op".into()),
    }
}

/// The operations called as the HTTP edge calls them: JSON bodies parsed
/// into typed input, the caller passed along. Tests read as requests.
#[allow(async_fn_in_trait)]
pub trait Api {
    async fn create_invite(
        &self,
        who: &Principal,
        body: &[u8],
        key: Option<&str>,
    ) -> Result<InviteView, Problem>;
    async fn get_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem>;
    async fn list_invites(
        &self,
        who: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InviteSummary>, Problem>;
    async fn resend_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem>;
    async fn revoke_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem>;
    async fn preview_invite(&self, token: &str) -> Result<RedeemPreview, Problem>;
    async fn redeem_invite(
        &self,
        who: Option<&Principal>,
        body: &[u8],
    ) -> Result<Redeemed, Problem>;
    async fn list_customers(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem>;
    async fn list_partners(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem>;
    async fn request_connection(
        &self,
        who: &Principal,
        body: &[u8],
    ) -> Result<RequestView, Problem>;
    async fn list_requests(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> Result<Page<RequestView>, Problem>;
    async fn withdraw_request(&self, who: &Principal, id: &str) -> Result<RequestView, Problem>;
    async fn preview_request(&self, token: &str) -> Result<ApprovalPreview, Problem>;
    async fn approve_request(&self, id: &str, by: Authority<'_>) -> Result<RequestView, Problem>;
    async fn decline_request(&self, id: &str, by: Authority<'_>) -> Result<RequestView, Problem>;
    async fn get_profile(&self, partner: &str) -> Result<ProfileView, Problem>;
    async fn put_profile(&self, partner: &str, body: &[u8]) -> Result<ProfileView, Problem>;
    async fn list_deliveries(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, Problem>;
    async fn retry_delivery(&self, partner: &str, id: &str) -> Result<DeliveryView, Problem>;
    async fn list_outbox(&self, page: PageRequest) -> Result<Page<Email>, Problem>;
}

impl<S: partner_invites::store::KeyValue, T: partner_invites::outbound::Transport> Api
    for App<S, T>
{
    async fn create_invite(
        &self,
        who: &Principal,
        body: &[u8],
        key: Option<&str>,
    ) -> Result<InviteView, Problem> {
        let input = parse_json(body)?;
        let key = key.map(|k| IdempotencyKey::new(k, body)).transpose()?;
        self.invites().create(who, input, key).await
    }
    async fn get_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem> {
        self.invites().get(who, id).await
    }
    async fn list_invites(
        &self,
        who: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InviteSummary>, Problem> {
        self.invites().list(who, status, page).await
    }
    async fn resend_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem> {
        self.invites().resend(who, id).await
    }
    async fn revoke_invite(&self, who: &Principal, id: &str) -> Result<InviteView, Problem> {
        self.invites().revoke(who, id).await
    }
    async fn preview_invite(&self, token: &str) -> Result<RedeemPreview, Problem> {
        self.redemption().preview(token).await
    }
    async fn redeem_invite(
        &self,
        who: Option<&Principal>,
        body: &[u8],
    ) -> Result<Redeemed, Problem> {
        self.redemption().redeem(who, parse_json(body)?).await
    }
    async fn list_customers(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem> {
        self.relationships()
            .customers(&partner_principal(partner), StatusFilter::All, page)
            .await
    }
    async fn list_partners(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem> {
        self.relationships()
            .partners(&admin(org), StatusFilter::All, page)
            .await
    }
    async fn request_connection(
        &self,
        who: &Principal,
        body: &[u8],
    ) -> Result<RequestView, Problem> {
        self.requests().create(who, parse_json(body)?).await
    }
    async fn list_requests(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> Result<Page<RequestView>, Problem> {
        self.requests().list(who, page).await
    }
    async fn withdraw_request(&self, who: &Principal, id: &str) -> Result<RequestView, Problem> {
        self.requests().withdraw(who, id).await
    }
    async fn preview_request(&self, token: &str) -> Result<ApprovalPreview, Problem> {
        self.requests().preview(token).await
    }
    async fn approve_request(&self, id: &str, by: Authority<'_>) -> Result<RequestView, Problem> {
        self.requests().approve(id, by).await
    }
    async fn decline_request(&self, id: &str, by: Authority<'_>) -> Result<RequestView, Problem> {
        self.requests().decline(id, by).await
    }
    async fn get_profile(&self, partner: &str) -> Result<ProfileView, Problem> {
        self.partners().get(&partner_principal(partner)).await
    }
    async fn put_profile(&self, partner: &str, body: &[u8]) -> Result<ProfileView, Problem> {
        self.partners()
            .put(&partner_principal(partner), parse_json(body)?)
            .await
    }
    async fn list_deliveries(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, Problem> {
        self.outbox()
            .list_deliveries(&partner_principal(partner), page)
            .await
    }
    async fn retry_delivery(&self, partner: &str, id: &str) -> Result<DeliveryView, Problem> {
        self.outbox()
            .retry_delivery(&partner_principal(partner), id)
            .await
    }
    async fn list_outbox(&self, page: PageRequest) -> Result<Page<Email>, Problem> {
        self.outbox().list_emails(&operator(), page).await
    }
}

fn partner_principal(id: &str) -> Principal {
    partner(id)
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
