//! The key layout: the only place key strings are made.
//!
//! Everything a partner owns lives under `p/<partner>/`, so an id taken from
//! another partner simply resolves to a key that does not exist: isolation by
//! construction, and a 404 rather than a 403. Lists are [`Sequence`]s.
//!
//! | key | value |
//! |---|---|
//! | `p/<partner>/profile` | [`PartnerProfile`](crate::domain::PartnerProfile) |
//! | `p/<partner>/inv/seq`, `p/<partner>/inv/<n>` | invite counter, [`Invite`](crate::domain::Invite) `n` |
//! | `p/<partner>/idem/<sha256 of key>` | idempotency claim counter: the request that takes 1 creates the invite |
//! | `p/<partner>/idem/<sha256 of key>/rec` | what that request creates (the invite and its outbox items), written before it creates them |
//! | `p/<partner>/cust/seq`, `p/<partner>/cust/<n>` | customer counter, [`Relationship`](crate::domain::Relationship) as it stands, listed by the partner (rewritten by each transition of `rel/<id>`) |
//! | `p/<partner>/con/seq`, `p/<partner>/con/<n>` | request counter, [`ConnectionRequest`](crate::domain::ConnectionRequest) |
//! | `p/<partner>/msg/seq`, `p/<partner>/msg/<n>` | webhook delivery counter, [`WebhookDelivery`](crate::domain::WebhookDelivery) |
//! | `rel/<relationship>` | [`Relationship`](crate::domain::Relationship): the relationship as it stands (status, connection, history), one record to compare-and-swap |
//! | `o/<org>` | [`Organization`](crate::domain::Organization) |
//! | `o/<org>/ptn/ledger` | [`Ledger`](crate::domain::Ledger): the organization's partners and open requests, one record to compare-and-swap |
//! | `o/<org>/ptn/seq`, `o/<org>/ptn/<n>` | the organization's partners ([`Relationship`](crate::domain::Relationship)s as they stand) |
//! | `o/<org>/con/seq`, `o/<org>/con/<n>` | the requests made to the organization ([`Locator`](crate::domain::Locator)s with the request id) |
//! | `rl/<scope>/<bucket or partner>` | a rate counter: its window and its count in one integer, reused window after window (4,096 buckets per hashed scope) |
//! | `platform/msg/seq`, `platform/msg/<n>` | deliveries to the platform's endpoint ([`WebhookDelivery`](crate::domain::WebhookDelivery)) |
//! | `con-loc/<request id>` | which partner owns a connection request (for the organization's side) |
//! | `outbox/seq`, `outbox/<n>` | [`Email`](crate::domain::Email) |
//! | `due/<minute>/seq`, `due/<minute>/<n>` | the redelivery index: [`Due`](crate::domain::Due) entries falling due in that minute (Unix minutes), deleted once handled |
//! | `due/cursor` | the first minute of the index not yet drained (a number) |
//! | `auth/jwks` | [`JwksCache`](crate::auth::jwt::JwksCache): the identity provider's key set fetched from `auth_jwks_url`, a cache (the one key a rejected request may write) |
//!
//! Partner and organization ids are checked by [`crate::validation::is_id`]
//! before they reach a key, so they never contain `/`.

use super::Sequence;

/// A partner's profile.
pub fn profile(partner: &str) -> String {
    format!("p/{partner}/profile")
}

/// A partner's invites.
pub fn invites(partner: &str) -> Sequence {
    Sequence::new(format!("p/{partner}/inv"))
}

/// A partner's invite number `n`.
pub fn invite(partner: &str, n: u64) -> String {
    invites(partner).slot(n)
}

/// A partner's claim counter for a hashed `Idempotency-Key`.
pub fn idempotency_claim(partner: &str, key_hash: &str) -> String {
    format!("p/{partner}/idem/{key_hash}")
}

/// What the request that claimed a hashed `Idempotency-Key` created.
pub fn idempotency(partner: &str, key_hash: &str) -> String {
    format!("p/{partner}/idem/{key_hash}/rec")
}

/// A partner's customers.
pub fn customers(partner: &str) -> Sequence {
    Sequence::new(format!("p/{partner}/cust"))
}

/// A partner's connection requests.
pub fn requests(partner: &str) -> Sequence {
    Sequence::new(format!("p/{partner}/con"))
}

/// A partner's connection request number `n`.
pub fn request(partner: &str, n: u64) -> String {
    requests(partner).slot(n)
}

/// Which partner owns a connection request.
pub fn request_locator(request_id: &str) -> String {
    format!("con-loc/{request_id}")
}

/// A partner's webhook deliveries.
pub fn deliveries(partner: &str) -> Sequence {
    Sequence::new(format!("p/{partner}/msg"))
}

/// A relationship as it stands.
pub fn relationship(id: &str) -> String {
    format!("rel/{id}")
}

/// An organization.
pub fn organization(organization: &str) -> String {
    format!("o/{organization}")
}

/// An organization's ledger of partners and open requests.
pub fn ledger(organization: &str) -> String {
    format!("o/{organization}/ptn/ledger")
}

/// An organization's partners.
pub fn org_partners(organization: &str) -> Sequence {
    Sequence::new(format!("o/{organization}/ptn"))
}

/// The connection requests made to an organization.
pub fn org_requests(organization: &str) -> Sequence {
    Sequence::new(format!("o/{organization}/con"))
}

/// The deliveries to the platform's endpoint.
pub fn platform_deliveries() -> Sequence {
    Sequence::new("platform/msg".to_string())
}

/// A rate counter: `scope`'s for `counter` (a bucket number, or a partner
/// id), reused window after window ([`crate::ops::Limiter`]).
pub fn rate(scope: &str, counter: &str) -> String {
    format!("rl/{scope}/{counter}")
}

/// The emails.
pub fn outbox() -> Sequence {
    Sequence::new("outbox".to_string())
}

/// The redelivery index's entries falling due in `minute` (Unix minutes).
pub fn due(minute: u64) -> Sequence {
    Sequence::new(format!("due/{minute}"))
}

/// The first minute of the redelivery index not yet drained.
pub fn due_cursor() -> String {
    "due/cursor".to_string()
}

/// The cached key set of the identity provider (`auth_jwks_url`).
pub fn jwks_cache() -> String {
    "auth/jwks".to_string()
}

/// A key that holds a record whose commits may carry an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// `p/<partner>/inv/<slot>`.
    Invite {
        /// The partner.
        partner: String,
        /// The invite's slot.
        slot: u64,
    },
    /// `p/<partner>/con/<slot>`.
    Request {
        /// The partner.
        partner: String,
        /// The request's slot.
        slot: u64,
    },
    /// `rel/<relationship>`.
    Relationship {
        /// The relationship.
        id: crate::domain::RelationshipId,
    },
}

/// What kind of commit record `key` is, if any.
pub fn commit(key: &str) -> Option<Commit> {
    if let Some(id) = key.strip_prefix("rel/") {
        return crate::domain::RelationshipId::parse(id).map(|id| Commit::Relationship { id });
    }
    let rest = key.strip_prefix("p/")?;
    let (partner, rest) = rest.split_once('/')?;
    let (kind, n) = rest.split_once('/')?;
    let slot = n
        .parse::<u64>()
        .ok()
        .filter(|s| *s >= 1 && s.to_string() == n)?;
    let partner = partner.to_string();
    match kind {
        "inv" => Some(Commit::Invite { partner, slot }),
        "con" => Some(Commit::Request { partner, slot }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_keys_are_recognised_from_the_layout() {
        assert_eq!(
            commit(&invite("p1", 3)),
            Some(Commit::Invite {
                partner: "p1".into(),
                slot: 3
            })
        );
        assert_eq!(
            commit(&request("p1", 12)),
            Some(Commit::Request {
                partner: "p1".into(),
                slot: 12
            })
        );
        assert_eq!(commit(&invites("p1").counter()), None);
        assert_eq!(commit("p/p1/inv/03"), None);
        assert_eq!(commit(&customers("p1").slot(1)), None);
        let id = "rel_0123456789abcdef01234567";
        assert_eq!(
            commit(&relationship(id)),
            crate::domain::RelationshipId::parse(id).map(|id| Commit::Relationship { id })
        );
        assert_eq!(commit("rel/rel_x"), None);
    }
}
