//! The domain records and their state machines. Illegal moves are refused by
//! methods here, so no operation can, say, revoke an accepted invite.

pub mod audit;
pub mod connection;
pub mod customer;
pub mod ids;
pub mod intent;
pub mod invite;
pub mod ledger;
pub mod notification;
pub mod organization;
pub mod partner;
pub mod relationship;
pub mod schedule;

pub use audit::{Action, Actor, AuditEvent, Stamp};
pub use connection::{ChangeOf, ConnectionRequest, RequestState, RequestStatus};
pub use customer::{CustomerDetails, CustomerInput};
pub use ids::{
    DeliveryId, EmailId, InviteId, OrganizationId, PartnerId, RelationshipId, RequestId,
};
pub use intent::{Connect, Intent};
pub use invite::{Invite, InviteHead, InviteState, InviteStatus};
pub use ledger::{Ledger, LedgerEntry, OpenRequest};
pub use notification::{
    Audience, Deliverable, DeliveryAttempt, DeliveryState, Due, Email, EmailStatus, EventType,
    Source, WebhookDelivery,
};
pub use organization::{AdminContact, Organization, OrganizationSource};
pub use partner::{EndpointDisabled, PartnerProfile, WebhookEndpoint};
pub use relationship::{
    Change, Closing, Ended, ListSlots, PendingChange, Relationship, RelationshipEvent,
    RelationshipIntent, RelationshipStatus, Via,
};
pub use schedule::{Schedule, Verdict};

use serde::{Deserialize, Serialize};

/// Which partner owns a connection request, for the organization's side
/// (approval by bearer knows the request id, not the partner; the
/// organization's list of requests holds one per request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locator {
    /// The partner.
    pub partner_id: String,
    /// The request, in the organization's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
}
