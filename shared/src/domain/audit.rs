//! Who did what, when: kept on every record for good.

use serde::{Deserialize, Serialize};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A partner's user or system.
    Partner {
        /// The partner.
        partner_id: String,
        /// The user (token subject), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// An admin of a customer organization.
    CustomerAdmin {
        /// The organization.
        organization_id: String,
        /// The user (token subject), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// The invited contact, acting through the invite link.
    InvitedContact {
        /// The invited address.
        email: String,
    },
    /// The organization admin, acting through an approval link.
    ApprovalLink {
        /// The organization.
        organization_id: String,
    },
    /// The vendor's staff.
    Operator {
        /// The user (token subject), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created.
    Created,
    /// A fresh link was issued; earlier links died.
    Resent,
    /// Revoked by the partner.
    Revoked,
    /// Accepted by the customer.
    Accepted,
    /// Approved by the organization's admin.
    Approved,
    /// Declined by the organization's admin.
    Declined,
    /// Withdrawn by the partner.
    Withdrawn,
}

/// One line of a record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub by: Actor,
    /// When (Unix seconds).
    pub at: u64,
}
