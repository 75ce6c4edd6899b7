//! The key layout: the only place key strings are made.
//!
//! Everything a partner owns lives under `p/<partner>/`, so an id taken from
//! another partner simply resolves to a key that does not exist: isolation by
//! construction, and a 404 rather than a 403. Lists are sequences: a counter
//! (`…/seq`) and one key per slot, so a page is a counter read (two round
//! trips, see [`super::read_counter`]) plus one get-many, whatever the size
//! of the store.
//!
//! | key | value |
//! |---|---|
//! | `p/<partner>/profile` | [`PartnerProfile`](crate::domain::PartnerProfile) |
//! | `p/<partner>/inv/seq`, `p/<partner>/inv/<n>` | invite counter, [`Invite`](crate::domain::Invite) `n` |
//! | `p/<partner>/idem/<sha256 of key>` | idempotency record |
//! | `p/<partner>/cust/seq`, `p/<partner>/cust/<n>` | customer counter, [`Relationship`](crate::domain::Relationship) |
//! | `p/<partner>/pair/<org>` | the partner's relationship with `org`, if any |
//! | `p/<partner>/con/seq`, `p/<partner>/con/<n>` | request counter, [`ConnectionRequest`](crate::domain::ConnectionRequest) |
//! | `p/<partner>/con-open/<org>` | the open request for `org`, if any |
//! | `p/<partner>/msg/seq`, `p/<partner>/msg/<n>` | webhook delivery counter, [`WebhookDelivery`](crate::domain::WebhookDelivery) |
//! | `o/<org>` | [`Organization`](crate::domain::Organization) |
//! | `o/<org>/ptn/seq`, `o/<org>/ptn/<n>` | the organization's partners ([`Relationship`](crate::domain::Relationship) copies) |
//! | `con-loc/<request id>` | partner id owning a connection request (for the organization's side) |
//! | `outbox/seq`, `outbox/<n>` | [`Email`](crate::domain::Email) |
//!
//! Partner and organization ids are checked by [`crate::validation::is_id`]
//! before they reach a key, so they never contain `/`.

/// A partner's profile.
pub fn profile(partner: &str) -> String {
    format!("p/{partner}/profile")
}

/// A partner's invite counter.
pub fn invite_seq(partner: &str) -> String {
    format!("p/{partner}/inv/seq")
}

/// A partner's invite number `n`.
pub fn invite(partner: &str, n: u64) -> String {
    format!("p/{partner}/inv/{n}")
}

/// A partner's idempotency record for a hashed `Idempotency-Key`.
pub fn idempotency(partner: &str, key_hash: &str) -> String {
    format!("p/{partner}/idem/{key_hash}")
}

/// A partner's customer counter.
pub fn customer_seq(partner: &str) -> String {
    format!("p/{partner}/cust/seq")
}

/// A partner's customer number `n`.
pub fn customer(partner: &str, n: u64) -> String {
    format!("p/{partner}/cust/{n}")
}

/// The partner's relationship with an organization.
pub fn pair(partner: &str, organization: &str) -> String {
    format!("p/{partner}/pair/{organization}")
}

/// A partner's connection-request counter.
pub fn request_seq(partner: &str) -> String {
    format!("p/{partner}/con/seq")
}

/// A partner's connection request number `n`.
pub fn request(partner: &str, n: u64) -> String {
    format!("p/{partner}/con/{n}")
}

/// The partner's open request for an organization.
pub fn open_request(partner: &str, organization: &str) -> String {
    format!("p/{partner}/con-open/{organization}")
}

/// Which partner owns a connection request.
pub fn request_locator(request_id: &str) -> String {
    format!("con-loc/{request_id}")
}

/// A partner's webhook delivery counter.
pub fn delivery_seq(partner: &str) -> String {
    format!("p/{partner}/msg/seq")
}

/// A partner's webhook delivery number `n`.
pub fn delivery(partner: &str, n: u64) -> String {
    format!("p/{partner}/msg/{n}")
}

/// An organization.
pub fn organization(organization: &str) -> String {
    format!("o/{organization}")
}

/// An organization's partner counter.
pub fn org_partner_seq(organization: &str) -> String {
    format!("o/{organization}/ptn/seq")
}

/// An organization's partner number `n`.
pub fn org_partner(organization: &str, n: u64) -> String {
    format!("o/{organization}/ptn/{n}")
}

/// The outbox counter.
pub fn outbox_seq() -> String {
    "outbox/seq".to_string()
}

/// Outbox email number `n`.
pub fn outbox(n: u64) -> String {
    format!("outbox/{n}")
}
