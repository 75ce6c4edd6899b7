//! A partner's request to be connected to an organization that already exists.

use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, AuditEvent};
use crate::capabilities::ConnectionType;
use crate::problem::{Problem, ProblemKind};

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
    /// Waiting.
    Pending,
    /// Approved.
    Approved {
        /// The relationship created.
        relationship_id: String,
    },
    /// Declined.
    Declined,
    /// Withdrawn.
    Withdrawn,
}

/// A connection request record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRequest {
    /// `con_<seq>_<random>`.
    pub id: String,
    /// The asking partner.
    pub partner_id: String,
    /// The organization asked.
    pub organization_id: String,
    /// The connection that approval would create.
    pub connection: ConnectionType,
    /// When the request expires.
    pub expires_at: u64,
    /// Stored state.
    #[serde(flatten)]
    pub state: RequestState,
    /// Every change, oldest first.
    pub history: Vec<AuditEvent>,
}

impl ConnectionRequest {
    /// The status at `now`.
    pub fn status(&self, now: u64) -> RequestStatus {
        match self.state {
            RequestState::Pending if now >= self.expires_at => RequestStatus::Expired,
            RequestState::Pending => RequestStatus::Pending,
            RequestState::Approved { .. } => RequestStatus::Approved,
            RequestState::Declined => RequestStatus::Declined,
            RequestState::Withdrawn => RequestStatus::Withdrawn,
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
            )),
            RequestStatus::Withdrawn => Err(Problem::new(
                ProblemKind::Revoked,
                "this connection request was withdrawn by the partner",
            )),
            RequestStatus::Approved | RequestStatus::Declined => Err(Problem::new(
                ProblemKind::InvalidState,
                "this connection request has already been decided",
            )),
        }
    }

    /// Moves a pending request to `state`, recording `action`.
    pub fn decide(
        &mut self,
        state: RequestState,
        action: Action,
        by: Actor,
        now: u64,
    ) -> Result<(), Problem> {
        self.check_open(now)?;
        self.state = state;
        self.history.push(AuditEvent {
            action,
            by,
            at: now,
        });
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
