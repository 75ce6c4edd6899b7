//! A request's own commits: created (and opened once the organization's
//! ledger takes it), withdrawn, approved or declined. Kept apart from the
//! reading and settling they share, so each commit reads on its own.

use super::{
    Authority, Decision, Loaded, NewRequest, Requests, already_connected, duplicate, event_data,
    opened,
};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::connection::DEFAULT_REQUEST_TTL_DAYS;
use crate::domain::{
    Action, Actor, Change, ChangeOf, Connect, ConnectionRequest, EventType, Intent, Ledger,
    Locator, OpenRequest, Organization, OrganizationId, PartnerProfile, RequestId, RequestState,
    Source, Stamp, Via,
};
use crate::ops::organizations::Known;
use crate::ops::outbox::{Prepared, keys_of};
use crate::ops::redemption::{link_problem, to_json};
use crate::outbound::Transport;
use crate::problem::{FieldRule, Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Writes, keys};
use crate::token::Purpose;
use crate::validation::{Report, is_id};
use crate::view::{RelationshipView, RequestView};

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
    pub(super) async fn open(
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
    pub(super) async fn propose(
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
    pub(super) async fn for_decision(
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
    pub(super) async fn alongside(
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
