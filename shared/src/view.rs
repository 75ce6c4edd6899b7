//! What the API answers: records rendered for their reader at a moment.

use serde::Serialize;

use crate::capabilities::{Capability, ConnectionType, FirstContact};
use crate::clock::rfc3339;
use crate::domain::connection::request_status_name;
use crate::domain::invite::status_name;
use crate::domain::{
    Action, Actor, AuditEvent, ChangeOf, ConnectionRequest, CustomerDetails, Deliverable,
    DeliveryAttempt, DeliveryState, Email, EmailStatus, EventType, Invite, InviteHead, InviteId,
    InviteState, Organization, Relationship, Via, WebhookDelivery,
};

/// A page of a list, newest first.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A history line with a readable time.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    action: Action,
    by: Actor,
    at: u64,
    at_time: String,
}

impl HistoryView {
    fn of(e: &AuditEvent) -> HistoryView {
        HistoryView {
            action: e.action,
            by: e.by.clone(),
            at: e.at,
            at_time: rfc3339(e.at),
        }
    }
}

fn history(events: &[AuditEvent]) -> Vec<HistoryView> {
    events.iter().map(HistoryView::of).collect()
}

/// An invite as its partner's list shows it: what tells it apart and where
/// it stands. The link and the history are on `GET /api/invites/:id`, so a
/// page signs no token.
#[derive(Debug, Serialize)]
pub struct InviteSummary {
    /// Id.
    pub id: String,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub status: &'static str,
    /// Connection type.
    pub connection: ConnectionType,
    /// The customer's company name.
    pub company_name: String,
    /// The invited contact's email.
    pub contact_email: String,
    /// The partner's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_reference: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Current link expires (RFC 3339).
    pub expires_at: String,
    /// When the customer accepted it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
}

impl InviteSummary {
    /// Summarises an invite, read as its list reads it, at `now`.
    pub fn new(invite: &InviteHead, now: u64) -> InviteSummary {
        InviteSummary {
            id: invite.id.to_string(),
            status: status_name(invite.status(now)),
            connection: invite.connection,
            company_name: invite.company_name().to_string(),
            contact_email: invite.contact_email().to_string(),
            partner_reference: invite.partner_reference.clone(),
            created_at: rfc3339(invite.created_at()),
            expires_at: rfc3339(invite.expires_at),
            accepted_at: invite.accepted_at().map(rfc3339),
        }
    }
}

/// An invite as its partner sees it.
#[derive(Debug, Serialize)]
pub struct InviteView {
    /// Id.
    pub id: String,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub status: &'static str,
    /// Connection type.
    pub connection: ConnectionType,
    /// What the connection grants.
    pub capabilities: Vec<Capability>,
    /// Who the customer's first contact will be.
    pub first_contact: FirstContact,
    /// The customer's details.
    pub customer: CustomerDetails,
    /// Language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The partner's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_reference: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Current link expires (RFC 3339).
    pub expires_at: String,
    /// Link generation (bumped by resends).
    pub generation: u32,
    /// The registration link, while the invite can be redeemed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The token inside the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The organization connected, once accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The last invite email and what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailView>,
    /// Who did what, when.
    pub history: Vec<HistoryView>,
}

impl InviteView {
    /// Renders `invite` at `now`; `link` and `token` are given while it can be redeemed.
    pub fn new(invite: &Invite, now: u64, link: Option<(String, String)>) -> InviteView {
        let status = invite.status(now);
        let (link, token) = link.map_or((None, None), |(l, t)| (Some(l), Some(t)));
        InviteView {
            id: invite.id.to_string(),
            status: status_name(status),
            connection: invite.connection,
            capabilities: invite.connection.capabilities(),
            first_contact: invite.connection.first_contact(),
            customer: invite.customer.clone(),
            locale: invite.locale.clone(),
            partner_reference: invite.partner_reference.clone(),
            created_at: rfc3339(invite.created_at()),
            expires_at: rfc3339(invite.expires_at),
            generation: invite.generation,
            link,
            token,
            organization_id: match &invite.state {
                InviteState::Accepted {
                    organization_id, ..
                } => Some(organization_id.to_string()),
                _ => None,
            },
            email: invite.last_email.as_ref().map(EmailView::new),
            history: history(&invite.history),
        }
    }
}

/// A change of connection waiting for the customer admin's approval.
#[derive(Debug, Serialize)]
pub struct PendingChangeView {
    /// The change request.
    pub request_id: String,
    /// The connection asked for.
    pub connection: ConnectionType,
    /// When the request expires (RFC 3339).
    pub expires_at: String,
}

impl PendingChangeView {
    fn of(r: &Relationship, now: u64) -> Option<PendingChangeView> {
        r.pending_at(now).map(|p| PendingChangeView {
            request_id: p.request_id.to_string(),
            connection: p.to,
            expires_at: rfc3339(p.expires_at),
        })
    }
}

/// A customer as its partner sees it.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    /// The organization.
    pub organization_id: String,
    /// Its name.
    pub name: String,
    /// `active` or `ended`.
    pub status: &'static str,
    /// How it is connected (how it was, once ended).
    pub connection: ConnectionType,
    /// What the connection grants.
    pub capabilities: Vec<Capability>,
    /// Who its first contact is.
    pub first_contact: FirstContact,
    /// Since when (RFC 3339).
    pub since: String,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// A change of connection waiting for the customer admin's approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChangeView>,
    /// Through which invite or request.
    pub via: Via,
    /// The relationship id.
    pub relationship_id: String,
}

impl CustomerView {
    /// Renders a relationship from the partner's side at `now`.
    pub fn new(r: &Relationship, now: u64) -> CustomerView {
        CustomerView {
            organization_id: r.organization_id.to_string(),
            name: r.organization_name.clone(),
            status: r.status.as_str(),
            connection: r.connection,
            capabilities: r.connection.capabilities(),
            first_contact: r.connection.first_contact(),
            since: rfc3339(r.since),
            ended_at: r.ended.as_ref().map(|e| rfc3339(e.at)),
            pending_change: PendingChangeView::of(r, now),
            via: r.via.clone(),
            relationship_id: r.id.to_string(),
        }
    }
}

/// A partner as its customer organization sees it.
#[derive(Debug, Serialize)]
pub struct PartnerView {
    /// The partner.
    pub partner_id: String,
    /// Its name.
    pub name: String,
    /// `active` or `ended`.
    pub status: &'static str,
    /// How it is connected (how it was, once ended).
    pub connection: ConnectionType,
    /// What the connection grants.
    pub capabilities: Vec<Capability>,
    /// Who the first contact is.
    pub first_contact: FirstContact,
    /// Since when (RFC 3339).
    pub since: String,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// A change of connection waiting for the admin's approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChangeView>,
    /// The relationship id.
    pub relationship_id: String,
}

impl PartnerView {
    /// Renders a relationship from the organization's side at `now`.
    pub fn new(r: &Relationship, now: u64) -> PartnerView {
        PartnerView {
            partner_id: r.partner_id.clone(),
            name: r.partner_name.clone(),
            status: r.status.as_str(),
            connection: r.connection,
            capabilities: r.connection.capabilities(),
            first_contact: r.connection.first_contact(),
            since: rfc3339(r.since),
            ended_at: r.ended.as_ref().map(|e| rfc3339(e.at)),
            pending_change: PendingChangeView::of(r, now),
            relationship_id: r.id.to_string(),
        }
    }
}

/// One line of a relationship's history.
#[derive(Debug, Serialize)]
pub struct RelationshipHistoryView {
    /// The line, as every history shows it.
    #[serde(flatten)]
    pub line: HistoryView,
    /// The connection before a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<ConnectionType>,
    /// The connection after a change, or asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<ConnectionType>,
    /// The change request it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The reason given for an end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A connection request.
#[derive(Debug, Serialize)]
pub struct RequestView {
    /// Id.
    pub id: String,
    /// `pending`, `approved`, `declined`, `withdrawn` or `expired`.
    pub status: &'static str,
    /// The organization.
    pub organization_id: String,
    /// The connection asked for.
    pub connection: ConnectionType,
    /// What it would grant.
    pub capabilities: Vec<Capability>,
    /// Who the first contact would be.
    pub first_contact: FirstContact,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
    /// The language of its approval email and page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// For a change of an existing relationship: which, and its connection
    /// when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeOf>,
    /// Who did what, when.
    pub history: Vec<HistoryView>,
}

impl RequestView {
    /// Renders a request at `now`.
    pub fn new(r: &ConnectionRequest, now: u64) -> RequestView {
        RequestView {
            id: r.id.to_string(),
            status: request_status_name(r.status(now)),
            organization_id: r.organization_id.to_string(),
            connection: r.connection,
            capabilities: r.connection.capabilities(),
            first_contact: r.connection.first_contact(),
            created_at: rfc3339(r.created_at()),
            expires_at: rfc3339(r.expires_at),
            locale: r.locale.clone(),
            change: r.change.clone(),
            history: history(&r.history),
        }
    }
}

/// An email's fate.
#[derive(Debug, Clone, Serialize)]
pub struct EmailView {
    /// Id.
    pub id: String,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// What became of it.
    #[serde(flatten)]
    pub status: EmailStatus,
    /// When (RFC 3339).
    pub created_at: String,
}

impl EmailView {
    /// Renders an email without its body.
    pub fn new(e: &Email) -> EmailView {
        EmailView {
            id: e.id.clone(),
            to: e.to.clone(),
            subject: e.subject.clone(),
            status: e.status.clone(),
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A webhook delivery and its attempts.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    id: String,
    partner_id: String,
    event: EventType,
    url: String,
    payload: String,
    attempts: Vec<DeliveryAttempt>,
    delivered: bool,
    state: DeliveryState,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<String>,
}

impl DeliveryView {
    /// Renders a delivery.
    pub fn new(d: &WebhookDelivery) -> DeliveryView {
        DeliveryView {
            id: d.id.clone(),
            partner_id: d.partner_id.clone(),
            event: d.event,
            url: d.url.clone(),
            payload: d.payload.clone(),
            attempts: d.attempts.clone(),
            delivered: d.delivered(),
            state: d.state(),
            next_attempt_at: d.next_attempt_at.map(rfc3339),
        }
    }
}

/// What `organization.registered` tells the platform: everything it needs
/// to create the tenant and its first admin.
#[derive(Debug, Serialize)]
pub struct RegistrationView {
    /// The new organization.
    pub organization_id: String,
    /// The invite it came through.
    pub invite_id: String,
    /// The partner that invited it.
    pub partner_id: String,
    /// Company, contact (the first admin) and billing, as registered.
    #[serde(flatten)]
    pub details: CustomerDetails,
    /// When (RFC 3339).
    pub registered_at: String,
}

impl RegistrationView {
    /// Renders a registration.
    pub fn new(o: &Organization, invite: &InviteId, partner: &str) -> RegistrationView {
        RegistrationView {
            organization_id: o.id.to_string(),
            invite_id: invite.to_string(),
            partner_id: partner.to_string(),
            details: o.details.clone(),
            registered_at: rfc3339(o.created_at),
        }
    }
}

/// A relationship with its history, as `GET /api/relationships/:id` answers
/// it and the `relationship.*` events report it.
#[derive(Debug, Serialize)]
pub struct RelationshipView {
    /// The partner.
    pub partner_id: String,
    /// Its name.
    pub partner_name: String,
    /// The relationship, as the partner's customers list shows it.
    #[serde(flatten)]
    pub customer: CustomerView,
    /// Who ended it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<Actor>,
    /// Why, if they said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Who did what, when: created, changed, ended.
    pub history: Vec<RelationshipHistoryView>,
}

impl RelationshipView {
    /// Renders a relationship at `now`.
    pub fn new(r: &Relationship, now: u64) -> RelationshipView {
        RelationshipView {
            partner_id: r.partner_id.clone(),
            partner_name: r.partner_name.clone(),
            customer: CustomerView::new(r, now),
            ended_by: r.ended.as_ref().map(|e| e.by.clone()),
            end_reason: r.ended.as_ref().and_then(|e| e.reason.clone()),
            history: r
                .history
                .iter()
                .map(|e| RelationshipHistoryView {
                    line: HistoryView::of(&e.event),
                    from: e.from,
                    to: e.to,
                    request_id: e.request_id.as_ref().map(ToString::to_string),
                    reason: e.reason.clone(),
                })
                .collect(),
        }
    }
}
