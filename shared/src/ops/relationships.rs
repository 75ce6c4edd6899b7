//! Organizations and the relationships that tie them to partners: the
//! organization's [`Ledger`], each relationship's own record, and the two
//! lists a relationship appears in (the partner's customers, the
//! organization's partners).
//!
//! A commit that creates a relationship (a redemption, an approval) first
//! [`reserve`](Relationships::reserve)s its record and its two list slots,
//! which then hold placeholders naming the commit; after the commit,
//! [`connect`](Relationships::connect) writes the ledger, the organization
//! (when new) and both list entries. Both steps are idempotent, and a list
//! that meets a placeholder has the commit finished before it shows the slot.
//!
//! A relationship's later transitions (a change of connection, its end) are
//! one verified swap of its record ([`Relationships::transition`]), which
//! carries in its intent what must follow: the ledger freed, the change
//! request decided, the events delivered, both list entries rewritten (they
//! hold placeholders naming the record meanwhile). Whoever reads the record
//! next, or a list that meets a placeholder, finishes what a request cut
//! short left.

use serde::Deserialize;

use super::organizations::no_ledger;
use super::outbox::{Prepared, keys_of};
use super::partner::decode_profile;
use super::redemption::to_json;
use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::relationship::difference;
use crate::domain::{
    Action, Actor, Change, Connect, EventType, Ledger, ListSlots, Organization, PartnerProfile,
    Relationship, RelationshipEvent, RelationshipId, RelationshipIntent, RelationshipStatus,
    Source, Stamp, Via,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Sequence, Writes, decode_record, keys, record};
use crate::validation::Report;
use crate::view::{CustomerView, PartnerView, RelationshipView, RequestView};

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

/// Which relationships a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every one (the default).
    All,
    /// Only those of this status.
    Only(RelationshipStatus),
}

impl StatusFilter {
    /// Parses `?status=`: `active`, `ended` or `all`.
    pub fn parse(status: Option<&str>) -> Result<StatusFilter, Problem> {
        match status {
            None | Some("all") => Ok(StatusFilter::All),
            Some("active") => Ok(StatusFilter::Only(RelationshipStatus::Active)),
            Some("ended") => Ok(StatusFilter::Only(RelationshipStatus::Ended)),
            Some(_) => Err(Problem::new(
                ProblemKind::Malformed,
                "status must be active, ended or all",
            )),
        }
    }

    fn keeps(self, r: &Relationship) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Only(status) => r.status == status,
        }
    }
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

    /// `GET /api/customers`: the partner's customers, newest first.
    pub async fn customers(
        &self,
        caller: &Principal,
        status: StatusFilter,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem> {
        let partner = caller.partner_id()?;
        self.list(keys::customers(partner), status, page, CustomerView::new)
            .await
    }

    /// `GET /api/partners`: the partners of the admin's organization, newest first.
    pub async fn partners(
        &self,
        caller: &Principal,
        status: StatusFilter,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem> {
        let organization = caller.organization_id()?;
        self.list(
            keys::org_partners(organization),
            status,
            page,
            PartnerView::new,
        )
        .await
    }

    /// A page of one side's relationships, newest first, of `status`. The
    /// entries are the relationships as they stand: a transition replaces
    /// both with placeholders naming the relationship's record before it
    /// commits and fills them after, so a page that meets one has the
    /// record finish first.
    async fn list<V>(
        &self,
        side: Sequence,
        status: StatusFilter,
        page: PageRequest,
        view: fn(&Relationship, u64) -> V,
    ) -> Result<Page<V>, Problem> {
        let (items, next_cursor) = side
            .page(
                self.app.records(),
                page,
                |r: &Relationship| status.keeps(r),
                async |commit: &str| self.app.finish(commit).await,
            )
            .await?;
        let now = self.app.now();
        Ok(Page {
            items: items.iter().map(|r| view(r, now)).collect(),
            next_cursor,
        })
    }

    /// Stages `r` as it stands (without its history and intent) in its list
    /// slots.
    fn stage_listed(
        &self,
        writes: &mut Writes,
        r: &Relationship,
        slots: ListSlots,
    ) -> Result<(), Problem> {
        // A list shows neither the history nor what is owed: an entry is
        // read on every page, the record only by `GET /api/relationships/:id`.
        let listed = Relationship {
            history: Vec::new(),
            intent: None,
            ..r.clone()
        };
        for key in listed_at(r, slots) {
            self.app.records().stage(writes, key, &listed)?;
        }
        Ok(())
    }

    /// Writes `r` as it stands into both its list slots.
    async fn relist(&self, r: &Relationship) -> Result<(), Problem> {
        let Some(slots) = r.slots else {
            return Ok(());
        };
        let mut writes = Writes::new();
        self.stage_listed(&mut writes, r, slots)?;
        Ok(self.app.records().put_all(writes).await?)
    }

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
    async fn free(&self, r: &Relationship) -> Result<(), Problem> {
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

    /// `GET /api/relationships/:id`.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<RelationshipView, Problem> {
        let r = self.load(caller, id).await?;
        Ok(RelationshipView::new(&r, self.app.now()))
    }

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
    async fn settle(
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
