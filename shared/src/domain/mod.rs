//! The domain records and their state machines. Illegal moves are refused by
//! methods here, so no operation can, say, revoke an accepted invite.

pub mod audit;
pub mod connection;
pub mod customer;
pub mod invite;
pub mod notification;
pub mod organization;
pub mod partner;

pub use audit::{Action, Actor, AuditEvent};
pub use connection::{ConnectionRequest, RequestState, RequestStatus};
pub use customer::{CustomerDetails, CustomerInput};
pub use invite::{Invite, InviteState, InviteStatus};
pub use notification::{DeliveryAttempt, Email, EmailStatus, EventType, WebhookDelivery};
pub use organization::{Organization, Relationship, Via};
pub use partner::{PartnerProfile, WebhookEndpoint};
