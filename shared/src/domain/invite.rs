//! An invite: a partner's offer to connect with a new customer.

use serde::{Deserialize, Serialize};

use super::audit::{Action, AuditEvent, Stamp, recorded};
use super::customer::CustomerDetails;
use super::ids::{InviteId, OrganizationId, RelationshipId};
use super::intent::Intent;
use super::notification::Email;
use crate::capabilities::ConnectionType;
use crate::problem::{Problem, ProblemKind, Reason};
use crate::store::Journal;

/// Default time to live of an invite link: 7 days.
pub const DEFAULT_TTL_DAYS: u32 = 7;
/// Longest time to live of an invite link: 30 days.
pub const MAX_TTL_DAYS: u32 = 30;

/// An invite's status as clients see it; `expired` is derived from the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    /// Sent, waiting for the customer.
    Pending,
    /// Redeemed: the customer is connected.
    Accepted,
    /// Past its expiry without being redeemed.
    Expired,
    /// Revoked by the partner.
    Revoked,
}

impl InviteStatus {
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<InviteStatus> {
        match s {
            "pending" => Some(InviteStatus::Pending),
            "accepted" => Some(InviteStatus::Accepted),
            "expired" => Some(InviteStatus::Expired),
            "revoked" => Some(InviteStatus::Revoked),
            _ => None,
        }
    }
}

/// The stored state; expiry is not a state but a fact about time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InviteState {
    /// Waiting for the customer.
    Pending,
    /// Redeemed.
    Accepted {
        /// The organization that was created or linked.
        organization_id: OrganizationId,
        /// The relationship that was created.
        relationship_id: RelationshipId,
        /// Whether the organization already existed.
        existing_organization: bool,
    },
    /// Revoked.
    Revoked,
}

/// An invite record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// `inv_<seq>_<random>`; the sequence places it in the partner's list.
    pub id: InviteId,
    /// The inviting partner.
    pub partner_id: String,
    /// How the customer will be connected.
    pub connection: ConnectionType,
    /// The customer's details as the partner entered them.
    pub customer: CustomerDetails,
    /// Language of the email and page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The partner's own reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_reference: Option<String>,
    /// Whether the invite email is sent.
    pub send_email: bool,
    /// Link lifetime, kept for resends.
    pub ttl_seconds: u64,
    /// Bumped on every resend; tokens of older generations are dead.
    pub generation: u32,
    /// When the current link was issued.
    pub issued_at: u64,
    /// When the current link expires.
    pub expires_at: u64,
    /// Stored state.
    #[serde(flatten)]
    pub state: InviteState,
    /// Every change, oldest first.
    pub history: Vec<AuditEvent>,
    /// The last invite email and what became of it, without its body (the
    /// outbox has that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_email: Option<Email>,
    /// What must still follow the last committed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
}

impl InviteState {
    /// The status this state stands for, expiry aside.
    fn stored(&self) -> InviteStatus {
        match self {
            InviteState::Pending => InviteStatus::Pending,
            InviteState::Accepted { .. } => InviteStatus::Accepted,
            InviteState::Revoked => InviteStatus::Revoked,
        }
    }
}

/// The status at `now` of an invite stored as `stored` (never `expired`)
/// whose link expires at `expires_at`.
fn status_at(stored: InviteStatus, expires_at: u64, now: u64) -> InviteStatus {
    match stored {
        InviteStatus::Pending if now >= expires_at => InviteStatus::Expired,
        other => other,
    }
}

impl Journal for Invite {
    fn recorded(&self, event: &str) -> bool {
        recorded(&self.history, event)
    }
}

impl Invite {
    /// The status at `now`.
    pub fn status(&self, now: u64) -> InviteStatus {
        status_at(self.state.stored(), self.expires_at, now)
    }

    /// When the invite was created.
    pub fn created_at(&self) -> u64 {
        self.history.first().map_or(self.issued_at, |e| e.at)
    }

    /// Moves the invite from one of the `from` statuses, recording `action`.
    fn transition(
        &mut self,
        from: &[InviteStatus],
        action: Action,
        stamp: &Stamp,
        apply: impl FnOnce(&mut Invite),
    ) -> Result<(), Problem> {
        let status = self.status(stamp.at);
        if !from.contains(&status) {
            let allowed: Vec<&str> = from.iter().map(|s| status_name(*s)).collect();
            return Err(Problem::new(
                ProblemKind::InvalidState,
                format!(
                    "only {} invites can be {}; this one is {}",
                    allowed.join(" or "),
                    action.past_tense(),
                    status_name(status)
                ),
            ));
        }
        apply(self);
        self.history.push(stamp.event(action));
        Ok(())
    }

    /// Issues a fresh link: pending or expired invites only.
    pub fn resend(&mut self, stamp: &Stamp) -> Result<(), Problem> {
        let now = stamp.at;
        self.transition(
            &[InviteStatus::Pending, InviteStatus::Expired],
            Action::Resent,
            stamp,
            |i| {
                i.generation = i.generation.saturating_add(1);
                i.issued_at = now;
                i.expires_at = now.saturating_add(i.ttl_seconds);
            },
        )
    }

    /// Revokes a pending invite.
    pub fn revoke(&mut self, stamp: &Stamp) -> Result<(), Problem> {
        self.transition(&[InviteStatus::Pending], Action::Revoked, stamp, |i| {
            i.state = InviteState::Revoked;
        })
    }

    /// Checks that a link of `generation` may still be redeemed at `now`.
    pub fn check_redeemable(&self, generation: u32, now: u64) -> Result<(), Problem> {
        if generation != self.generation {
            return Err(Problem::new(
                ProblemKind::Revoked,
                "this invite link was replaced by a newer one; use the latest link you received",
            )
            .because(Reason::InviteReplaced));
        }
        match self.status(now) {
            InviteStatus::Pending => Ok(()),
            InviteStatus::Accepted => Err(Problem::new(
                ProblemKind::AlreadyAccepted,
                "this invite has already been used",
            )
            .because(Reason::InviteUsed)),
            InviteStatus::Revoked => Err(Problem::new(
                ProblemKind::Revoked,
                "this invite was revoked by the partner",
            )
            .because(Reason::InviteRevoked)),
            InviteStatus::Expired => Err(Problem::new(
                ProblemKind::Expired,
                "this invite link has expired",
            )
            .because(Reason::InviteExpired)),
        }
    }

    /// Marks the invite accepted by a link of `generation`.
    pub fn accept(
        &mut self,
        generation: u32,
        outcome: InviteState,
        stamp: &Stamp,
    ) -> Result<(), Problem> {
        self.check_redeemable(generation, stamp.at)?;
        self.state = outcome;
        self.history.push(stamp.event(Action::Accepted));
        Ok(())
    }
}

/// An invite as its partner's list reads it: what a summary shows, decoded
/// without the rest of the record (the details, who made each change, the
/// last email), which a page of 50 would otherwise parse for nothing. It
/// reads every invite record, of any age.
#[derive(Debug, Clone, Deserialize)]
pub struct InviteHead {
    /// Id.
    pub id: InviteId,
    /// How the customer will be connected.
    pub connection: ConnectionType,
    customer: CustomerHead,
    /// The partner's own reference.
    #[serde(default)]
    pub partner_reference: Option<String>,
    issued_at: u64,
    /// When the current link expires.
    pub expires_at: u64,
    /// The stored state's name: never `expired`.
    state: InviteStatus,
    history: Vec<LineHead>,
    /// Present while a commit left something owed.
    #[serde(default)]
    intent: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
struct CustomerHead {
    company: CompanyHead,
    contact: ContactHead,
}

#[derive(Debug, Clone, Deserialize)]
struct CompanyHead {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ContactHead {
    email: String,
}

#[derive(Debug, Clone, Deserialize)]
struct LineHead {
    action: Action,
    at: u64,
}

impl InviteHead {
    /// The head of a whole invite.
    pub fn of(invite: &Invite) -> InviteHead {
        InviteHead {
            id: invite.id.clone(),
            connection: invite.connection,
            customer: CustomerHead {
                company: CompanyHead {
                    name: invite.customer.company.name.clone(),
                },
                contact: ContactHead {
                    email: invite.customer.contact.email.clone(),
                },
            },
            partner_reference: invite.partner_reference.clone(),
            issued_at: invite.issued_at,
            expires_at: invite.expires_at,
            state: invite.state.stored(),
            history: invite
                .history
                .iter()
                .map(|e| LineHead {
                    action: e.action,
                    at: e.at,
                })
                .collect(),
            intent: invite.intent.as_ref().map(|_| serde::de::IgnoredAny),
        }
    }

    /// The status at `now`, as [`Invite::status`] has it.
    pub fn status(&self, now: u64) -> InviteStatus {
        status_at(self.state, self.expires_at, now)
    }

    /// Whether a commit left something owed: the whole record must be read
    /// and finished.
    pub fn unfinished(&self) -> bool {
        self.intent.is_some()
    }

    /// The customer's company name.
    pub fn company_name(&self) -> &str {
        &self.customer.company.name
    }

    /// The invited contact's email.
    pub fn contact_email(&self) -> &str {
        &self.customer.contact.email
    }

    /// When the invite was created, as [`Invite::created_at`] has it.
    pub fn created_at(&self) -> u64 {
        self.history.first().map_or(self.issued_at, |e| e.at)
    }

    /// When the customer accepted it.
    pub fn accepted_at(&self) -> Option<u64> {
        self.history
            .iter()
            .find(|e| e.action == Action::Accepted)
            .map(|e| e.at)
    }
}

/// The wire name of a status.
pub fn status_name(status: InviteStatus) -> &'static str {
    match status {
        InviteStatus::Pending => "pending",
        InviteStatus::Accepted => "accepted",
        InviteStatus::Expired => "expired",
        InviteStatus::Revoked => "revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Invite {
        Invite {
            id: InviteId::parse("inv_1_0123456789abcdef").expect("id"),
            partner_id: "p1".into(),
            connection: ConnectionType::Msp,
            customer: CustomerDetails::default(),
            locale: None,
            partner_reference: None,
            send_email: true,
            ttl_seconds: 100,
            generation: 0,
            issued_at: 1_000,
            expires_at: 1_100,
            state: InviteState::Pending,
            history: vec![],
            last_email: None,
            intent: None,
        }
    }

    fn partner(at: u64) -> Stamp {
        Stamp {
            by: crate::domain::Actor::Partner {
                partner_id: "p1".into(),
                user: None,
            },
            at,
            id: format!("ev{at}"),
        }
    }

    #[test]
    fn expiry_is_derived() {
        let i = invite();
        assert_eq!(i.status(1_099), InviteStatus::Pending);
        assert_eq!(i.status(1_100), InviteStatus::Expired);
    }

    #[test]
    fn resend_kills_older_generations_and_renews_expiry() {
        let mut i = invite();
        i.resend(&partner(2_000))
            .expect("expired invites can be resent");
        assert_eq!((i.generation, i.expires_at), (1, 2_100));
        assert_eq!(
            i.check_redeemable(0, 2_001).map_err(|p| p.kind),
            Err(ProblemKind::Revoked)
        );
        assert!(i.check_redeemable(1, 2_001).is_ok());
    }

    #[test]
    fn illegal_moves_are_refused() {
        let mut i = invite();
        i.revoke(&partner(1_001)).expect("pending can be revoked");
        assert_eq!(
            i.revoke(&partner(1_002)).map_err(|p| p.kind),
            Err(ProblemKind::InvalidState)
        );
        assert_eq!(
            i.resend(&partner(1_002)).map_err(|p| p.kind),
            Err(ProblemKind::InvalidState)
        );
        assert_eq!(
            i.check_redeemable(0, 1_002).map_err(|p| p.kind),
            Err(ProblemKind::Revoked)
        );

        let mut expired = invite();
        assert_eq!(
            expired.revoke(&partner(5_000)).map_err(|p| p.kind),
            Err(ProblemKind::InvalidState)
        );
        assert_eq!(
            expired.check_redeemable(0, 5_000).map_err(|p| p.kind),
            Err(ProblemKind::Expired)
        );
    }

    #[test]
    fn accepted_once() {
        let mut i = invite();
        let random = crate::random::CountingEntropy::default();
        let outcome = InviteState::Accepted {
            organization_id: OrganizationId::new(&random),
            relationship_id: RelationshipId::new(&random),
            existing_organization: false,
        };
        let by = |at| Stamp {
            by: crate::domain::Actor::InvitedContact {
                email: "a@b.example".into(),
            },
            at,
            id: format!("ev{at}"),
        };
        i.accept(0, outcome.clone(), &by(1_010)).expect("first");
        assert_eq!(
            i.accept(0, outcome, &by(1_011)).map_err(|p| p.kind),
            Err(ProblemKind::AlreadyAccepted)
        );
        assert_eq!(i.status(9_999), InviteStatus::Accepted);
    }

    #[test]
    fn the_head_read_from_a_record_agrees_with_the_whole_invite() {
        let mut i = invite();
        i.revoke(&partner(1_050)).expect("pending can be revoked");
        i.intent = Some(Intent::default());
        let stored = serde_json::to_vec(&i).expect("encode");
        let head: InviteHead = serde_json::from_slice(&stored).expect("decode");
        for now in [1_000, 1_099, 1_100, 9_999] {
            assert_eq!(head.status(now), i.status(now));
            assert_eq!(InviteHead::of(&i).status(now), i.status(now));
        }
        assert_eq!(head.created_at(), i.created_at());
        assert_eq!(head.accepted_at(), None);
        assert!(head.unfinished());
        assert_eq!(head.company_name(), i.customer.company.name);
    }
}
