//! What leaves the app: emails and webhook deliveries, each recorded so that
//! nothing is silently lost.

use serde::{Deserialize, Serialize};

/// What became of an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EmailStatus {
    /// Written to the outbox with (or before) the change it reports, not yet
    /// handed to the relay. Lists leave queued emails out: one whose change
    /// never committed is never sent.
    Queued,
    /// No relay is configured: kept here for the operator.
    Recorded,
    /// The relay accepted it.
    Sent {
        /// The relay's HTTP status.
        relay_status: u16,
    },
    /// The relay refused it or could not be reached.
    Failed {
        /// Why.
        error: String,
    },
}

/// An email, as sent or recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// `eml_<seq>_<random>`.
    pub id: String,
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// When it was produced.
    pub created_at: u64,
    /// What became of it.
    #[serde(flatten)]
    pub status: EmailStatus,
    /// The change it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The change an outbox item reports: the history event of a record. The
/// item may be delivered once that event is in the record's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The record's key.
    pub key: String,
    /// The event's id ([`AuditEvent::id`](super::AuditEvent::id)).
    pub event: String,
}

/// The events partners can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// An invite was created.
    #[serde(rename = "invite.created")]
    InviteCreated,
    /// An invite was redeemed.
    #[serde(rename = "invite.accepted")]
    InviteAccepted,
    /// An invite was revoked.
    #[serde(rename = "invite.revoked")]
    InviteRevoked,
    /// A connection request was made.
    #[serde(rename = "connection.requested")]
    ConnectionRequested,
    /// A connection request was approved.
    #[serde(rename = "connection.approved")]
    ConnectionApproved,
    /// A connection request was declined.
    #[serde(rename = "connection.declined")]
    ConnectionDeclined,
    /// An organization was registered through an invite (the platform's feed
    /// only: it creates the tenant and its first admin from it).
    #[serde(rename = "organization.registered")]
    OrganizationRegistered,
    /// A partner and an organization were connected (the platform's feed only).
    #[serde(rename = "relationship.created")]
    RelationshipCreated,
}

/// Who a webhook delivery goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The partner's endpoint, signed with its secret.
    #[default]
    Partner,
    /// The vendor platform's endpoint, signed with the platform's secret.
    Platform,
}

impl Audience {
    /// Whether it is the default, [`Audience::Partner`].
    pub fn is_partner(&self) -> bool {
        *self == Audience::Partner
    }
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// When.
    pub at: u64,
    /// The endpoint's HTTP status, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The transport error, if it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeliveryAttempt {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// An event and every attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// `msg_<seq>_<random>`; also the `webhook-id` header, stable across retries.
    pub id: String,
    /// The partner whose change it reports.
    pub partner_id: String,
    /// Who it goes to.
    #[serde(default, skip_serializing_if = "Audience::is_partner")]
    pub audience: Audience,
    /// The event.
    pub event: EventType,
    /// The endpoint URL at the time.
    pub url: String,
    /// The exact JSON body, so a retry sends the same bytes.
    pub payload: String,
    /// Every attempt, oldest first; none yet while it is queued.
    pub attempts: Vec<DeliveryAttempt>,
    /// The change it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl WebhookDelivery {
    /// Whether it was never attempted: written with (or before) its change,
    /// and left out of lists until it is sent.
    pub fn queued(&self) -> bool {
        self.attempts.is_empty()
    }

    /// Whether the last attempt succeeded.
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(DeliveryAttempt::succeeded)
    }
}
