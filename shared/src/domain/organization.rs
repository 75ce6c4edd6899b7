//! A customer organization and the relationship that ties it to a partner.

use serde::{Deserialize, Serialize};

use super::customer::CustomerDetails;
use super::ids::{InviteId, OrganizationId, RelationshipId, RequestId};
use crate::capabilities::ConnectionType;

/// A customer organization on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `org_<random>`.
    pub id: OrganizationId,
    /// Company, contact and billing details given at registration.
    pub details: CustomerDetails,
    /// The first admin's login: the invited contact's email.
    pub admin_email: String,
    /// The organization's own settings; linking to a partner never changes them.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// When it was created (Unix seconds).
    pub created_at: u64,
}

/// How a relationship came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// A redeemed invite.
    Invite {
        /// The invite.
        id: InviteId,
    },
    /// An approved connection request.
    ConnectionRequest {
        /// The request.
        id: RequestId,
    },
}

/// A partner connected to a customer organization. Immutable once written,
/// so the copies in the partner's and the organization's lists cannot diverge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// `rel_<random>`.
    pub id: RelationshipId,
    /// The partner.
    pub partner_id: String,
    /// The partner's display name at the time.
    pub partner_name: String,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The organization's company name at the time.
    pub organization_name: String,
    /// How they are connected.
    pub connection: ConnectionType,
    /// Since when (Unix seconds).
    pub since: u64,
    /// Through which invite or request.
    pub via: Via,
}
