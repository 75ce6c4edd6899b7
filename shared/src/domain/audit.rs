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
    /// A relationship's connection changed.
    Changed,
    /// A change of a relationship's connection was asked for.
    ChangeRequested,
    /// A relationship ended.
    Ended,
}

impl Action {
    /// The action as a past participle: "resent", "revoked".
    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Resent => "resent",
            Action::Revoked => "revoked",
            Action::Accepted => "accepted",
            Action::Approved => "approved",
            Action::Declined => "declined",
            Action::Withdrawn => "withdrawn",
            Action::Changed => "changed",
            Action::ChangeRequested => "change requested",
            Action::Ended => "ended",
        }
    }
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
    /// Unique per transition: outbox items name the event they report, so
    /// whether that event was committed can be read off the history.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

/// Whether `history` holds the transition with event id `event`.
pub(crate) fn recorded<'a>(history: impl IntoIterator<Item = &'a AuditEvent>, event: &str) -> bool {
    !event.is_empty() && history.into_iter().any(|e| e.id == event)
}

/// Who makes a transition, when, and its event id: what every state change
/// records in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Who.
    pub by: Actor,
    /// When (Unix seconds).
    pub at: u64,
    /// The event id.
    pub id: String,
}

impl Stamp {
    /// The history line for `action`.
    pub fn event(&self, action: Action) -> AuditEvent {
        AuditEvent {
            action,
            by: self.by.clone(),
            at: self.at,
            id: self.id.clone(),
        }
    }
}
