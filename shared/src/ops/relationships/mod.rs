//! Organizations and the relationships that tie them to partners: the
//! organization's [`Ledger`](crate::domain::Ledger), each relationship's own
//! record, and the two lists a relationship appears in (the partner's
//! customers, the organization's partners).
//!
//! A commit that creates a relationship (a redemption, an approval) first
//! reserves (`Relationships::reserve`) its record and its two list slots,
//! which then hold placeholders naming the commit; after the commit,
//! `connect` writes the ledger, the organization
//! (when new) and both list entries. Both steps are idempotent, and a list
//! that meets a placeholder has the commit finished before it shows the slot.
//!
//! A relationship's later transitions (a change of connection, its end) are
//! one verified swap of its record (`Relationships::transition`), which
//! carries in its intent what must follow: the ledger freed, the change
//! request decided, the events delivered, both list entries rewritten (they
//! hold placeholders naming the record meanwhile). Whoever reads the record
//! next, or a list that meets a placeholder, finishes what a request cut
//! short left.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the service, its request bodies, and reading a relationship (settled) |
//! | `connect.rs` | bringing a relationship into being, and the ledger's entry for a pair |
//! | `lists.rs` | the two lists: the partner's customers, the organization's partners |
//! | `transition.rs` | a change of connection and an end: one verified swap each |

mod connect;
mod lists;
mod transition;

pub use lists::StatusFilter;

use serde::Deserialize;

use crate::auth::Principal;
use crate::domain::{ListSlots, PartnerProfile, Relationship, RelationshipId};
use crate::ops::App;
use crate::ops::partner::decode_profile;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, decode_record, keys, record};
use crate::view::{RelationshipView, RequestView};

/// The longest reason for an end.
pub const MAX_REASON: usize = 500;

/// `POST /api/relationships/:id/end` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRelationship {
    /// Why, for the other side and the history.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub reason: Option<String>,
}

/// `POST /api/relationships/:id/change` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeConnection {
    /// The connection to change to.
    pub connection: Option<String>,
    /// The language of the approval email and page, when the change needs
    /// the customer admin's approval.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub locale: Option<String>,
}

/// What a change of connection came to.
#[derive(Debug)]
pub enum Changed {
    /// It only took capabilities away: made at once (200).
    Made(RelationshipView),
    /// It adds capabilities: a change request waits for the customer
    /// admin's approval (202).
    Asked(RequestView),
}

/// Organizations and relationships.
pub struct Relationships<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// The keys of `r`'s two list entries at `slots`: in the partner's
/// customers, in the organization's partners.
fn listed_at(r: &Relationship, slots: ListSlots) -> [String; 2] {
    [
        keys::customers(&r.partner_id).slot(slots.customer),
        keys::org_partners(r.organization_id.as_str()).slot(slots.partner),
    ]
}

impl<S: KeyValue, T: Transport> Relationships<'_, S, T> {
    /// The records of relationships `ids`, in one read (those that have one).
    pub(crate) async fn records(
        &self,
        ids: &[RelationshipId],
    ) -> Result<Vec<Relationship>, Problem> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| keys::relationship(id.as_str()))
            .collect();
        let found = self.app.records().read_many(&keys).await?;
        let mut records = Vec::with_capacity(ids.len());
        for (key, value) in keys.iter().zip(found) {
            if let Some(r) = record::decode::<Relationship>(key, value.as_deref())?.record() {
                records.push(r);
            }
        }
        Ok(records)
    }

    /// A relationship's record, with what its last transition left owed
    /// carried out.
    pub(crate) async fn current(
        &self,
        id: &RelationshipId,
    ) -> Result<Option<Relationship>, Problem> {
        let key = keys::relationship(id.as_str());
        let found = self.app.records().get::<Relationship>(&key).await?;
        self.settled(id, found).await
    }

    /// `found`, read at relationship `id`'s key, as [`current`](Self::current) answers it.
    async fn settled(
        &self,
        id: &RelationshipId,
        found: Option<Relationship>,
    ) -> Result<Option<Relationship>, Problem> {
        match found {
            Some(r) if &r.id == id => Ok(Some(self.settle(r, None, None).await?)),
            _ => Ok(None),
        }
    }

    /// Finishes the relationship `id` if a transition left it unfinished,
    /// and fills its list slots (a placeholder names the record whose
    /// transition committed, or was refused, after writing it).
    pub(crate) async fn finish(
        &self,
        id: &RelationshipId,
    ) -> Result<Option<Relationship>, Problem> {
        let current = self.current(id).await?;
        if let Some(r) = current.as_ref().filter(|r| r.intent.is_none()) {
            self.relist(r).await?;
        }
        Ok(current)
    }

    /// A relationship the caller is a side of (an operator is of every
    /// one); any other id is not found.
    pub(crate) async fn load(&self, caller: &Principal, id: &str) -> Result<Relationship, Problem> {
        let not_found = || Problem::not_found("relationship");
        let id = RelationshipId::parse(id).ok_or_else(not_found)?;
        let r = self.current(&id).await?.ok_or_else(not_found)?;
        side_of(caller, r)
    }

    /// [`load`](Self::load) for a transition the caller makes, which
    /// reports an event for the relationship's partner: when the caller is
    /// that partner, its profile is read in the same round trip.
    async fn load_to_change(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<(Relationship, Option<PartnerProfile>), Problem> {
        let Principal::Partner { partner_id, .. } = caller else {
            return Ok((self.load(caller, id).await?, None));
        };
        let not_found = || Problem::not_found("relationship");
        let id = RelationshipId::parse(id).ok_or_else(not_found)?;
        let keys = [keys::relationship(id.as_str()), keys::profile(partner_id)];
        let records = self.app.records();
        let mut found = records.read_many(&keys).await?.into_iter();
        let (r, profile) = (found.next().flatten(), found.next().flatten());
        let r = decode_record(&keys[0], r.as_deref())?;
        let r = self.settled(&id, r).await?.ok_or_else(not_found)?;
        let r = side_of(caller, r)?;
        let profile = decode_profile(partner_id, profile.as_deref())?;
        Ok((r, Some(profile)))
    }

    /// `GET /api/relationships/:id`.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<RelationshipView, Problem> {
        let r = self.load(caller, id).await?;
        Ok(RelationshipView::new(&r, self.app.now()))
    }
}

/// `r` if the caller is a side of it (an operator is of every one), else not
/// found.
fn side_of(caller: &Principal, r: Relationship) -> Result<Relationship, Problem> {
    let side = match caller {
        Principal::Partner { partner_id, .. } => *partner_id == r.partner_id,
        Principal::CustomerAdmin {
            organization_id, ..
        } => *organization_id == r.organization_id.as_str(),
        Principal::Operator { .. } => true,
    };
    if side {
        Ok(r)
    } else {
        Err(Problem::not_found("relationship"))
    }
}
