//! A relationship's later transitions, a change of connection and an end:
//! one verified swap of its record, and what its intent owes carried out.
//! Apart from creation, which commits on another record.

use super::{ChangeConnection, Changed, EndRelationship, MAX_REASON, Relationships, listed_at};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::relationship::difference;
use crate::domain::{
    Change, EventType, PartnerProfile, Relationship, RelationshipIntent, Source, Stamp,
};
use crate::ops::outbox::{Prepared, keys_of};
use crate::ops::redemption::to_json;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Writes, keys, record};
use crate::validation::Report;
use crate::view::RelationshipView;

impl<S: KeyValue, T: Transport> Relationships<'_, S, T> {
    /// `POST /api/relationships/:id/end`: the partner, the customer's admin
    /// or an operator ends it, at once.
    pub async fn end(
        &self,
        caller: &Principal,
        id: &str,
        input: EndRelationship,
    ) -> Result<RelationshipView, Problem> {
        let mut report = Report::new();
        let reason = report.optional_text("/reason", input.reason.as_deref(), MAX_REASON);
        report.finish().map_err(Problem::validation)?;
        let (r, profile) = self.load_to_change(caller, id).await?;
        let stamp = self.app.stamp(caller.actor());
        let ended = self
            .transition(r, profile, Change::End { reason }, &stamp, |r| {
                Ok(Some((
                    EventType::RelationshipEnded,
                    to_json(&RelationshipView::new(r, stamp.at))?,
                )))
            })
            .await?;
        Ok(RelationshipView::new(&ended, self.app.now()))
    }

    /// `POST /api/relationships/:id/change`: the partner asks for another
    /// connection. One that only takes capabilities away is made at once;
    /// one that adds any waits for the customer admin's approval.
    pub async fn change(
        &self,
        caller: &Principal,
        id: &str,
        input: ChangeConnection,
    ) -> Result<Changed, Problem> {
        caller.partner_id()?;
        let mut report = Report::new();
        let to = report.required_connection("/connection", input.connection.as_deref());
        let locale = report.optional_locale("/locale", input.locale.as_deref());
        report.finish().map_err(Problem::validation)?;
        let to = to.unwrap_or(ConnectionType::ResellerWithoutSupport);
        let (r, profile) = self.load_to_change(caller, id).await?;
        let (gained, _) = difference(r.connection, to);
        if !gained.is_empty() {
            let asked = self
                .app
                .requests()
                .ask_change(caller, r, to, locale)
                .await?;
            return Ok(Changed::Asked(asked));
        }
        let stamp = self.app.stamp(caller.actor());
        let change = Change::Connection { to, request: None };
        let changed = self
            .transition(r, profile, change, &stamp, |r| {
                Ok(Some((
                    EventType::RelationshipChanged,
                    to_json(&RelationshipView::new(r, stamp.at))?,
                )))
            })
            .await?;
        Ok(Changed::Made(RelationshipView::new(
            &changed,
            self.app.now(),
        )))
    }

    /// Makes `change` of `r`: refused before any write if the relationship
    /// does not allow it; else the event (`event` of the relationship as it
    /// will stand) is prepared, the record swapped once (verified, and
    /// checked again on the record as it then is), and what follows carried
    /// out.
    pub(crate) async fn transition(
        &self,
        r: Relationship,
        profile: Option<PartnerProfile>,
        change: Change,
        stamp: &Stamp,
        event: impl FnOnce(&Relationship) -> Result<Option<(EventType, serde_json::Value)>, Problem>,
    ) -> Result<Relationship, Problem> {
        self.transition_with(Writes::new(), r, profile, change, stamp, event)
            .await
    }

    /// [`transition`](Self::transition), writing `prepared` (another
    /// record's pre-commit writes that this commit decides) in its batch of
    /// pre-commit writes: nothing is written if the change is refused first.
    pub(crate) async fn transition_with(
        &self,
        prepared: Writes,
        r: Relationship,
        profile: Option<PartnerProfile>,
        change: Change,
        stamp: &Stamp,
        event: impl FnOnce(&Relationship) -> Result<Option<(EventType, serde_json::Value)>, Problem>,
    ) -> Result<Relationship, Problem> {
        let app = self.app;
        let records = app.records();
        let key = keys::relationship(r.id.as_str());
        let mut next = r.clone();
        next.apply(&change, stamp)?;
        let mut items: Vec<Prepared> = Vec::new();
        let mut writes = prepared;
        let event = event(&next)?;
        // The event is the partner's: a profile read with the record is used
        // only if it is that partner's.
        let profile = profile.filter(|p| p.partner_id == r.partner_id);
        let profile = match (event.is_some(), profile) {
            (true, None) => Some(app.partners().profile(&r.partner_id).await?),
            (_, read) => read,
        };
        if let (Some((event, data)), Some(p)) = (event, &profile) {
            let source = Source {
                key: key.clone(),
                event: stamp.id.clone(),
            };
            items = app
                .outbox()
                .event(&mut writes, p, event, data, source, Vec::new())
                .await?;
            app.outbox().watch(&mut writes, &items).await?;
        }
        // The list entries name the record until its transition is done.
        for listed in r
            .slots
            .map(|slots| listed_at(&r, slots))
            .into_iter()
            .flatten()
        {
            writes.raw(listed, record::placeholder(&key));
        }
        records.put_all(writes).await?;
        let committed = records
            .commit(
                &key,
                &stamp.id,
                |current: Option<Relationship>| {
                    let mut now = current
                        .filter(|c| c.id == r.id)
                        .ok_or_else(|| Problem::not_found("relationship"))?;
                    let closed = now.apply(&change, stamp)?;
                    let owed = RelationshipIntent {
                        free_ledger: matches!(change, Change::End { .. }),
                        close_requests: closed.into_iter().collect(),
                        deliver: keys_of(&items),
                    };
                    RelationshipIntent::add(&mut now.intent, owed);
                    Ok(Edit::Write(now.clone(), now))
                },
                |made| made,
            )
            .await;
        match committed {
            // Nothing owed (a pending change noted): only the list entries
            // to fill, which a reader meeting their placeholders also does.
            Ok(committed) if committed.intent.is_none() => {
                self.relist(&committed).await?;
                Ok(committed)
            }
            Ok(committed) => self.settle(committed, Some(items), profile.as_ref()).await,
            Err(problem) => {
                app.outbox().abandon(&items).await?;
                if let Some(r) = self.current(&r.id).await? {
                    self.relist(&r).await?;
                }
                Err(problem)
            }
        }
    }

    /// Carries out what the relationship's intent owes (each step
    /// idempotent), clears what was done, and lists the relationship as it
    /// then stands.
    pub(super) async fn settle(
        &self,
        r: Relationship,
        items: Option<Vec<Prepared>>,
        profile: Option<&PartnerProfile>,
    ) -> Result<Relationship, Problem> {
        let Some(owed) = r.intent.clone() else {
            return Ok(r);
        };
        let app = self.app;
        if owed.free_ledger {
            self.free(&r).await?;
        }
        for closing in &owed.close_requests {
            app.requests().close(&r.partner_id, closing).await?;
        }
        match items {
            Some(items) => app.outbox().deliver(items, profile).await?,
            None => app.outbox().deliver_keys(&owed.deliver).await?,
        };
        let settled = app
            .records()
            .update(
                &keys::relationship(r.id.as_str()),
                |current: Option<Relationship>| {
                    let mut now = current
                        .filter(|c| c.id == r.id)
                        .ok_or_else(|| Problem::not_found("relationship"))?;
                    if now.intent.is_none() {
                        return Ok(Edit::Keep(now));
                    }
                    RelationshipIntent::discharge(&mut now.intent, &owed);
                    Ok(Edit::Write(now.clone(), now))
                },
            )
            .await?;
        // An intent still there is a later transition's, which lists it.
        if settled.intent.is_none() {
            self.relist(&settled).await?;
        }
        Ok(settled)
    }
}
