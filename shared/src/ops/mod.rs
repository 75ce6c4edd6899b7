//! The operations: every flow of the product, one service per aggregate,
//! written against the store and transport traits with an injected clock and
//! randomness.
//!
//! | service | aggregate | module |
//! |---|---|---|
//! | [`App::invites`] | a partner's invites: create, resend, revoke, read, list | [`invites`] |
//! | [`App::redemption`] | opening and redeeming an invite link | [`redemption`] |
//! | [`App::organizations`] | the organizations known here and their ledgers: registered, told by the platform, named by a token | [`organizations`] |
//! | [`App::relationships`] | relationships between partners and organizations: both lists, changes, ends | [`relationships`] |
//! | [`App::requests`] | connection requests to existing organizations | [`requests`] |
//! | [`App::partners`] | a partner's profile | [`partner`] |
//! | [`App::outbox`] | emails and webhook deliveries | [`outbox`] |
//! | [`App::dispatcher`] | redelivery: the attempts that fall due after the first | [`dispatch`] |
//!
//! Each operation takes typed input and the caller, and either fails with a
//! [`Problem`] before its first write (so a rejected request leaves the store
//! as it was) or follows the write discipline of [`crate::store`]: prepare,
//! commit once, roll forward. [`App::finish`] rolls forward whatever commit a
//! key names, for any request that meets an unfinished one.

pub mod dispatch;
pub mod invites;
pub mod limits;
pub mod organizations;
pub mod outbox;
pub mod partner;
pub mod redemption;
pub mod relationships;
pub mod requests;

pub use dispatch::{DispatchReport, Dispatcher};
pub use invites::{CreateInvite, IdempotencyKey, Invites};
pub use limits::{BUCKETS, Limiter, Limits, Quota, STRIDES, Scope, stride};
pub use organizations::{ImportItem, OrganizationInput, Organizations};
pub use outbox::Outbox;
pub use partner::{Partners, ProfileUpdate, ProfileView};
pub use redemption::{LabelledCapability, RedeemPreview, RedeemRequest, Redeemed, Redemption};
pub use relationships::{ChangeConnection, Changed, EndRelationship, Relationships, StatusFilter};
pub use requests::{ApprovalPreview, Authority, ChangePreview, InboxView, NewRequest, Requests};

pub use crate::store::PageRequest;
pub use crate::view::Page;

use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::domain::{Actor, Stamp};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::random::Entropy;
use crate::store::{KeyValue, Records, keys};
use crate::token::KeyRing;

/// Deployment settings, from Spin variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where registration and approval pages are served (`https://invites.example.com`).
    pub public_base_url: String,
    /// The mail relay; without one, emails are recorded in the outbox.
    pub mail_relay_url: Option<String>,
    /// The vendor's name, shown where the vendor is the first contact.
    pub vendor_name: String,
    /// The vendor platform's event endpoint, if it has one.
    pub platform: Option<PlatformEndpoint>,
    /// How bearer JWTs of the vendor's identity provider are verified; the
    /// default accepts only the product's own `pi1` tokens.
    pub auth: crate::auth::AuthConfig,
    /// Rate limits.
    pub limits: Limits,
    /// When failed deliveries and emails are tried again.
    pub schedule: crate::domain::Schedule,
}

/// Where the vendor's platform receives every event, signed per Standard
/// Webhooks with its own secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformEndpoint {
    /// The URL.
    pub url: String,
    /// `whsec_<base64>`.
    pub secret: String,
}

/// Everything an operation needs.
pub struct App<S, T> {
    /// The key-value store.
    pub store: S,
    /// Outbound HTTP for email and webhooks.
    pub transport: T,
    /// Signing and verifying keys.
    pub keys: KeyRing,
    /// Time.
    pub clock: Box<dyn Clock + Send + Sync>,
    /// Randomness.
    pub random: Box<dyn Entropy + Send + Sync>,
    /// Settings.
    pub config: Config,
}

/// Parses a JSON request body; a shape error is a 400 naming the problem.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            ProblemKind::Malformed,
            format!("request body is not valid JSON for this endpoint: {e}"),
        )
    })
}

impl<S: KeyValue, T: Transport> App<S, T> {
    /// Seconds since the epoch.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The record layer over the store.
    pub fn records(&self) -> Records<'_, S> {
        Records::new(&self.store, self.random.as_ref())
    }

    /// A transition made now by `by`, with a fresh event id.
    pub(crate) fn stamp(&self, by: Actor) -> Stamp {
        Stamp {
            by,
            at: self.now(),
            id: self.random.hex(8),
        }
    }

    /// The link under the public origin for `path` (`/invite/<token>`).
    pub(crate) fn public_link(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.config.public_base_url.trim_end_matches('/')
        )
    }

    /// Who is calling, from an `Authorization` header: the one place a
    /// bearer token becomes a [`Principal`](crate::auth::Principal).
    ///
    /// A token that starts with `pi1.` is one of ours, verified with the key
    /// ring; any other is a JWT of the identity provider when JWTs are
    /// configured ([`crate::auth::jwt`]), else it is tried as `pi1` (and
    /// refused as it is today). A rejected token writes nothing but, for a
    /// key set fetched from `auth_jwks_url`, its cache.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<crate::auth::Principal, Problem> {
        let token = crate::auth::bearer(authorization)?;
        if token.starts_with("pi1.") || !self.config.auth.enabled() {
            return crate::auth::verify_pi1(&self.keys, token, self.now());
        }
        crate::auth::jwt::verify(
            &self.config.auth,
            self.records(),
            &self.transport,
            token,
            self.now(),
        )
        .await
    }

    /// Invites: create, resend, revoke, read, list.
    pub fn invites(&self) -> Invites<'_, S, T> {
        Invites { app: self }
    }

    /// Opening and redeeming invite links.
    pub fn redemption(&self) -> Redemption<'_, S, T> {
        Redemption { app: self }
    }

    /// Rate limits.
    pub fn limiter(&self) -> Limiter<'_, S, T> {
        Limiter { app: self }
    }

    /// The organizations the product knows.
    pub fn organizations(&self) -> Organizations<'_, S, T> {
        Organizations { app: self }
    }

    /// Relationships: created, listed on both sides, changed and ended.
    pub fn relationships(&self) -> Relationships<'_, S, T> {
        Relationships { app: self }
    }

    /// Connection requests.
    pub fn requests(&self) -> Requests<'_, S, T> {
        Requests { app: self }
    }

    /// Partner profiles.
    pub fn partners(&self) -> Partners<'_, S, T> {
        Partners { app: self }
    }

    /// Emails and webhook deliveries.
    pub fn outbox(&self) -> Outbox<'_, S, T> {
        Outbox { app: self }
    }

    /// Redelivery of what is due.
    pub fn dispatcher(&self) -> Dispatcher<'_, S, T> {
        Dispatcher { app: self }
    }

    /// Rolls forward the commit recorded at `key`, if it is unfinished: the
    /// one way a request finishes what another left (a placeholder names
    /// such a key; so does an item's source). Answers whether the record is
    /// final (no state change or intent can follow), so that a placeholder
    /// naming it that is still unfilled never will be.
    pub async fn finish(&self, key: &str) -> Result<bool, Problem> {
        match keys::commit(key) {
            Some(keys::Commit::Invite { partner, slot }) => {
                let invite = self.invites().finish(&partner, slot).await?;
                Ok(invite.is_none_or(|i| {
                    i.intent.is_none() && !matches!(i.state, crate::domain::InviteState::Pending)
                }))
            }
            Some(keys::Commit::Request { partner, slot }) => {
                let request = self.requests().finish(&partner, slot).await?;
                Ok(request.is_none_or(|r| {
                    use crate::domain::RequestState::{Pending, Proposed};
                    r.intent.is_none() && !matches!(r.state, Pending | Proposed)
                }))
            }
            Some(keys::Commit::Relationship { id }) => {
                let r = self.relationships().finish(&id).await?;
                Ok(r.is_none_or(|r| r.intent.is_none()))
            }
            None => Err(Problem::new(
                ProblemKind::Internal,
                format!("a placeholder names {key}, which holds no commit"),
            )),
        }
    }
}
