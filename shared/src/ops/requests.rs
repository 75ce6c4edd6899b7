//! Connecting an organization that already exists: the partner asks, the
//! organization's admin approves or declines, the partner may withdraw.
//!
//! A request is written `proposed` (shown nowhere) with its approval email
//! and event queued; the organization's [`Ledger`](crate::domain::Ledger)
//! then decides, by one verified swap, whether it may be open (the commit:
//! one open request per pair); only then is the email sent and the request
//! shown. A decision is a verified swap of the request itself; approval also
//! creates the relationship through [`super::Relationships`].

use serde::{Deserialize, Serialize};

use super::organizations::Known;
use super::outbox::{Prepared, keys_of};
use super::partner::decode_profile;
use super::redemption::{LabelledCapability, link_problem, to_json};
use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::capabilities::{ConnectionType, FirstContact};
use crate::clock::Timestamp;
use crate::domain::connection::DEFAULT_REQUEST_TTL_DAYS;
use crate::domain::relationship::difference;
use crate::domain::{
    Action, Actor, Change, ChangeOf, Closing, Connect, ConnectionRequest, EventType, Intent,
    Ledger, Locator, OpenRequest, Organization, OrganizationId, PartnerProfile, PendingChange,
    Relationship, RequestId, RequestState, Source, Stamp, Via,
};
use crate::messages::Language;
use crate::messages::email::{self, ApprovalRequest, Message};
use crate::outbound::Transport;
use crate::problem::{FieldRule, Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Writes, decode_record, keys};
use crate::token::{Claims, Purpose};
use crate::validation::{Report, is_id};
use crate::view::{RelationshipView, RequestView};

/// `POST /api/connections` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The organization to connect to.
    pub organization_id: Option<String>,
    /// The connection asked for.
    pub connection: Option<String>,
    /// The language of the approval email and page (a BCP 47 tag such as
    /// `de` or `nl-BE`); without one, the email is in English and the page
    /// in the language the admin's browser asks for.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub locale: Option<String>,
}

/// What the approval page shows.
#[derive(Debug, Serialize)]
pub struct ApprovalPreview {
    /// The request.
    pub request_id: String,
    /// Who asks.
    pub partner_name: String,
    /// The organization asked.
    pub organization_id: String,
    /// Its name.
    pub organization_name: String,
    /// The connection asked for.
    pub connection: ConnectionType,
    /// Its label.
    pub connection_label: &'static str,
    /// What it would grant.
    pub capabilities: Vec<LabelledCapability>,
    /// Who the first contact would be.
    pub first_contact: FirstContact,
    /// When the request expires (RFC 3339 in JSON).
    pub expires_at: Timestamp,
    /// For a change of an existing relationship: what changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangePreview>,
    /// The request's locale, for the page (not in JSON).
    #[serde(skip)]
    pub locale: Option<String>,
}

/// What a change of connection changes, for the approval page.
#[derive(Debug, Serialize)]
pub struct ChangePreview {
    /// The relationship.
    pub relationship_id: String,
    /// Its connection now.
    pub from: ConnectionType,
    /// Its label.
    pub from_label: &'static str,
    /// What the change adds.
    pub gained: Vec<LabelledCapability>,
    /// What it takes away.
    pub lost: Vec<LabelledCapability>,
}

impl ChangePreview {
    /// What changing as `change` says, to `to`, changes.
    pub fn of(change: &ChangeOf, to: ConnectionType) -> ChangePreview {
        let (gained, lost) = difference(change.from, to);
        ChangePreview {
            relationship_id: change.relationship_id.to_string(),
            from: change.from,
            from_label: change.from.label(),
            gained: gained.into_iter().map(LabelledCapability::new).collect(),
            lost: lost.into_iter().map(LabelledCapability::new).collect(),
        }
    }
}

/// A request as the admin of the organization asked sees it: who asks.
#[derive(Debug, Serialize)]
pub struct InboxView {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// The asking partner.
    pub partner_id: String,
    /// Its name.
    pub partner_name: String,
}

/// How a decision is authorised.
pub enum Authority<'a> {
    /// The organization admin's bearer token.
    Bearer(&'a Principal),
    /// The token from the approval link.
    Link(&'a str),
}

/// Connection requests.
pub struct Requests<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// A request as read, with the relationship a pending change request's
/// refresh read on the way (current, and finished), so that a decision on
/// it does not read it again.
struct Loaded {
    record: ConnectionRequest,
    relationship: Option<Relationship>,
    /// The organization with its ledger, and the partner's profile, when
    /// they were read with the request ([`Requests::load_deciding`]).
    alongside: Option<(Option<Known>, PartnerProfile)>,
}

/// The request `loaded` found, if opened; any other is not found.
fn opened((key, loaded): (String, Option<Loaded>)) -> Result<(String, Loaded), Problem> {
    match loaded {
        Some(loaded) if loaded.record.opened() => Ok((key, loaded)),
        _ => Err(Problem::not_found("connection request")),
    }
}

/// What a decision makes of a pending request.
enum Decision {
    Approve(Box<Relationship>),
    Decline,
}

impl<S: KeyValue, T: Transport> Requests<'_, S, T> {
    /// `POST /api/connections`.
    pub async fn create(
        &self,
        caller: &Principal,
        request: NewRequest,
    ) -> Result<RequestView, Problem> {
        let partner = caller.partner_id()?;
        let mut report = Report::new();
        let raw_id =
            report.required_text("/organization_id", request.organization_id.as_deref(), 64);
        if !raw_id.is_empty() && !is_id(&raw_id) {
            report.push("/organization_id", FieldRule::OrganizationId);
        }
        let connection = report.required_connection("/connection", request.connection.as_deref());
        let locale = report.optional_locale("/locale", request.locale.as_deref());
        report.finish().map_err(Problem::validation)?;
        let connection = connection.unwrap_or(ConnectionType::ResellerWithoutSupport);
        let org_id =
            OrganizationId::parse(&raw_id).ok_or_else(|| Problem::not_found("organization"))?;

        let app = self.app;
        let now = app.now();
        let (known, profile) = app
            .organizations()
            .known_with_profile(&org_id, partner)
            .await?;
        let known = known.ok_or_else(|| Problem::not_found("organization"))?;
        if app
            .relationships()
            .connected(&known.ledger, partner)
            .await?
            .is_some()
        {
            return Err(already_connected());
        }
        // The ledger's open entry is checked against the request itself: one
        // that was decided or withdrawn since no longer counts.
        let mut stale = None;
        if let Some(open) = known.ledger.open_request(partner, now) {
            let (_, current) = self.load(partner, open.id.as_str()).await?;
            if current.is_some_and(|l| l.record.opened() && l.record.check_open(now).is_ok()) {
                return Err(duplicate());
            }
            stale = Some(open.id.clone());
        }

        let records = app.records();
        let (key, record, items, prepared) = self
            .propose(
                caller,
                &profile,
                &known.organization,
                connection,
                locale,
                None,
            )
            .await?;
        records.put_all(prepared).await?;

        // The commit: the ledger enters the request as the pair's open one.
        let open = OpenRequest {
            id: record.id.clone(),
            expires_at: record.expires_at,
        };
        let entered = records
            .update(&keys::ledger(org_id.as_str()), |current: Option<Ledger>| {
                let mut ledger = current.ok_or_else(|| {
                    Problem::new(ProblemKind::Internal, "the organization lost its ledger")
                })?;
                if ledger.relationship(partner).is_some() {
                    return Ok(Edit::Keep(Err(already_connected())));
                }
                if let Some(o) = ledger.open_request(partner, now)
                    && o.id != open.id
                    && Some(&o.id) != stale.as_ref()
                {
                    return Ok(Edit::Keep(Err(duplicate())));
                }
                ledger
                    .partners
                    .entry(partner.to_string())
                    .or_default()
                    .open_request = Some(open.clone());
                Ok(Edit::Write(ledger, Ok(())))
            })
            .await?;
        self.open(&key, record, items, &profile, entered).await
    }

    /// A proposed request after its commit: opened and its email and event
    /// delivered if the commit took it; else refused (shown nowhere), its
    /// items dropped, and the commit's problem answered.
    async fn open(
        &self,
        key: &str,
        mut record: ConnectionRequest,
        items: Vec<Prepared>,
        profile: &PartnerProfile,
        committed: Result<(), Problem>,
    ) -> Result<RequestView, Problem> {
        let app = self.app;
        if let Err(refused) = committed {
            record.state = RequestState::Refused;
            app.records().put(key, &record).await?;
            app.outbox().abandon(&items).await?;
            return Err(refused);
        }
        let record = self
            .settle(key, record, Some(items), Some(profile), true)
            .await?;
        Ok(RequestView::new(&record, app.now()))
    }

    /// Stages a new request `proposed` (shown nowhere) with its approval
    /// email and `connection.requested` event queued, its locator and its
    /// entry in the organization's list: everything its commit will refer
    /// to, for the caller to write (with what else its commit refers to) in
    /// one batch.
    async fn propose(
        &self,
        caller: &Principal,
        profile: &PartnerProfile,
        organization: &Organization,
        connection: ConnectionType,
        locale: Option<String>,
        change: Option<ChangeOf>,
    ) -> Result<(String, ConnectionRequest, Vec<Prepared>, Writes), Problem> {
        let app = self.app;
        let partner = caller.partner_id()?;
        let org_id = &organization.id;
        let now = app.now();
        let records = app.records();
        let n = keys::requests(partner).take(records, 1).await?.first;
        let stamp = app.stamp(caller.actor());
        let mut record = ConnectionRequest {
            id: RequestId::new(n, app.random.as_ref()),
            partner_id: partner.to_string(),
            organization_id: org_id.clone(),
            connection,
            expires_at: now + u64::from(DEFAULT_REQUEST_TTL_DAYS) * 86_400,
            locale,
            change,
            state: RequestState::Proposed,
            history: vec![stamp.event(Action::Created)],
            intent: None,
        };
        let key = keys::request(partner, n);
        let source = Source {
            key: key.clone(),
            event: stamp.id.clone(),
        };
        let mut writes = Writes::new();
        let mut items = vec![
            self.approval_email(&mut writes, &record, organization, profile, &source)
                .await?,
        ];
        items.extend(
            app.outbox()
                .event(
                    &mut writes,
                    profile,
                    EventType::ConnectionRequested,
                    event_data(&record, now)?,
                    source,
                    Vec::new(),
                )
                .await?,
        );
        record.intent = Some(Intent {
            connect: None,
            deliver: keys_of(&items),
        });
        records.stage(&mut writes, key.clone(), &record)?;
        records.stage(
            &mut writes,
            keys::request_locator(record.id.as_str()),
            &Locator {
                partner_id: partner.to_string(),
                request_id: None,
            },
        )?;
        // The organization's list of its requests (its admin's inbox).
        let m = keys::org_requests(org_id.as_str())
            .take(records, 1)
            .await?
            .first;
        records.stage(
            &mut writes,
            keys::org_requests(org_id.as_str()).slot(m),
            &Locator {
                partner_id: partner.to_string(),
                request_id: Some(record.id.clone()),
            },
        )?;
        app.outbox().watch(&mut writes, &items).await?;
        Ok((key, record, items, writes))
    }

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

    /// Stages the approval email: the link goes to the organization's admin,
    /// never to the partner.
    async fn approval_email(
        &self,
        writes: &mut Writes,
        record: &ConnectionRequest,
        organization: &Organization,
        profile: &PartnerProfile,
        source: &Source,
    ) -> Result<Prepared, Problem> {
        let token = self
            .app
            .keys
            .sign(&Claims {
                purpose: Purpose::Connect,
                record_id: record.id.to_string(),
                partner_id: Some(record.partner_id.clone()),
                organization_id: Some(record.organization_id.to_string()),
                subject: None,
                role: None,
                issued_at: record.created_at(),
                expires_at: record.expires_at,
                generation: 0,
            })
            .map_err(|e| {
                Problem::new(
                    ProblemKind::Internal,
                    format!("cannot sign the approval link: {e}"),
                )
            })?;
        let link = self.app.public_link(&format!("/connect/{token}"));
        let Message {
            subject,
            text,
            html,
        } = email::approval_request(&ApprovalRequest {
            language: Language::choose(record.locale.as_deref(), None),
            partner: &profile.display_name,
            organization: &organization.details.company.name,
            vendor: &self.app.config.vendor_name,
            connection: record.connection,
            from: record.change.as_ref().map(|c| c.from),
            link: &link,
            expires_at: record.expires_at,
        });
        self.app
            .outbox()
            .email(
                writes,
                &organization.admin_email,
                subject,
                text,
                html,
                source.clone(),
            )
            .await
    }

    /// Carries out what the request's intent still owes and clears it. A
    /// `proposed` request is opened first if the ledger entered it (`entered`
    /// when the caller just saw it do so); one the ledger did not enter stays
    /// as it is, shown nowhere.
    async fn settle(
        &self,
        key: &str,
        record: ConnectionRequest,
        items: Option<Vec<Prepared>>,
        profile: Option<&PartnerProfile>,
        entered: bool,
    ) -> Result<ConnectionRequest, Problem> {
        let app = self.app;
        let proposed = record.state == RequestState::Proposed;
        if proposed && !entered && !self.entered(&record).await? {
            return Ok(record);
        }
        let intent = record.intent.clone().unwrap_or_default();
        if !proposed && record.intent.is_none() {
            return Ok(record);
        }
        let mut joined = None;
        // The list entries go in one write with the deliveries' outcomes.
        let mut writes = Writes::new();
        if let Some(connect) = &intent.connect {
            joined = app.relationships().connect(connect, &mut writes).await?;
        }
        match items {
            Some(items) => app.outbox().deliver_with(items, profile, writes).await?,
            None => {
                app.outbox()
                    .deliver_keys_with(&intent.deliver, writes)
                    .await?
            }
        };
        let id = record.id.clone();
        app.records()
            .update(key, |current: Option<ConnectionRequest>| {
                let mut r = current
                    .filter(|r| r.id == id)
                    .ok_or_else(|| Problem::not_found("connection request"))?;
                if r.state == RequestState::Proposed {
                    r.state = RequestState::Pending;
                }
                if Intent::discharge(&mut r.intent, &intent)
                    && let (Some(existing), RequestState::Approved { relationship_id }) =
                        (&joined, &mut r.state)
                {
                    // The pair was connected by another commit meanwhile.
                    *relationship_id = existing.clone();
                }
                Ok(Edit::Write(r.clone(), r))
            })
            .await
    }

    /// Whether the commit of a `proposed` request was made: the ledger took
    /// it as the pair's open request, or (a change request) its relationship
    /// took it as its pending change.
    async fn entered(&self, record: &ConnectionRequest) -> Result<bool, Problem> {
        let app = self.app;
        if let Some(change) = &record.change {
            let relationship = app.relationships().current(&change.relationship_id).await?;
            return Ok(relationship.is_some_and(|r| r.names(&record.id)));
        }
        let known = app.organizations().known(&record.organization_id).await?;
        let open = known.as_ref().and_then(|k| {
            k.ledger
                .partners
                .get(&record.partner_id)?
                .open_request
                .as_ref()
        });
        Ok(open.is_some_and(|o| o.id == record.id))
    }

    /// A pending change request as its relationship decided it: when the
    /// relationship's record shows a decision (approved, declined,
    /// withdrawn, ended), carrying out its intent records it on the request.
    /// Answers the relationship too, when it was read.
    async fn refresh(&self, key: &str, record: ConnectionRequest) -> Result<Loaded, Problem> {
        let unchanged = |record| Loaded {
            record,
            relationship: None,
            alongside: None,
        };
        let Some(change) = &record.change else {
            return Ok(unchanged(record));
        };
        if record.state != RequestState::Pending {
            return Ok(unchanged(record));
        }
        let relationship = self
            .app
            .relationships()
            .current(&change.relationship_id)
            .await?;
        if relationship
            .as_ref()
            .is_none_or(|r| r.decision_of(&record.id).is_none())
        {
            return Ok(Loaded {
                record,
                relationship,
                alongside: None,
            });
        }
        let record = self
            .app
            .records()
            .get::<ConnectionRequest>(key)
            .await?
            .filter(|r| r.id == record.id)
            .unwrap_or(record);
        Ok(Loaded {
            record,
            relationship,
            alongside: None,
        })
    }

    /// Records on a change request the decision its relationship made.
    pub(crate) async fn close(&self, partner: &str, closing: &Closing) -> Result<(), Problem> {
        let key = keys::request(partner, closing.request_id.slot());
        self.app
            .records()
            .update(&key, |current: Option<ConnectionRequest>| {
                let Some(mut r) = current.filter(|r| r.id == closing.request_id) else {
                    return Ok(Edit::Keep(()));
                };
                if r.close(&closing.state, &closing.event) {
                    Ok(Edit::Write(r, ()))
                } else {
                    Ok(Edit::Keep(()))
                }
            })
            .await
    }

    /// Finishes the request at `slot` if a commit left it unfinished.
    pub(crate) async fn finish(
        &self,
        partner: &str,
        slot: u64,
    ) -> Result<Option<ConnectionRequest>, Problem> {
        let key = keys::request(partner, slot);
        let Some(record) = self.app.records().get::<ConnectionRequest>(&key).await? else {
            return Ok(None);
        };
        self.settle(&key, record, None, None, false).await.map(Some)
    }

    /// One of the partner's requests by id, finished if a commit left it
    /// unfinished: its key, and the record if there is one of that id.
    async fn load(&self, partner: &str, id: &str) -> Result<(String, Option<Loaded>), Problem> {
        let id = RequestId::parse(id).ok_or_else(|| Problem::not_found("connection request"))?;
        let key = keys::request(partner, id.slot());
        let record = match self.app.records().get::<ConnectionRequest>(&key).await? {
            Some(r) if r.id == id => Some(self.finished(&key, r).await?),
            _ => None,
        };
        Ok((key, record))
    }

    /// [`load`](Self::load) for a decision on `organization`'s side: the
    /// organization, its ledger and the partner's profile, which the
    /// decision starts from, are read in the same round trip, and kept if
    /// finishing the request had nothing to do (else they may have changed).
    async fn load_deciding(
        &self,
        partner: &str,
        id: &str,
        organization: &OrganizationId,
    ) -> Result<(String, Option<Loaded>), Problem> {
        let id = RequestId::parse(id).ok_or_else(|| Problem::not_found("connection request"))?;
        let key = keys::request(partner, id.slot());
        let [organization_key, ledger_key] = Known::keys(organization);
        let keys = [
            key.clone(),
            organization_key,
            ledger_key,
            keys::profile(partner),
        ];
        let found = self.app.records().read_many(&keys).await?;
        let value = |i: usize| found.get(i).and_then(|v| v.as_deref());
        let record = decode_record::<ConnectionRequest>(&key, value(0))?;
        let Some(record) = record.filter(|r| r.id == id) else {
            return Ok((key, None));
        };
        let untouched = record.intent.is_none() && record.state != RequestState::Proposed;
        let mut loaded = self.finished(&key, record).await?;
        if untouched {
            let known = Known::decode(organization, found.get(1..3).unwrap_or_default())?;
            let profile = decode_profile(partner, value(3))?;
            loaded.alongside = Some((known, profile));
        }
        Ok((key, Some(loaded)))
    }

    /// A request as read, finished if a commit left it unfinished, and as
    /// its relationship decided it.
    async fn finished(&self, key: &str, record: ConnectionRequest) -> Result<Loaded, Problem> {
        let record = self.settle(key, record, None, None, false).await?;
        self.refresh(key, record).await
    }

    /// One of the partner's opened requests; any other id is not found.
    async fn opened(&self, partner: &str, id: &str) -> Result<(String, Loaded), Problem> {
        opened(self.load(partner, id).await?)
    }

    /// `GET /api/connections`: the partner's requests, newest first.
    pub async fn list(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<RequestView>, Problem> {
        let partner = caller.partner_id()?;
        let now = self.app.now();
        let requests = keys::requests(partner);
        let (items, next_cursor) = requests
            .page(
                self.app.records(),
                page,
                |r: &ConnectionRequest| r.state != RequestState::Refused,
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        let mut views = Vec::with_capacity(items.len());
        for r in items {
            let key = requests.slot(r.id.slot());
            let r = if r.state == RequestState::Proposed || r.intent.is_some() {
                self.settle(&key, r, None, None, false).await?
            } else {
                r
            };
            let r = self.refresh(&key, r).await?.record;
            if r.opened() {
                views.push(RequestView::new(&r, now));
            }
        }
        Ok(Page {
            items: views,
            next_cursor,
        })
    }

    /// `GET /api/organization/requests`: the requests to the admin's
    /// organization, who asks and what it would grant. `pending` (the
    /// default) answers every open one, from the organization's ledger; `all`
    /// a page of every request, newest first, the pending ones of the page
    /// first.
    pub async fn inbox(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InboxView>, Problem> {
        let org = caller.organization_id()?;
        let org_id =
            OrganizationId::parse(org).ok_or_else(|| Problem::not_found("organization"))?;
        let app = self.app;
        let now = app.now();
        let (locators, next_cursor): (Vec<Locator>, Option<String>) = match status {
            None | Some("pending") => {
                let ledger = app
                    .organizations()
                    .known(&org_id)
                    .await?
                    .map(|k| k.ledger)
                    .unwrap_or_default();
                let mut open: Vec<Locator> = ledger
                    .partners
                    .iter()
                    .filter_map(|(partner_id, e)| {
                        e.open_request
                            .as_ref()
                            .filter(|o| o.expires_at > now)
                            .map(|o| Locator {
                                partner_id: partner_id.clone(),
                                request_id: Some(o.id.clone()),
                            })
                    })
                    .collect();
                // Changes of existing relationships wait on the relationships.
                let connected: Vec<_> = ledger
                    .partners
                    .values()
                    .filter_map(|e| e.relationship.clone())
                    .collect();
                for r in app.relationships().records(&connected).await? {
                    if let Some(p) = r.pending_at(now) {
                        open.push(Locator {
                            partner_id: r.partner_id.clone(),
                            request_id: Some(p.request_id.clone()),
                        });
                    }
                }
                (open, None)
            }
            Some("all") => {
                keys::org_requests(org)
                    .page(
                        app.records(),
                        page,
                        |_: &Locator| true,
                        async |_: &str| Ok::<bool, Problem>(true),
                    )
                    .await?
            }
            Some(_) => {
                return Err(Problem::new(
                    ProblemKind::Malformed,
                    "status must be pending or all",
                ));
            }
        };
        let mut items = Vec::with_capacity(locators.len());
        for locator in locators {
            let Some(id) = &locator.request_id else {
                continue;
            };
            let (_, loaded) = self.load(&locator.partner_id, id.as_str()).await?;
            let Some(record) = loaded
                .map(|l| l.record)
                .filter(|r| r.opened() && r.organization_id == org_id)
            else {
                continue;
            };
            let profile = app.partners().profile(&record.partner_id).await?;
            items.push(InboxView {
                request: RequestView::new(&record, now),
                partner_id: record.partner_id.clone(),
                partner_name: profile.display_name,
            });
        }
        items.sort_by_key(|i| i.request.status != "pending");
        Ok(Page { items, next_cursor })
    }

    /// `POST /api/connections/:id/withdraw`.
    pub async fn withdraw(&self, caller: &Principal, id: &str) -> Result<RequestView, Problem> {
        let partner = caller.partner_id()?;
        let (key, loaded) = self.opened(partner, id).await?;
        if loaded.record.change.is_some() {
            let drop = Change::Drop {
                request: loaded.record.id.clone(),
                action: Action::Withdrawn,
            };
            return self.decide_change(loaded, caller.actor(), drop).await;
        }
        let record = loaded.record;
        let stamp = self.app.stamp(caller.actor());
        let record = self
            .app
            .records()
            .commit(
                &key,
                &stamp.id,
                |current: Option<ConnectionRequest>| {
                    let mut r = current
                        .filter(|r| r.id == record.id)
                        .ok_or_else(|| Problem::not_found("connection request"))?;
                    r.decide(RequestState::Withdrawn, Action::Withdrawn, &stamp)?;
                    Ok(Edit::Write(r.clone(), r))
                },
                |withdrawn| withdrawn,
            )
            .await?;
        Ok(RequestView::new(&record, self.app.now()))
    }

    /// Finds a request for its organization's side, checking the authority.
    async fn for_decision(
        &self,
        id: &str,
        authority: &Authority<'_>,
    ) -> Result<(String, Loaded, Actor), Problem> {
        let not_found = || Problem::not_found("connection request");
        let (partner, actor_org) = match authority {
            Authority::Link(token) => {
                let claims = self
                    .app
                    .keys
                    .verify(token, Purpose::Connect, self.app.now())
                    .map_err(|e| link_problem(e, "approval"))?;
                if claims.record_id != id {
                    return Err(not_found());
                }
                (
                    claims.partner_id.ok_or_else(not_found)?,
                    claims.organization_id,
                )
            }
            Authority::Bearer(principal) => {
                let org = principal.organization_id()?;
                let locator: Locator = self
                    .app
                    .records()
                    .get(&keys::request_locator(id))
                    .await?
                    .ok_or_else(not_found)?;
                (locator.partner_id, Some(org.to_string()))
            }
        };
        if !is_id(&partner) {
            return Err(not_found());
        }
        let found = match actor_org.as_deref().and_then(OrganizationId::parse) {
            Some(org) => self.load_deciding(&partner, id, &org).await?,
            None => self.load(&partner, id).await?,
        };
        let (key, loaded) = opened(found)?;
        let organization_id = &loaded.record.organization_id;
        // Another organization's request is not found, as for partners.
        if actor_org.as_deref() != Some(organization_id.as_str()) {
            return Err(not_found());
        }
        let actor = match authority {
            Authority::Bearer(p) => p.actor(),
            Authority::Link(_) => Actor::ApprovalLink {
                organization_id: organization_id.to_string(),
            },
        };
        Ok((key, loaded, actor))
    }

    /// `GET /connect/:token`: what the admin is asked to approve.
    pub async fn preview(&self, token: &str) -> Result<ApprovalPreview, Problem> {
        let app = self.app;
        let claims = app
            .keys
            .verify(token, Purpose::Connect, app.now())
            .map_err(|e| link_problem(e, "approval"))?;
        let (_, loaded, _) = self
            .for_decision(&claims.record_id, &Authority::Link(token))
            .await?;
        let record = &loaded.record;
        record
            .check_open(app.now())
            .map_err(|p| p.about_locale(record.locale.as_deref()))?;
        let (known, profile) = self.alongside(loaded.alongside, record).await?;
        let record = loaded.record;
        let known = known.ok_or_else(|| Problem::not_found("organization"))?;
        Ok(ApprovalPreview {
            request_id: record.id.to_string(),
            partner_name: profile.display_name,
            organization_id: known.organization.id.to_string(),
            organization_name: known.organization.details.company.name,
            connection: record.connection,
            connection_label: record.connection.label(),
            capabilities: LabelledCapability::column(record.connection),
            first_contact: record.connection.first_contact(),
            expires_at: Timestamp(record.expires_at),
            change: record
                .change
                .as_ref()
                .map(|c| ChangePreview::of(c, record.connection)),
            locale: record.locale,
        })
    }

    /// `POST /api/connections/:id/approve`: creates the relationship; the
    /// organization's record is not touched.
    pub async fn approve(
        &self,
        id: &str,
        authority: Authority<'_>,
    ) -> Result<RequestView, Problem> {
        let (key, loaded, actor) = self.for_decision(id, &authority).await?;
        let app = self.app;
        loaded.record.check_open(app.now())?;
        if loaded.record.change.is_some() {
            let approve = Change::Connection {
                to: loaded.record.connection,
                request: Some(loaded.record.id.clone()),
            };
            return self.decide_change(loaded, actor, approve).await;
        }
        let (known, profile) = self.alongside(loaded.alongside, &loaded.record).await?;
        let record = loaded.record;
        let known = known.ok_or_else(|| Problem::not_found("organization"))?;
        if app
            .relationships()
            .connected(&known.ledger, &record.partner_id)
            .await?
            .is_some()
        {
            return Err(Problem::new(
                ProblemKind::AlreadyConnected,
                "this partner is already connected",
            ));
        }
        let relationship = app.relationships().relationship(
            &profile,
            &known.organization,
            record.connection,
            Via::ConnectionRequest {
                id: record.id.clone(),
            },
            actor.clone(),
        );
        self.decide(
            &key,
            record,
            actor,
            &profile,
            Decision::Approve(Box::new(relationship)),
        )
        .await
    }

    /// `POST /api/connections/:id/decline`.
    pub async fn decline(
        &self,
        id: &str,
        authority: Authority<'_>,
    ) -> Result<RequestView, Problem> {
        let (key, loaded, actor) = self.for_decision(id, &authority).await?;
        if loaded.record.change.is_some() {
            let drop = Change::Drop {
                request: loaded.record.id.clone(),
                action: Action::Declined,
            };
            return self.decide_change(loaded, actor, drop).await;
        }
        // Only the profile: a decline reads no organization.
        let profile = match loaded.alongside {
            Some((_, profile)) => profile,
            None => {
                self.app
                    .partners()
                    .profile(&loaded.record.partner_id)
                    .await?
            }
        };
        let record = loaded.record;
        self.decide(&key, record, actor, &profile, Decision::Decline)
            .await
    }

    /// The organization with its ledger, and the partner's profile, that a
    /// decision on `record` starts from: as read with it, else read now.
    async fn alongside(
        &self,
        read: Option<(Option<Known>, PartnerProfile)>,
        record: &ConnectionRequest,
    ) -> Result<(Option<Known>, PartnerProfile), Problem> {
        match read {
            Some(read) => Ok(read),
            None => {
                self.app
                    .organizations()
                    .known_with_profile(&record.organization_id, &record.partner_id)
                    .await
            }
        }
    }

    /// A decision on a change request: made on its relationship's record
    /// (one swap decides between it, the partner's withdrawal and the
    /// relationship's end), which then records it on the request.
    /// Approval reports `relationship.changed`, a decline
    /// `connection.declined`; a withdrawal, as for any request, nothing.
    async fn decide_change(
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

    /// The admin's decision: prepare (the relationship's slots, the event),
    /// commit by a verified swap of the request, carry out.
    async fn decide(
        &self,
        key: &str,
        record: ConnectionRequest,
        actor: Actor,
        profile: &PartnerProfile,
        decision: Decision,
    ) -> Result<RequestView, Problem> {
        let app = self.app;
        let records = app.records();
        let stamp: Stamp = app.stamp(actor);
        let (state, action, event) = match &decision {
            Decision::Approve(r) => (
                RequestState::Approved {
                    relationship_id: r.id.clone(),
                },
                Action::Approved,
                EventType::ConnectionApproved,
            ),
            Decision::Decline => (
                RequestState::Declined,
                Action::Declined,
                EventType::ConnectionDeclined,
            ),
        };
        let mut writes = Writes::new();
        let connect = match decision {
            Decision::Approve(mut relationship) => {
                let reserved = app
                    .relationships()
                    .reserve(&mut writes, &mut relationship, key)
                    .await?;
                Some(Connect {
                    relationship: *relationship,
                    customer_slot: reserved.customer,
                    partner_slot: reserved.partner,
                    organization: None,
                })
            }
            Decision::Decline => None,
        };
        let mut decided = record.clone();
        decided.decide(state.clone(), action, &stamp)?;
        let source = Source {
            key: key.to_string(),
            event: stamp.id.clone(),
        };
        let mut feed = Vec::new();
        if let Some(c) = &connect {
            feed.push((
                EventType::RelationshipCreated,
                to_json(&RelationshipView::new(&c.relationship, stamp.at))?,
            ));
        }
        let items: Vec<Prepared> = app
            .outbox()
            .event(
                &mut writes,
                profile,
                event,
                event_data(&decided, stamp.at)?,
                source,
                feed,
            )
            .await?;
        app.outbox().watch(&mut writes, &items).await?;
        records.put_all(writes).await?;
        let committed = records
            .commit(
                key,
                &stamp.id,
                |current: Option<ConnectionRequest>| {
                    let mut r = current
                        .filter(|r| r.id == record.id)
                        .ok_or_else(|| Problem::not_found("connection request"))?;
                    r.decide(state.clone(), action, &stamp)?;
                    let intent = r.intent.get_or_insert_with(Intent::default);
                    intent.connect = connect.clone();
                    intent.deliver.extend(keys_of(&items));
                    Ok(Edit::Write(r.clone(), r))
                },
                |decided| decided,
            )
            .await;
        let committed = match committed {
            Ok(r) => r,
            Err(problem) => {
                if let Some(c) = connect {
                    app.relationships()
                        .release(&c.relationship, c.slots())
                        .await?;
                }
                app.outbox().abandon(&items).await?;
                return Err(problem);
            }
        };
        let settled = self
            .settle(key, committed, Some(items), Some(profile), false)
            .await?;
        Ok(RequestView::new(&settled, app.now()))
    }
}

fn already_connected() -> Problem {
    Problem::new(
        ProblemKind::AlreadyConnected,
        "you are already connected to this organization",
    )
}

fn duplicate() -> Problem {
    Problem::new(
        ProblemKind::DuplicateRequest,
        "you already have an open request for this organization; withdraw it or wait for a decision",
    )
}

fn event_data(record: &ConnectionRequest, now: u64) -> Result<serde_json::Value, Problem> {
    let mut view = RequestView::new(record, now);
    view.history.clear();
    serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
}
