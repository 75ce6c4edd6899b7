//! Change requests: a relationship's change of connection that adds
//! capabilities waits for the customer admin here. Apart because they are
//! decided on the relationship's record, not the request's.

use super::{Loaded, Requests, event_data};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::{
    Action, Actor, Change, ChangeOf, EventType, PendingChange, Relationship, RequestState,
};
use crate::ops::redemption::to_json;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::KeyValue;
use crate::view::{RelationshipView, RequestView};

impl<S: KeyValue, T: Transport> Requests<'_, S, T> {
    /// Asks the customer admin to approve a change of `relationship`'s
    /// connection to `to` (one that adds capabilities): the request is
    /// proposed, then the relationship's record takes it as its pending
    /// change (the commit: one waiting change per relationship).
    pub(crate) async fn ask_change(
        &self,
        caller: &Principal,
        relationship: Relationship,
        to: ConnectionType,
        locale: Option<String>,
    ) -> Result<RequestView, Problem> {
        let app = self.app;
        let now = app.now();
        // Refused before anything is written if the relationship cannot take it.
        relationship.check_change(to, now)?;
        let (known, profile) = app
            .organizations()
            .known_with_profile(&relationship.organization_id, caller.partner_id()?)
            .await?;
        let known = known.ok_or_else(|| Problem::not_found("relationship"))?;
        let change = ChangeOf {
            relationship_id: relationship.id.clone(),
            from: relationship.connection,
        };
        let (key, record, items, prepared) = self
            .propose(
                caller,
                &profile,
                &known.organization,
                to,
                locale,
                Some(change),
            )
            .await?;
        let ask = Change::Ask(PendingChange {
            request_id: record.id.clone(),
            to,
            expires_at: record.expires_at,
        });
        let stamp = app.stamp(caller.actor());
        // The request is written with the relationship's placeholders, in
        // one batch before the relationship's commit.
        let asked = app
            .relationships()
            .transition_with(prepared, relationship, None, ask, &stamp, |_| Ok(None))
            .await;
        self.open(&key, record, items, &profile, asked.map(drop))
            .await
    }

    /// A decision on a change request: made on its relationship's record
    /// (one swap decides between it, the partner's withdrawal and the
    /// relationship's end), which then records it on the request.
    /// Approval reports `relationship.changed`, a decline
    /// `connection.declined`; a withdrawal, as for any request, nothing.
    pub(super) async fn decide_change(
        &self,
        loaded: Loaded,
        actor: Actor,
        change: Change,
    ) -> Result<RequestView, Problem> {
        let app = self.app;
        let not_found = || Problem::not_found("connection request");
        let Loaded {
            record,
            relationship,
            alongside,
        } = loaded;
        let of = record.change.as_ref().ok_or_else(not_found)?;
        let relationship = match relationship {
            Some(r) => r,
            None => app
                .relationships()
                .current(&of.relationship_id)
                .await?
                .ok_or_else(not_found)?,
        };
        let stamp = app.stamp(actor);
        let declined = matches!(
            change,
            Change::Drop {
                action: Action::Declined,
                ..
            }
        );
        let approved = matches!(change, Change::Connection { .. });
        // What the request's record will show (the relationship records it
        // there as it settles): checked here, before anything is written.
        let closing = relationship.clone().apply(&change, &stamp)?;
        app.relationships()
            .transition(
                relationship,
                alongside.map(|(_, p)| p),
                change,
                &stamp,
                |r| {
                    if approved {
                        let view = RelationshipView::new(r, stamp.at);
                        return Ok(Some((EventType::RelationshipChanged, to_json(&view)?)));
                    }
                    if declined {
                        let mut decided = record.clone();
                        decided.close(&RequestState::Declined, &stamp.event(Action::Declined));
                        let data = event_data(&decided, stamp.at)?;
                        return Ok(Some((EventType::ConnectionDeclined, data)));
                    }
                    Ok(None)
                },
            )
            .await?;
        let mut decided = record;
        if let Some(c) = closing {
            decided.close(&c.state, &c.event);
        }
        Ok(RequestView::new(&decided, app.now()))
    }
}
