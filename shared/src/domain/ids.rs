//! Record ids as types, so an invite id cannot be passed where a request id
//! belongs, and each id kind is parsed in one place.
//!
//! Records kept in a [`Sequence`](crate::store::Sequence) have ids of the
//! form `<prefix>_<n>_<16 hex>`: their slot number, which locates them in one
//! read, and 64 random bits, which make them unguessable. Other records have
//! `<prefix>_<24 hex>`. Parsing accepts canonical ids only, so one record has
//! exactly one id.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::random::Entropy;
use crate::validation::is_id;

/// Defines a sequenced id type with its prefix.
macro_rules! sequenced_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix of every id of this kind.
            pub const PREFIX: &'static str = $prefix;

            /// A new id for slot `n`.
            pub fn new(n: u64, random: &dyn Entropy) -> $name {
                $name(format!("{}_{n}_{}", $prefix, random.hex(8)))
            }

            /// Parses a canonical id of this kind.
            pub fn parse(id: &str) -> Option<$name> {
                slot_of(id, $prefix).map(|_| $name(id.to_string()))
            }

            /// The slot number inside the id.
            pub fn slot(&self) -> u64 {
                slot_of(&self.0, $prefix).unwrap_or(0)
            }
        }

        id_common!($name);
    };
}

/// Defines a random id type with its prefix.
macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn new(random: &dyn Entropy) -> $name {
                $name(format!("{}_{}", $prefix, random.hex(12)))
            }
        }

        id_common!($name);
    };
}

/// Display, `as_str` and string serde for an id type.
macro_rules! id_common {
    ($name:ident) => {
        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                // Stored ids were made by this code; read them back as they are.
                String::deserialize(d).map($name)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

sequenced_id!(
    /// `inv_<n>_<16 hex>`: invite `n` of its partner.
    InviteId,
    "inv"
);
sequenced_id!(
    /// `con_<n>_<16 hex>`: connection request `n` of its partner.
    RequestId,
    "con"
);
sequenced_id!(
    /// `eml_<n>_<16 hex>`: email `n` of the outbox.
    EmailId,
    "eml"
);
sequenced_id!(
    /// `msg_<n>_<16 hex>`: webhook delivery `n` of its partner; also the
    /// `webhook-id` header, stable across attempts.
    DeliveryId,
    "msg"
);
random_id!(
    /// `org_<24 hex>`: an organization registered here.
    OrganizationId,
    "org"
);
random_id!(
    /// `rel_<24 hex>`: a relationship between a partner and an organization.
    RelationshipId,
    "rel"
);

impl RelationshipId {
    /// Parses a canonical relationship id (`rel_` and 24 lowercase hex
    /// digits), so that no other string reaches its key.
    pub fn parse(id: &str) -> Option<RelationshipId> {
        let hex = id.strip_prefix("rel_")?;
        let canonical = hex.len() == 24
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        canonical.then(|| RelationshipId(id.to_string()))
    }
}

impl OrganizationId {
    /// The id of the organization a redemption of `invite` registers: the
    /// same for every attempt, so that attempts cut short and racing ones
    /// reserve their list slots where the winner's organization is read.
    pub fn registered_by(invite: &InviteId) -> OrganizationId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("organization of {invite}").as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        OrganizationId(format!("org_{hex}"))
    }

    /// An organization id given from outside (a token, a path, a body):
    /// any [`is_id`] string, since the platform names its own organizations.
    pub fn parse(id: &str) -> Option<OrganizationId> {
        is_id(id).then(|| OrganizationId(id.to_string()))
    }
}

/// A partner's id, as its access tokens carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerId(String);

impl PartnerId {
    /// A partner id from outside: any [`is_id`] string.
    pub fn parse(id: &str) -> Option<PartnerId> {
        is_id(id).then(|| PartnerId(id.to_string()))
    }
}

id_common!(PartnerId);

/// The slot number inside a canonical `<prefix>_<n>_<16 hex>` id.
fn slot_of(id: &str, prefix: &str) -> Option<u64> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('_')?;
    let (n, random) = rest.split_once('_')?;
    let canonical = !n.is_empty()
        && !n.starts_with('0')
        && n.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical.then(|| n.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequenced_ids_are_canonical_and_carry_their_slot() {
        let id = InviteId::parse("inv_42_0123456789abcdef").expect("canonical");
        assert_eq!(id.slot(), 42);
        for bad in [
            "inv_042_0123456789abcdef",
            "con_42_0123456789abcdef",
            "inv_42_short",
            "inv_42",
            "inv_+4_0123456789abcdef",
            "inv_42_0123456789ABCDEF",
        ] {
            assert_eq!(InviteId::parse(bad), None, "{bad}");
        }
        let made = RequestId::new(7, &crate::random::CountingEntropy::default());
        assert_eq!(RequestId::parse(made.as_str()), Some(made.clone()));
        assert_eq!(made.slot(), 7);
    }

    #[test]
    fn outside_ids_are_plain_safe_strings() {
        assert!(OrganizationId::parse("org_platform-17").is_some());
        assert!(OrganizationId::parse("a/b").is_none());
        assert!(PartnerId::parse("").is_none());
    }
}
