//! A partner's request to be connected to an organization that already exists.

use serde::{Deserialize, Serialize};

use super::audit::{Action, AuditEvent, Stamp, recorded};
use super::ids::{OrganizationId, RelationshipId, RequestId};
use super::intent::Intent;
use crate::capabilities::ConnectionType;
use crate::problem::{Problem, ProblemKind, Reason};
use crate::store::Journal;

/// Default lifetime of a connection request: 14 days.
pub const DEFAULT_REQUEST_TTL_DAYS: u32 = 14;

/// A request's status as clients see it; `expired` is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the organization's admin.
    Pending,
    /// Approved: the relationship exists.
    Approved,
    /// Declined by the admin.
    Declined,
    /// Withdrawn by the partner.
    Withdrawn,
    /// Past its expiry without a decision.
    Expired,
}

/// The stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RequestState {
    /// Written, but not yet entered in the organization's ledger, which
    /// decides whether it may be open: shown nowhere.
    Proposed,
    /// Waiting.
    Pending,
    /// Approved.
    Approved {
        /// The relationship created.
        relationship_id: RelationshipId,
    },
    /// Declined.
    Declined,
    /// Withdrawn.
    Withdrawn,
    /// Never opened: another request for the pair was open. Shown nowhere.
    Refused,
}

/// What a change request would change: the relationship, and its
/// connection when the change was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeOf {
    /// The relationship.
    pub relationship_id: RelationshipId,
    /// Its connection when asked.
    pub from: ConnectionType,
}

/// A connection request record: to connect an organization, or (with
/// `change`) to change an existing relationship's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRequest {
    /// `con_<seq>_<random>`.
    pub id: RequestId,
    /// The asking partner.
    pub partner_id: String,
    /// The organization asked.
    pub organization_id: OrganizationId,
    /// The connection that approval would create.
    pub connection: ConnectionType,
    /// When the request expires.
    pub expires_at: u64,
    /// The language of its approval email and page (a BCP 47 tag), if the
    /// partner gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The relationship a change request would change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeOf>,
    /// Stored state.
    #[serde(flatten)]
    pub state: RequestState,
    /// Every change, oldest first.
    pub history: Vec<AuditEvent>,
    /// What must still follow the last committed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
}

impl Journal for ConnectionRequest {
    fn recorded(&self, event: &str) -> bool {
        recorded(&self.history, event)
    }
}

impl ConnectionRequest {
    /// Whether the request was ever opened (lists and links show no other).
    pub fn opened(&self) -> bool {
        !matches!(self.state, RequestState::Proposed | RequestState::Refused)
    }

    /// The status at `now` (of an opened request).
    pub fn status(&self, now: u64) -> RequestStatus {
        match self.state {
            RequestState::Pending | RequestState::Proposed if now >= self.expires_at => {
                RequestStatus::Expired
            }
            RequestState::Pending | RequestState::Proposed => RequestStatus::Pending,
            RequestState::Approved { .. } => RequestStatus::Approved,
            RequestState::Declined => RequestStatus::Declined,
            RequestState::Withdrawn | RequestState::Refused => RequestStatus::Withdrawn,
        }
    }

    /// When the request was made.
    pub fn created_at(&self) -> u64 {
        self.history.first().map_or(0, |e| e.at)
    }

    /// Whether a decision is still possible at `now`.
    pub fn check_open(&self, now: u64) -> Result<(), Problem> {
        match self.status(now) {
            RequestStatus::Pending => Ok(()),
            RequestStatus::Expired => Err(Problem::new(
                ProblemKind::Expired,
                "this connection request has expired",
            )
            .because(Reason::RequestExpired)),
            RequestStatus::Withdrawn if self.ended_with_its_relationship() => Err(Problem::new(
                ProblemKind::InvalidState,
                "the relationship this change request concerns has ended",
            )
            .because(Reason::RelationshipEnded)),
            RequestStatus::Withdrawn => Err(Problem::new(
                ProblemKind::Revoked,
                "this connection request was withdrawn by the partner",
            )
            .because(Reason::RequestWithdrawn)),
            RequestStatus::Approved | RequestStatus::Declined => Err(Problem::new(
                ProblemKind::InvalidState,
                "this connection request has already been decided",
            )
            .because(Reason::RequestDecided)),
        }
    }

    /// Records a decision its relationship made (a change request's), if
    /// the record does not show it yet; whether it changed.
    pub fn close(&mut self, state: &RequestState, event: &AuditEvent) -> bool {
        if !matches!(self.state, RequestState::Pending | RequestState::Proposed) {
            return false;
        }
        self.state = state.clone();
        self.history.push(event.clone());
        true
    }

    /// Whether it was a change request closed by the end of its relationship.
    fn ended_with_its_relationship(&self) -> bool {
        self.history
            .last()
            .is_some_and(|e| e.action == Action::Ended)
    }

    /// Moves a pending request to `state`, recording `action`.
    pub fn decide(
        &mut self,
        state: RequestState,
        action: Action,
        stamp: &Stamp,
    ) -> Result<(), Problem> {
        self.check_open(stamp.at)?;
        self.state = state;
        self.history.push(stamp.event(action));
        Ok(())
    }
}

/// The wire name of a status.
pub fn request_status_name(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Pending => "pending",
        RequestStatus::Approved => "approved",
        RequestStatus::Declined => "declined",
        RequestStatus::Withdrawn => "withdrawn",
        RequestStatus::Expired => "expired",
    }
}
