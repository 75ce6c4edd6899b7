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
    /// Plain-text body (empty in the copy an invite keeps of its last email:
    /// see [`Email::without_body`]).
    pub text: String,
    /// HTML body, the same words and link as `text` (none in emails written
    /// before HTML was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// When it was produced.
    pub created_at: u64,
    /// What became of it.
    #[serde(flatten)]
    pub status: EmailStatus,
    /// The change it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Every attempt to hand it to the relay, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<DeliveryAttempt>,
    /// When it is tried again, while the relay keeps refusing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<u64>,
    /// Until when a dispatcher holds its next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<u64>,
}

impl Email {
    /// The email as a record that shows what became of it keeps it: without
    /// its text, HTML and attempts, which stay in the outbox, so that the
    /// record stays small for every request that reads it.
    pub fn without_body(&self) -> Email {
        Email {
            id: self.id.clone(),
            to: self.to.clone(),
            subject: self.subject.clone(),
            text: String::new(),
            html: None,
            created_at: self.created_at,
            status: self.status.clone(),
            source: self.source.clone(),
            attempts: Vec::new(),
            next_attempt_at: self.next_attempt_at,
            claimed_until: self.claimed_until,
        }
    }
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
    /// A relationship's connection changed (at once, or by an approval).
    #[serde(rename = "relationship.changed")]
    RelationshipChanged,
    /// A relationship ended.
    #[serde(rename = "relationship.ended")]
    RelationshipEnded,
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
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
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
    /// When it is tried again, while the endpoint keeps failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<u64>,
    /// Until when a dispatcher holds its next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<u64>,
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

/// Where an outbox item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Written with its change, not tried yet.
    Queued,
    /// Handed over (a 2xx), or recorded where there is no relay.
    Delivered,
    /// The last attempt failed; another is scheduled.
    Retrying,
    /// The schedule is over, or the endpoint is gone: no more attempts
    /// unless someone retries it.
    Failed,
}

/// What the outbox and its dispatcher need of an item, email or delivery.
pub trait Deliverable {
    /// Every attempt so far.
    fn attempts(&self) -> &[DeliveryAttempt];
    /// When the next scheduled attempt is due.
    fn next_attempt_at(&self) -> Option<u64>;
    /// Until when a dispatcher holds the next attempt.
    fn claimed_until(&self) -> Option<u64>;
    /// Holds (or frees, with `None`) the next attempt.
    fn claim(&mut self, until: Option<u64>);
    /// Records an attempt and when the next is due (`None`: no more).
    fn record(&mut self, attempt: DeliveryAttempt, next: Option<u64>);
    /// The change it reports.
    fn source(&self) -> Option<&Source>;
    /// Where it stands.
    fn state(&self) -> DeliveryState {
        match self.attempts().last() {
            None => DeliveryState::Queued,
            Some(a) if a.succeeded() => DeliveryState::Delivered,
            Some(_) if self.next_attempt_at().is_some() => DeliveryState::Retrying,
            Some(_) => DeliveryState::Failed,
        }
    }
    /// Whether a dispatcher may take its next attempt now: it is retrying,
    /// due, and nobody holds it.
    fn due(&self, now: u64) -> bool {
        self.next_attempt_at().is_some_and(|at| at <= now)
            && self.claimed_until().is_none_or(|until| until <= now)
    }
}

impl Deliverable for WebhookDelivery {
    fn attempts(&self) -> &[DeliveryAttempt] {
        &self.attempts
    }
    fn next_attempt_at(&self) -> Option<u64> {
        self.next_attempt_at
    }
    fn claimed_until(&self) -> Option<u64> {
        self.claimed_until
    }
    fn claim(&mut self, until: Option<u64>) {
        self.claimed_until = until;
    }
    fn record(&mut self, attempt: DeliveryAttempt, next: Option<u64>) {
        self.attempts.push(attempt);
        self.next_attempt_at = next;
        self.claimed_until = None;
    }
    fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }
}

impl Deliverable for Email {
    fn attempts(&self) -> &[DeliveryAttempt] {
        &self.attempts
    }
    fn next_attempt_at(&self) -> Option<u64> {
        self.next_attempt_at
    }
    fn claimed_until(&self) -> Option<u64> {
        self.claimed_until
    }
    fn claim(&mut self, until: Option<u64>) {
        self.claimed_until = until;
    }
    fn record(&mut self, attempt: DeliveryAttempt, next: Option<u64>) {
        self.status = match (attempt.status, &attempt.error) {
            (Some(s), _) if attempt.succeeded() => EmailStatus::Sent { relay_status: s },
            (Some(s), _) => EmailStatus::Failed {
                error: format!("relay answered {s}"),
            },
            (None, error) => EmailStatus::Failed {
                error: error.clone().unwrap_or_else(|| "no answer".into()),
            },
        };
        self.attempts.push(attempt);
        self.next_attempt_at = next;
        self.claimed_until = None;
    }
    fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }
    fn state(&self) -> DeliveryState {
        match self.status {
            EmailStatus::Queued => DeliveryState::Queued,
            EmailStatus::Recorded | EmailStatus::Sent { .. } => DeliveryState::Delivered,
            EmailStatus::Failed { .. } if self.next_attempt_at.is_some() => DeliveryState::Retrying,
            EmailStatus::Failed { .. } => DeliveryState::Failed,
        }
    }
}

/// An entry of the redelivery index: outbox items to look at from `at` on
/// (a retry falls due, or a commit's items are checked for a request that
/// died before delivering them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// The items' keys.
    pub keys: Vec<String>,
    /// From when (Unix seconds).
    pub at: u64,
}
