//! A relationship between a partner and a customer organization, and its
//! life: created by a redeemed invite or an approved request, its connection
//! changed (at once when it only takes capabilities away, with the customer
//! admin's approval when it adds any), and ended by either side.
//!
//! The record at `rel/<id>` is the relationship: every transition is one
//! compare-and-swap of it, checked by [`Relationship::apply`]. The entries in
//! the partner's and the organization's lists are copies of it, replaced by
//! placeholders naming it before a transition and rewritten after, so that
//! a page reads nothing else.

use serde::{Deserialize, Serialize};

use super::audit::{Action, Actor, AuditEvent, Stamp, recorded};
use super::connection::RequestState;
use super::ids::{InviteId, OrganizationId, RelationshipId, RequestId};
use crate::capabilities::{Capability, ConnectionType};
use crate::problem::{Problem, ProblemKind, Reason};
use crate::store::Journal;

/// How a relationship came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// A redeemed invite.
    Invite {
        /// The invite.
        id: InviteId,
    },
    /// An approved connection request.
    ConnectionRequest {
        /// The request.
        id: RequestId,
    },
}

/// Whether a relationship still holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipStatus {
    /// The partner is connected.
    #[default]
    Active,
    /// Ended by one side or an operator; kept for its history.
    Ended,
}

impl RelationshipStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationshipStatus::Active => "active",
            RelationshipStatus::Ended => "ended",
        }
    }

    fn is_active(&self) -> bool {
        *self == RelationshipStatus::Active
    }
}

/// How a relationship ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// Who ended it.
    pub by: Actor,
    /// When (Unix seconds).
    pub at: u64,
    /// Why, if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A change of connection waiting for the customer admin's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    /// The connection request that asks for it.
    pub request_id: RequestId,
    /// The connection asked for.
    pub to: ConnectionType,
    /// When the request expires.
    pub expires_at: u64,
}

/// One line of a relationship's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationshipEvent {
    /// What happened, who did it, when.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The connection before a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ConnectionType>,
    /// The connection after a change (or asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<ConnectionType>,
    /// The change request it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// The reason given for an end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RelationshipEvent {
    /// A line with nothing but what happened, who did it and when.
    pub fn plain(event: AuditEvent) -> RelationshipEvent {
        RelationshipEvent {
            event,
            from: None,
            to: None,
            request_id: None,
            reason: None,
        }
    }
}

/// What must still follow a relationship's last committed transition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RelationshipIntent {
    /// The relationship ended: the organization's ledger must stop naming it,
    /// so that the pair may be connected again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub free_ledger: bool,
    /// Change requests its transitions decided, to record on the requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub close_requests: Vec<Closing>,
    /// The keys of outbox items written before the commit, to deliver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliver: Vec<String>,
}

impl RelationshipIntent {
    /// Removes from `intent` what `carried_out` covered, leaving what a later
    /// transition added; `None` once nothing is owed.
    pub fn discharge(intent: &mut Option<RelationshipIntent>, carried_out: &RelationshipIntent) {
        let Some(owed) = intent.as_mut() else {
            return;
        };
        owed.free_ledger &= !carried_out.free_ledger;
        owed.close_requests
            .retain(|c| !carried_out.close_requests.contains(c));
        owed.deliver.retain(|k| !carried_out.deliver.contains(k));
        if owed.is_empty() {
            *intent = None;
        }
    }

    /// Adds what `more` owes to `intent`; a commit that owes nothing leaves
    /// no intent behind, so that nothing has to clear it.
    pub fn add(intent: &mut Option<RelationshipIntent>, more: RelationshipIntent) {
        if more.is_empty() {
            return;
        }
        let owed = intent.get_or_insert_with(Default::default);
        owed.free_ledger |= more.free_ledger;
        owed.close_requests.extend(more.close_requests);
        owed.deliver.extend(more.deliver);
    }

    /// Whether nothing is owed.
    pub fn is_empty(&self) -> bool {
        !self.free_ledger && self.close_requests.is_empty() && self.deliver.is_empty()
    }
}

/// How a change request was decided, as its record must show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    /// The request.
    pub request_id: RequestId,
    /// Its new state.
    #[serde(flatten)]
    pub state: RequestState,
    /// Its history line.
    pub event: AuditEvent,
}

/// A partner connected to a customer organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// `rel_<random>`.
    pub id: RelationshipId,
    /// The partner.
    pub partner_id: String,
    /// The partner's display name at the time.
    pub partner_name: String,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The organization's company name at the time.
    pub organization_name: String,
    /// How they are connected.
    pub connection: ConnectionType,
    /// Since when (Unix seconds).
    pub since: u64,
    /// Through which invite or request.
    pub via: Via,
    /// Active or ended.
    #[serde(default, skip_serializing_if = "RelationshipStatus::is_active")]
    pub status: RelationshipStatus,
    /// How it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
    /// A change of connection waiting for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<PendingChange>,
    /// Every transition after its creation, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RelationshipEvent>,
    /// What must still follow the last committed transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<RelationshipIntent>,
    /// Where it is listed: each transition rewrites both entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<ListSlots>,
}

/// A relationship's slots in the partner's customers and the organization's
/// partners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSlots {
    /// In the partner's customers.
    pub customer: u64,
    /// In the organization's partners.
    pub partner: u64,
}

/// A transition of a relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// End it.
    End {
        /// Why, if said.
        reason: Option<String>,
    },
    /// Connect them as `to`: at once (`request` is `None`, and the change
    /// may only take capabilities away), or as the approval of `request`.
    Connection {
        /// The new connection.
        to: ConnectionType,
        /// The change request approved.
        request: Option<RequestId>,
    },
    /// Wait for the customer admin's approval of a change.
    Ask(PendingChange),
    /// The customer admin declined, or the partner withdrew, a change request.
    Drop {
        /// The request.
        request: RequestId,
        /// [`Action::Declined`] or [`Action::Withdrawn`].
        action: Action,
    },
}

/// What a change of connection from `from` to `to` adds and takes away, in
/// matrix order.
pub fn difference(from: ConnectionType, to: ConnectionType) -> (Vec<Capability>, Vec<Capability>) {
    let gained = to
        .capabilities()
        .into_iter()
        .filter(|c| !from.grants(*c))
        .collect();
    let lost = from
        .capabilities()
        .into_iter()
        .filter(|c| !to.grants(*c))
        .collect();
    (gained, lost)
}

impl Journal for Relationship {
    fn recorded(&self, event: &str) -> bool {
        recorded(self.history.iter().map(|e| &e.event), event)
    }
}

impl Relationship {
    /// Whether it still holds.
    pub fn is_active(&self) -> bool {
        self.status == RelationshipStatus::Active
    }

    /// The change waiting for approval at `now`, if any (an expired one is
    /// no longer waiting).
    pub fn pending_at(&self, now: u64) -> Option<&PendingChange> {
        self.pending_change.as_ref().filter(|p| p.expires_at > now)
    }

    /// Whether its history names change request `request` (asked for, or
    /// decided): the request's commit was made.
    pub fn names(&self, request: &RequestId) -> bool {
        self.history
            .iter()
            .any(|e| e.request_id.as_ref() == Some(request))
    }

    /// The line of the history that decided change request `request`.
    pub fn decision_of(&self, request: &RequestId) -> Option<&RelationshipEvent> {
        self.history.iter().find(|e| {
            e.request_id.as_ref() == Some(request) && e.event.action != Action::ChangeRequested
        })
    }

    /// Makes `change`, recording it with `stamp`; refuses what the current
    /// state does not allow, changing nothing. Answers the change request it
    /// decided, if any, as that request's record must now show it.
    pub fn apply(&mut self, change: &Change, stamp: &Stamp) -> Result<Option<Closing>, Problem> {
        if !self.is_active() {
            return Err(ended());
        }
        let line = |action: Action| RelationshipEvent::plain(stamp.event(action));
        let closing = |request: &RequestId, state: RequestState, action: Action| Closing {
            request_id: request.clone(),
            state,
            event: stamp.event(action),
        };
        let mut closed = None;
        let event = match change {
            Change::End { reason } => {
                // A change still waiting dies with the relationship.
                if let Some(p) = self.pending_at(stamp.at) {
                    closed = Some(closing(
                        &p.request_id,
                        RequestState::Withdrawn,
                        Action::Ended,
                    ));
                }
                self.pending_change = None;
                self.status = RelationshipStatus::Ended;
                self.ended = Some(Ended {
                    by: stamp.by.clone(),
                    at: stamp.at,
                    reason: reason.clone(),
                });
                RelationshipEvent {
                    reason: reason.clone(),
                    request_id: closed.as_ref().map(|c| c.request_id.clone()),
                    ..line(Action::Ended)
                }
            }
            Change::Connection { to, request } => {
                match request {
                    Some(request) => {
                        self.check_pending(request, stamp.at)?;
                        self.pending_change = None;
                        let state = RequestState::Approved {
                            relationship_id: self.id.clone(),
                        };
                        closed = Some(closing(request, state, Action::Approved));
                    }
                    None => self.check_change(*to, stamp.at)?,
                }
                let from = std::mem::replace(&mut self.connection, *to);
                RelationshipEvent {
                    from: Some(from),
                    to: Some(*to),
                    request_id: request.clone(),
                    ..line(Action::Changed)
                }
            }
            Change::Ask(pending) => {
                self.check_change(pending.to, stamp.at)?;
                self.pending_change = Some(pending.clone());
                RelationshipEvent {
                    from: Some(self.connection),
                    to: Some(pending.to),
                    request_id: Some(pending.request_id.clone()),
                    ..line(Action::ChangeRequested)
                }
            }
            Change::Drop { request, action } => {
                self.check_pending(request, stamp.at)?;
                self.pending_change = None;
                let state = match action {
                    Action::Declined => RequestState::Declined,
                    _ => RequestState::Withdrawn,
                };
                closed = Some(closing(request, state, *action));
                RelationshipEvent {
                    request_id: Some(request.clone()),
                    ..line(*action)
                }
            }
        };
        self.history.push(event);
        Ok(closed)
    }

    /// Whether a change to `to` may be made, or asked for, at `now`: not
    /// ended, another connection, no other change waiting.
    pub fn check_change(&self, to: ConnectionType, now: u64) -> Result<(), Problem> {
        if !self.is_active() {
            return Err(ended());
        }
        if to == self.connection {
            return Err(Problem::new(
                ProblemKind::InvalidState,
                format!("the relationship is already connected as {}", to.as_str()),
            ));
        }
        if self.pending_at(now).is_some() {
            return Err(change_waiting());
        }
        Ok(())
    }

    /// Whether `request` is the change still waiting at `now`.
    fn check_pending(&self, request: &RequestId, now: u64) -> Result<(), Problem> {
        match &self.pending_change {
            Some(p) if &p.request_id == request && p.expires_at > now => Ok(()),
            Some(p) if &p.request_id == request => Err(Problem::new(
                ProblemKind::Expired,
                "this connection request has expired",
            )
            .because(Reason::RequestExpired)),
            _ => Err(Problem::new(
                ProblemKind::InvalidState,
                "this connection request has already been decided",
            )
            .because(Reason::RequestDecided)),
        }
    }
}

fn ended() -> Problem {
    Problem::new(ProblemKind::InvalidState, "this relationship has ended")
        .because(Reason::RelationshipEnded)
}

fn change_waiting() -> Problem {
    Problem::new(
        ProblemKind::DuplicateRequest,
        "a change of this relationship is waiting for the customer's approval; withdraw it first",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Actor;

    fn relationship(connection: ConnectionType) -> Relationship {
        Relationship {
            id: RelationshipId::parse("rel_000000000000000000000001").expect("id"),
            partner_id: "p1".into(),
            partner_name: "P".into(),
            organization_id: OrganizationId::parse("org_1").expect("org"),
            organization_name: "O".into(),
            connection,
            since: 1,
            via: Via::Invite {
                id: InviteId::parse("inv_1_0000000000000001").expect("invite"),
            },
            status: RelationshipStatus::Active,
            ended: None,
            pending_change: None,
            history: Vec::new(),
            intent: None,
            slots: None,
        }
    }

    fn stamp(at: u64) -> Stamp {
        Stamp {
            by: Actor::Operator { user: None },
            at,
            id: format!("e{at}"),
        }
    }

    #[test]
    fn msp_to_reseller_only_takes_away() {
        let (gained, lost) = difference(ConnectionType::Msp, ConnectionType::ResellerWithSupport);
        assert!(gained.is_empty());
        assert_eq!(lost.len(), 4);
        let (gained, lost) = difference(
            ConnectionType::ResellerWithoutSupport,
            ConnectionType::ResellerWithSupport,
        );
        assert_eq!(gained, vec![Capability::FirstContact]);
        assert!(lost.is_empty());
    }

    #[test]
    fn an_ended_relationship_refuses_everything_and_keeps_its_record() {
        let mut r = relationship(ConnectionType::Msp);
        r.apply(&Change::End { reason: None }, &stamp(5))
            .expect("ends");
        let before = r.clone();
        for change in [
            Change::End { reason: None },
            Change::Connection {
                to: ConnectionType::ResellerWithSupport,
                request: None,
            },
        ] {
            let refused = r.apply(&change, &stamp(6)).expect_err("ended");
            assert_eq!(refused.kind.status(), 409);
        }
        assert_eq!(r, before);
    }

    #[test]
    fn an_approval_needs_the_waiting_request_before_it_expires() {
        let mut r = relationship(ConnectionType::ResellerWithoutSupport);
        let request = RequestId::parse("con_1_0000000000000001").expect("request");
        let ask = Change::Ask(PendingChange {
            request_id: request.clone(),
            to: ConnectionType::Msp,
            expires_at: 100,
        });
        r.apply(&ask, &stamp(10)).expect("asks");
        assert_eq!(
            r.apply(&ask, &stamp(11))
                .expect_err("one at a time")
                .kind
                .status(),
            409
        );
        let approve = Change::Connection {
            to: ConnectionType::Msp,
            request: Some(request.clone()),
        };
        assert_eq!(
            r.clone()
                .apply(&approve, &stamp(100))
                .expect_err("expired")
                .kind
                .status(),
            410
        );
        r.apply(&approve, &stamp(20)).expect("approves");
        assert_eq!(r.connection, ConnectionType::Msp);
        assert!(r.decision_of(&request).is_some());
        assert_eq!(
            r.apply(&approve, &stamp(21))
                .expect_err("decided")
                .kind
                .status(),
            409
        );
    }
}
