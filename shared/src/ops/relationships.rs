//! Organizations and the relationships that tie them to partners: the
//! organization's [`Ledger`], and the two lists a relationship appears in
//! (the partner's customers, the organization's partners).
//!
//! A commit that creates a relationship (a redemption, an approval) first
//! [`reserve`](Relationships::reserve)s its two list slots, which then hold
//! placeholders naming the commit; after the commit,
//! [`connect`](Relationships::connect) writes the ledger, the organization
//! (when new) and both list entries. Both steps are idempotent, and a list
//! that meets a placeholder has the commit finished before it shows the slot.

use super::organizations::no_ledger;
use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::{
    Connect, Ledger, Organization, OrganizationId, PartnerProfile, Relationship, RelationshipId,
    Via,
};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Sequence, Writes, keys, record};
use crate::view::{CustomerView, PartnerView};

/// Organizations and relationships.
pub struct Relationships<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// Where a new relationship will be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reserved {
    /// The slot in the partner's customers.
    pub customer: u64,
    /// The slot in the organization's partners.
    pub partner: u64,
}

impl<S: KeyValue, T: Transport> Relationships<'_, S, T> {
    /// A new relationship, from now, between the partner of `profile` and
    /// `organization`, made through `via`.
    pub(crate) fn relationship(
        &self,
        profile: &PartnerProfile,
        organization: &Organization,
        connection: ConnectionType,
        via: Via,
    ) -> Relationship {
        Relationship {
            id: RelationshipId::new(self.app.random.as_ref()),
            partner_id: profile.partner_id.clone(),
            partner_name: profile.display_name.clone(),
            organization_id: organization.id.clone(),
            organization_name: organization.details.company.name.clone(),
            connection,
            since: self.app.now(),
            via,
        }
    }

    /// Takes the two list slots of a relationship between `partner` and
    /// `organization`, staging placeholders that name the commit at `commit`.
    pub(crate) async fn reserve(
        &self,
        writes: &mut Writes,
        partner: &str,
        organization: &OrganizationId,
        commit: &str,
    ) -> Result<Reserved, Problem> {
        let records = self.app.records();
        let customers = keys::customers(partner);
        let partners = keys::org_partners(organization.as_str());
        let reserved = Reserved {
            customer: customers.take(records, 1).await?.first,
            partner: partners.take(records, 1).await?.first,
        };
        writes.raw(
            customers.slot(reserved.customer),
            record::placeholder(commit),
        );
        writes.raw(partners.slot(reserved.partner), record::placeholder(commit));
        Ok(reserved)
    }

    /// Deletes reserved slots: their commit was refused.
    pub(crate) async fn release(
        &self,
        partner: &str,
        organization: &OrganizationId,
        reserved: Reserved,
    ) -> Result<(), Problem> {
        let slots = [
            keys::customers(partner).slot(reserved.customer),
            keys::org_partners(organization.as_str()).slot(reserved.partner),
        ];
        Ok(self.app.records().release(&slots).await?)
    }

    /// Brings a committed relationship into being: registers the
    /// organization when the commit creates one (its ledger first, so an
    /// organization that can be read always has one), or enters the
    /// relationship in the organization's ledger; then lists it on both
    /// sides. Idempotent. When the ledger shows the pair connected by another
    /// commit meanwhile, this one joins that relationship: its slots are
    /// deleted and the answer is the relationship it joined.
    pub(crate) async fn connect(
        &self,
        connect: &Connect,
    ) -> Result<Option<RelationshipId>, Problem> {
        let records = self.app.records();
        let r = &connect.relationship;
        let organization_key = keys::organization(r.organization_id.as_str());
        let ledger_key = keys::ledger(r.organization_id.as_str());
        let mut writes = Writes::new();
        if let Some(organization) = &connect.organization {
            let registered = records.get::<Organization>(&organization_key).await?;
            if registered.is_none() {
                records.stage(
                    &mut writes,
                    ledger_key,
                    &Ledger::with(&r.partner_id, r.id.clone()),
                )?;
            }
            self.stage_entries(&mut writes, connect)?;
            records.put_all(writes).await?;
            if registered.is_none() {
                records.put(&organization_key, organization).await?;
            }
            return Ok(None);
        }
        let joined = records
            .update(&ledger_key, |current: Option<Ledger>| {
                let mut ledger = current.ok_or_else(|| no_ledger(&r.organization_id))?;
                let before = ledger.clone();
                match ledger.connect(&r.partner_id, &r.id) {
                    Err(existing) => Ok(Edit::Keep(Some(existing))),
                    Ok(()) if ledger == before => Ok(Edit::Keep(None)),
                    Ok(()) => Ok(Edit::Write(ledger, None)),
                }
            })
            .await?;
        match joined {
            Some(existing) => {
                let reserved = Reserved {
                    customer: connect.customer_slot,
                    partner: connect.partner_slot,
                };
                self.release(&r.partner_id, &r.organization_id, reserved)
                    .await?;
                Ok(Some(existing))
            }
            None => {
                self.stage_entries(&mut writes, connect)?;
                records.put_all(writes).await?;
                Ok(None)
            }
        }
    }

    fn stage_entries(&self, writes: &mut Writes, connect: &Connect) -> Result<(), Problem> {
        let records = self.app.records();
        let r = &connect.relationship;
        records.stage(
            writes,
            keys::customers(&r.partner_id).slot(connect.customer_slot),
            r,
        )?;
        records.stage(
            writes,
            keys::org_partners(r.organization_id.as_str()).slot(connect.partner_slot),
            r,
        )?;
        Ok(())
    }

    /// `GET /api/customers`: the partner's customers, newest first.
    pub async fn customers(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem> {
        let partner = caller.partner_id()?;
        self.list(keys::customers(partner), page, CustomerView::new)
            .await
    }

    /// `GET /api/partners`: the partners of the admin's organization, newest first.
    pub async fn partners(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem> {
        let organization = caller.organization_id()?;
        self.list(keys::org_partners(organization), page, PartnerView::new)
            .await
    }

    /// A page of one side's relationships; placeholders met are finished first.
    async fn list<V>(
        &self,
        side: Sequence,
        page: PageRequest,
        view: fn(&Relationship) -> V,
    ) -> Result<Page<V>, Problem> {
        let (items, next_cursor) = side
            .page(
                self.app.records(),
                page,
                |_: &Relationship| true,
                async |commit: &str| self.app.finish(commit).await,
            )
            .await?;
        Ok(Page {
            items: items.iter().map(view).collect(),
            next_cursor,
        })
    }
}
