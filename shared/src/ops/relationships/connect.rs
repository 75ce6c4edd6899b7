//! Bringing a relationship into being: its record and list slots reserved
//! before the commit, connected after it; and the ledger's entry for a pair.
//! Apart because only the commits that create one (a redemption, an
//! approval) come here.

use super::{Relationships, listed_at};
use crate::capabilities::ConnectionType;
use crate::domain::{
    Action, Actor, Connect, Ledger, ListSlots, Organization, PartnerProfile, Relationship,
    RelationshipEvent, RelationshipId, RelationshipStatus, Via,
};
use crate::ops::organizations::no_ledger;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Writes, keys, record};

impl<S: KeyValue, T: Transport> Relationships<'_, S, T> {
    /// A new relationship, from now, between the partner of `profile` and
    /// `organization`, made through `via`.
    pub(crate) fn relationship(
        &self,
        profile: &PartnerProfile,
        organization: &Organization,
        connection: ConnectionType,
        via: Via,
        by: Actor,
    ) -> Relationship {
        let created = self.app.stamp(by).event(Action::Created);
        Relationship {
            id: RelationshipId::new(self.app.random.as_ref()),
            partner_id: profile.partner_id.clone(),
            partner_name: profile.display_name.clone(),
            organization_id: organization.id.clone(),
            organization_name: organization.details.company.name.clone(),
            connection,
            since: self.app.now(),
            via,
            status: RelationshipStatus::Active,
            ended: None,
            pending_change: None,
            history: vec![RelationshipEvent::plain(created)],
            intent: None,
            slots: None,
        }
    }

    /// Takes the two list slots of `relationship` (recording them in it),
    /// staging placeholders that name the commit at `commit`, and stages its
    /// record. (The record is written before anything names it; only the
    /// commit makes it count.)
    pub(crate) async fn reserve(
        &self,
        writes: &mut Writes,
        relationship: &mut Relationship,
        commit: &str,
    ) -> Result<ListSlots, Problem> {
        let records = self.app.records();
        let slots = ListSlots {
            customer: keys::customers(&relationship.partner_id)
                .take(records, 1)
                .await?
                .first,
            partner: keys::org_partners(relationship.organization_id.as_str())
                .take(records, 1)
                .await?
                .first,
        };
        relationship.slots = Some(slots);
        records.stage(
            writes,
            keys::relationship(relationship.id.as_str()),
            relationship,
        )?;
        for key in listed_at(relationship, slots) {
            writes.raw(key, record::placeholder(commit));
        }
        Ok(slots)
    }

    /// Deletes a reserved record and slots: their commit was refused, or
    /// joined a relationship made by another.
    pub(crate) async fn release(
        &self,
        relationship: &Relationship,
        slots: ListSlots,
    ) -> Result<(), Problem> {
        let [customer, partner] = listed_at(relationship, slots);
        let keys = [
            keys::relationship(relationship.id.as_str()),
            customer,
            partner,
        ];
        Ok(self.app.records().release(&keys).await?)
    }

    /// Brings a committed relationship into being: registers the
    /// organization when the commit creates one (its ledger first, written
    /// now, so an organization that can be read always has one), or enters
    /// the relationship in the organization's ledger; then stages its list
    /// entries (and a new organization) into `writes`, for the caller to
    /// write with the rest of what the commit owes. Idempotent. When the
    /// ledger shows the pair connected by another commit meanwhile, this one
    /// joins that relationship: its slots are deleted and the answer is the
    /// relationship it joined.
    pub(crate) async fn connect(
        &self,
        connect: &Connect,
        writes: &mut Writes,
    ) -> Result<Option<RelationshipId>, Problem> {
        let records = self.app.records();
        let r = &connect.relationship;
        let organization_key = keys::organization(r.organization_id.as_str());
        let ledger_key = keys::ledger(r.organization_id.as_str());
        if let Some(organization) = &connect.organization {
            if records
                .get::<Organization>(&organization_key)
                .await?
                .is_none()
            {
                records
                    .put(&ledger_key, &Ledger::with(&r.partner_id, r.id.clone()))
                    .await?;
                records.stage(writes, organization_key, organization)?;
            }
            self.stage_listed(writes, r, connect.slots())?;
            return Ok(None);
        }
        let enter = async || {
            records
                .update(&ledger_key, |current: Option<Ledger>| {
                    let mut ledger = current.ok_or_else(|| no_ledger(&r.organization_id))?;
                    let before = ledger.clone();
                    match ledger.connect(&r.partner_id, &r.id) {
                        Err(existing) => Ok(Edit::Keep(Some(existing))),
                        Ok(()) if ledger == before => Ok(Edit::Keep(None)),
                        Ok(()) => Ok(Edit::Write(ledger, None)),
                    }
                })
                .await
        };
        let mut joined = enter().await?;
        // The ledger may still name a relationship that ended (its request
        // died before freeing it): free it, and enter this one.
        if let Some(existing) = &joined
            && self.ended(existing).await?
        {
            joined = enter().await?;
        }
        match joined {
            Some(existing) => {
                self.release(r, connect.slots()).await?;
                Ok(Some(existing))
            }
            None => {
                self.stage_listed(writes, r, connect.slots())?;
                Ok(None)
            }
        }
    }

    /// Whether the ledger's `existing` relationship has ended; if so, the
    /// ledger is freed of it.
    async fn ended(&self, existing: &RelationshipId) -> Result<bool, Problem> {
        match self.current(existing).await? {
            Some(r) if !r.is_active() => {
                self.free(&r).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The relationship the ledger names for `partner`, if it still holds:
    /// one that ended is freed from the ledger now.
    pub(crate) async fn connected(
        &self,
        ledger: &Ledger,
        partner: &str,
    ) -> Result<Option<RelationshipId>, Problem> {
        match ledger.relationship(partner) {
            Some(id) if !self.ended(id).await? => Ok(Some(id.clone())),
            _ => Ok(None),
        }
    }

    /// Takes an ended relationship out of its organization's ledger.
    pub(super) async fn free(&self, r: &Relationship) -> Result<(), Problem> {
        self.app
            .records()
            .update(
                &keys::ledger(r.organization_id.as_str()),
                |current: Option<Ledger>| {
                    let Some(mut ledger) = current else {
                        return Ok(Edit::Keep(()));
                    };
                    if ledger.release(&r.partner_id, &r.id) {
                        Ok(Edit::Write(ledger, ()))
                    } else {
                        Ok(Edit::Keep(()))
                    }
                },
            )
            .await
    }
}
