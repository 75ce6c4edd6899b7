//! Connecting an organization that already exists: the partner asks, the
//! organization's admin approves or declines, the partner may withdraw.

use serde::{Deserialize, Serialize};

use super::redeem::{LabelledCapability, link_problem};
use super::{App, Page, PageRequest, parse_json, sequence_of};
use crate::auth::Principal;
use crate::capabilities::{ConnectionType, FirstContact};
use crate::clock::{Timestamp, readable};
use crate::domain::connection::DEFAULT_REQUEST_TTL_DAYS;
use crate::domain::{
    Action, Actor, AuditEvent, ConnectionRequest, EventType, Organization, PartnerProfile,
    Relationship, RequestState, Via,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{self, KeyValue, keys};
use crate::token::{Claims, Purpose};
use crate::validation::{Report, is_id};
use crate::view::RequestView;

/// `POST /api/connections` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The organization to connect to.
    pub organization_id: Option<String>,
    /// The connection asked for.
    pub connection: Option<String>,
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
}

/// Where a request lives, for the organization's side.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Locator {
    partner_id: String,
}

/// The open request for a partner and organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenRequest {
    id: String,
    expires_at: u64,
}

/// How a decision is authorised.
pub enum Authority<'a> {
    /// The organization admin's bearer token.
    Bearer(&'a Principal),
    /// The token from the approval link.
    Link(&'a str),
}

impl<S: KeyValue, T: Transport> App<S, T> {
    /// `POST /api/connections`.
    pub async fn request_connection(
        &self,
        caller: &Principal,
        body: &[u8],
    ) -> Result<RequestView, Problem> {
        let partner = caller.partner_id()?;
        let request: NewRequest = parse_json(body)?;
        let mut report = Report::new();
        let org_id =
            report.required_text("/organization_id", request.organization_id.as_deref(), 64);
        if !org_id.is_empty() && !is_id(&org_id) {
            report.push("/organization_id", "is not an organization id");
        }
        let connection = match request.connection.as_deref().map(ConnectionType::parse) {
            Some(Some(c)) => Some(c),
            Some(None) => {
                report.push(
                    "/connection",
                    "must be msp, reseller_with_support or reseller_without_support",
                );
                None
            }
            None => {
                report.push("/connection", "is required");
                None
            }
        };
        report.finish().map_err(Problem::validation)?;
        let connection = connection.unwrap_or(ConnectionType::ResellerWithoutSupport);

        let now = self.now();
        let open_key = keys::open_request(partner, &org_id);
        let found = self
            .store
            .get_many(&[
                keys::organization(&org_id),
                keys::pair(partner, &org_id),
                open_key.clone(),
            ])
            .await?;
        let organization: Organization = match found.first().cloned().flatten() {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Problem::new(
                    ProblemKind::Internal,
                    format!("stored organization is corrupt: {e}"),
                )
            })?,
            None => return Err(Problem::not_found("organization")),
        };
        if found.get(1).is_some_and(Option::is_some) {
            return Err(Problem::new(
                ProblemKind::AlreadyConnected,
                "you are already connected to this organization",
            ));
        }
        let duplicate = || {
            Problem::new(
                ProblemKind::DuplicateRequest,
                "you already have an open request for this organization; withdraw it or wait for a decision",
            )
        };
        let still_open = |o: &OpenRequest| o.expires_at > now;
        if found
            .get(2)
            .cloned()
            .flatten()
            .and_then(|b| serde_json::from_slice::<OpenRequest>(&b).ok())
            .is_some_and(|o| still_open(&o))
        {
            return Err(duplicate());
        }

        let n = store::next_in_sequence(&self.store, &keys::request_seq(partner)).await?;
        let record = ConnectionRequest {
            id: self.sequenced_id("con", n),
            partner_id: partner.to_string(),
            organization_id: org_id.clone(),
            connection,
            expires_at: now + u64::from(DEFAULT_REQUEST_TTL_DAYS) * 86_400,
            state: RequestState::Pending,
            history: vec![AuditEvent {
                action: Action::Created,
                by: caller.actor(),
                at: now,
            }],
        };
        let open = OpenRequest {
            id: record.id.clone(),
            expires_at: record.expires_at,
        };
        store::update(
            &self.store,
            &open_key,
            |current: Option<OpenRequest>| match current {
                Some(o) if still_open(&o) => Err(duplicate()),
                _ => Ok((open.clone(), ())),
            },
        )
        .await?;
        store::put_json(&self.store, &keys::request(partner, n), &record).await?;
        store::put_json(
            &self.store,
            &keys::request_locator(&record.id),
            &Locator {
                partner_id: partner.to_string(),
            },
        )
        .await?;

        let profile = self.profile(partner).await?;
        self.mail_approval(&record, &organization, &profile).await?;
        self.emit(
            &profile,
            EventType::ConnectionRequested,
            request_data(&record, now)?,
        )
        .await;
        Ok(RequestView::new(&record, now))
    }

    /// The approval link goes to the organization's admin, never to the partner.
    async fn mail_approval(
        &self,
        record: &ConnectionRequest,
        organization: &Organization,
        profile: &PartnerProfile,
    ) -> Result<(), Problem> {
        let token = self
            .keys
            .sign(&Claims {
                purpose: Purpose::Connect,
                record_id: record.id.clone(),
                partner_id: Some(record.partner_id.clone()),
                organization_id: Some(record.organization_id.clone()),
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
        let link = format!(
            "{}/connect/{token}",
            self.config.public_base_url.trim_end_matches('/')
        );
        let subject = format!(
            "{} asks to connect to {}",
            profile.display_name, organization.details.company.name
        );
        let text = format!(
            "Hello,\n\n{} asks to be connected to {} on {} as {}.\n\nReview the request and approve or decline it here:\n{link}\n\n\
             The request expires on {}. Your organization's settings stay as they are either way.\n",
            profile.display_name,
            organization.details.company.name,
            self.config.vendor_name,
            record.connection.label(),
            readable(record.expires_at),
        );
        self.send_email(&organization.admin_email, subject, text)
            .await;
        Ok(())
    }

    /// `GET /api/connections`: the partner's requests, newest first.
    pub async fn list_requests(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<RequestView>, Problem> {
        let partner = caller.partner_id()?;
        let now = self.now();
        let (items, next_cursor) = self
            .page::<ConnectionRequest>(
                &keys::request_seq(partner),
                |n| keys::request(partner, n),
                page,
                |_| true,
            )
            .await?;
        Ok(Page {
            items: items.iter().map(|r| RequestView::new(r, now)).collect(),
            next_cursor,
        })
    }

    /// `POST /api/connections/:id/withdraw`.
    pub async fn withdraw_request(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<RequestView, Problem> {
        let partner = caller.partner_id()?;
        let (key, _) = self.load_request(partner, id).await?;
        let (record, ()) = self
            .decide_at(
                &key,
                id,
                RequestState::Withdrawn,
                Action::Withdrawn,
                caller.actor(),
            )
            .await?;
        self.store
            .delete(&keys::open_request(partner, &record.organization_id))
            .await?;
        Ok(RequestView::new(&record, self.now()))
    }

    async fn load_request(
        &self,
        partner: &str,
        id: &str,
    ) -> Result<(String, ConnectionRequest), Problem> {
        let n = sequence_of(id, "con").ok_or_else(|| Problem::not_found("connection request"))?;
        let key = keys::request(partner, n);
        let record: ConnectionRequest = store::get_json(&self.store, &key)
            .await?
            .filter(|r: &ConnectionRequest| r.id == id)
            .ok_or_else(|| Problem::not_found("connection request"))?;
        Ok((key, record))
    }

    async fn decide_at(
        &self,
        key: &str,
        id: &str,
        state: RequestState,
        action: Action,
        by: Actor,
    ) -> Result<(ConnectionRequest, ()), Problem> {
        let now = self.now();
        store::update(&self.store, key, |current: Option<ConnectionRequest>| {
            let mut r = current
                .filter(|r| r.id == id)
                .ok_or_else(|| Problem::not_found("connection request"))?;
            r.decide(state.clone(), action, by.clone(), now)?;
            Ok((r, ()))
        })
        .await
    }

    /// Finds a request for its organization's side, checking the authority.
    async fn request_for_decision(
        &self,
        id: &str,
        authority: &Authority<'_>,
    ) -> Result<(String, ConnectionRequest, Actor), Problem> {
        let not_found = || Problem::not_found("connection request");
        let (partner, actor_org) = match authority {
            Authority::Link(token) => {
                let claims = self
                    .keys
                    .verify(token, Purpose::Connect, self.now())
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
                let locator: Locator = store::get_json(&self.store, &keys::request_locator(id))
                    .await?
                    .ok_or_else(not_found)?;
                (locator.partner_id, Some(org.to_string()))
            }
        };
        if !is_id(&partner) {
            return Err(not_found());
        }
        let (key, record) = self.load_request(&partner, id).await?;
        // Another organization's request is not found, as for partners.
        if actor_org.as_deref() != Some(record.organization_id.as_str()) {
            return Err(not_found());
        }
        let actor = match authority {
            Authority::Bearer(p) => p.actor(),
            Authority::Link(_) => Actor::ApprovalLink {
                organization_id: record.organization_id.clone(),
            },
        };
        Ok((key, record, actor))
    }

    /// `GET /connect/:token`: what the admin is asked to approve.
    pub async fn preview_request(&self, token: &str) -> Result<ApprovalPreview, Problem> {
        let claims = self
            .keys
            .verify(token, Purpose::Connect, self.now())
            .map_err(|e| link_problem(e, "approval"))?;
        let (_, record, _) = self
            .request_for_decision(&claims.record_id, &Authority::Link(token))
            .await?;
        record.check_open(self.now())?;
        let profile = self.profile(&record.partner_id).await?;
        let organization: Organization =
            store::get_json(&self.store, &keys::organization(&record.organization_id))
                .await?
                .ok_or_else(|| Problem::not_found("organization"))?;
        Ok(ApprovalPreview {
            request_id: record.id.clone(),
            partner_name: profile.display_name,
            organization_id: organization.id,
            organization_name: organization.details.company.name,
            connection: record.connection,
            connection_label: record.connection.label(),
            capabilities: record
                .connection
                .capabilities()
                .into_iter()
                .map(|capability| LabelledCapability {
                    capability,
                    label: capability.label(),
                })
                .collect(),
            first_contact: record.connection.first_contact(),
            expires_at: Timestamp(record.expires_at),
        })
    }

    /// `POST /api/connections/:id/approve`: creates the relationship; the
    /// organization's settings are not touched.
    pub async fn approve_request(
        &self,
        id: &str,
        authority: Authority<'_>,
    ) -> Result<RequestView, Problem> {
        let (key, record, actor) = self.request_for_decision(id, &authority).await?;
        let now = self.now();
        record.check_open(now)?;
        let pair = keys::pair(&record.partner_id, &record.organization_id);
        if self.store.get(&pair).await?.is_some() {
            return Err(Problem::new(
                ProblemKind::AlreadyConnected,
                "this partner is already connected",
            ));
        }
        let (profile, organization) = self.parties(&record).await?;
        let relationship = Relationship {
            id: self.random_id("rel"),
            partner_id: record.partner_id.clone(),
            partner_name: profile.display_name.clone(),
            organization_id: record.organization_id.clone(),
            organization_name: organization.details.company.name.clone(),
            connection: record.connection,
            since: now,
            via: Via::ConnectionRequest {
                id: record.id.clone(),
            },
        };
        let state = RequestState::Approved {
            relationship_id: relationship.id.clone(),
        };
        let (record, ()) = self
            .decide_at(&key, id, state, Action::Approved, actor)
            .await?;
        if store::insert_new(&self.store, &pair, &relationship).await? {
            self.record_relationship(&relationship).await?;
        }
        self.store
            .delete(&keys::open_request(
                &record.partner_id,
                &record.organization_id,
            ))
            .await?;
        self.emit(
            &profile,
            EventType::ConnectionApproved,
            request_data(&record, now)?,
        )
        .await;
        Ok(RequestView::new(&record, now))
    }

    /// `POST /api/connections/:id/decline`.
    pub async fn decline_request(
        &self,
        id: &str,
        authority: Authority<'_>,
    ) -> Result<RequestView, Problem> {
        let (key, _, actor) = self.request_for_decision(id, &authority).await?;
        let (record, ()) = self
            .decide_at(&key, id, RequestState::Declined, Action::Declined, actor)
            .await?;
        self.store
            .delete(&keys::open_request(
                &record.partner_id,
                &record.organization_id,
            ))
            .await?;
        let (profile, _) = self.parties(&record).await?;
        let now = self.now();
        self.emit(
            &profile,
            EventType::ConnectionDeclined,
            request_data(&record, now)?,
        )
        .await;
        Ok(RequestView::new(&record, now))
    }

    async fn parties(
        &self,
        record: &ConnectionRequest,
    ) -> Result<(PartnerProfile, Organization), Problem> {
        let profile = self.profile(&record.partner_id).await?;
        let organization =
            store::get_json(&self.store, &keys::organization(&record.organization_id))
                .await?
                .ok_or_else(|| Problem::not_found("organization"))?;
        Ok((profile, organization))
    }
}

fn request_data(record: &ConnectionRequest, now: u64) -> Result<serde_json::Value, Problem> {
    let mut view = RequestView::new(record, now);
    view.history.clear();
    serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
}
