//! Opening an invite link and redeeming it, exactly once.
//!
//! A redemption prepares (the relationship's two list slots, holding
//! placeholders; the `invite.accepted` delivery, queued), commits by one
//! verified swap of the invite to `accepted` with an intent that holds the
//! new organization and relationship, then carries the intent out. Of many
//! racing redemptions one swap wins; the others release what they prepared.

use serde::{Deserialize, Serialize};

use super::organizations::Known;
use super::outbox::keys_of;
use super::partner::decode_profile;
use super::{App, Invites};
use crate::auth::Principal;
use crate::capabilities::{Capability, ConnectionType, FirstContact};
use crate::clock::Timestamp;
use crate::domain::customer::CustomerPatch;
use crate::domain::{
    Actor, Connect, CustomerDetails, EventType, Intent, Invite, InviteId, InviteState,
    Organization, OrganizationId, OrganizationSource, PartnerProfile, Source, Via,
};
use crate::outbound::Transport;
use crate::problem::{FieldError, FieldRule, Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Writes, keys, record};
use crate::token::{Claims, Purpose, TokenError};
use crate::validation::{Report, is_id, same_email};
use crate::view::{RegistrationView, RelationshipView};

/// A view as event data.
pub(crate) fn to_json<V: Serialize>(view: &V) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
}

/// A capability with its label, for pages.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledCapability {
    /// Wire name.
    pub capability: Capability,
    /// Label for people.
    pub label: &'static str,
}

impl LabelledCapability {
    /// A capability with its label.
    pub fn new(capability: Capability) -> LabelledCapability {
        LabelledCapability {
            capability,
            label: capability.label(),
        }
    }

    /// The matrix column of `connection`, labelled.
    pub fn column(connection: ConnectionType) -> Vec<LabelledCapability> {
        connection
            .capabilities()
            .into_iter()
            .map(LabelledCapability::new)
            .collect()
    }
}

/// What the registration page shows.
#[derive(Debug, Serialize)]
pub struct RedeemPreview {
    /// The invite.
    pub invite_id: String,
    /// The inviting partner's name.
    pub partner_name: String,
    /// The connection offered.
    pub connection: ConnectionType,
    /// Its label.
    pub connection_label: &'static str,
    /// What it grants (the matrix column).
    pub capabilities: Vec<LabelledCapability>,
    /// Who the first contact would be.
    pub first_contact: FirstContact,
    /// The first contact's name.
    pub first_contact_name: String,
    /// The details the partner entered, to prefill the form.
    pub customer: CustomerDetails,
    /// When the link expires (RFC 3339 in JSON).
    pub expires_at: Timestamp,
    /// The invite's locale, for the page (not in JSON).
    #[serde(skip)]
    pub locale: Option<String>,
}

/// `POST /api/invites/redeem` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The token from the link.
    pub token: Option<String>,
    /// For a new organization: corrections and additions to the invited
    /// details, as a JSON merge patch (RFC 7396) over them.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub organization: Option<CustomerPatch>,
    /// To link an organization that exists (needs its admin's bearer token).
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub organization_id: Option<String>,
}

/// The outcome of a redemption.
#[derive(Debug, Serialize)]
pub struct Redeemed {
    /// The invite.
    pub invite_id: String,
    /// The organization created or linked.
    pub organization_id: String,
    /// Whether it already existed (its settings were left as they were).
    pub existing_organization: bool,
    /// The relationship created.
    pub relationship_id: String,
    /// The partner.
    pub partner_name: String,
    /// How they are connected.
    pub connection: ConnectionType,
    /// What it grants.
    pub capabilities: Vec<Capability>,
    /// Who the first contact is.
    pub first_contact: FirstContact,
}

/// The public answer to a token that fails verification: one message for
/// every reason, so a probe learns nothing; the reason goes to the log.
pub(crate) fn link_problem(e: TokenError, what: &str) -> Problem {
    match e {
        TokenError::Expired => Problem::new(
            ProblemKind::Expired,
            format!("this {what} link has expired"),
        ),
        other => {
            eprintln!("{what} link rejected: {other:?}");
            Problem::new(
                ProblemKind::NotFound,
                format!("this {what} link is not valid; check that it was copied completely"),
            )
        }
    }
}

/// An invite link that verified, and what it points at.
struct Opened {
    key: String,
    invite: Invite,
    claims: Claims,
    profile: PartnerProfile,
    /// What the keys of the organization to link held (see [`Known::keys`]),
    /// read with the invite; empty when none is named.
    linked: Vec<Option<Vec<u8>>>,
}

/// Opening and redeeming invite links.
pub struct Redemption<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Redemption<'_, S, T> {
    fn invites(&self) -> Invites<'_, S, T> {
        self.app.invites()
    }

    /// Verifies an invite token and loads its invite and partner profile in
    /// one round trip, with the organization `link` names, if any.
    async fn open(&self, token: &str, link: Option<&OrganizationId>) -> Result<Opened, Problem> {
        let claims = self
            .app
            .keys
            .verify(token, Purpose::Invite, self.app.now())
            .map_err(|e| link_problem(e, "invite"))?;
        let not_found = || Problem::new(ProblemKind::NotFound, "this invite link is not valid");
        let partner = claims
            .partner_id
            .clone()
            .filter(|p| is_id(p))
            .ok_or_else(not_found)?;
        let id = InviteId::parse(&claims.record_id).ok_or_else(not_found)?;
        let key = keys::invite(&partner, id.slot());
        // All records in one round trip, each decoded straight into its type.
        let mut wanted = vec![key.clone(), keys::profile(&partner)];
        wanted.extend(link.into_iter().flat_map(Known::keys));
        let mut found = self.app.records().read_many(&wanted).await?.into_iter();
        let invite = record::decode::<Invite>(&key, found.next().flatten().as_deref())?
            .record()
            .filter(|i| i.id == id)
            .ok_or_else(not_found)?;
        let profile = decode_profile(&partner, found.next().flatten().as_deref())?;
        Ok(Opened {
            key,
            invite,
            claims,
            profile,
            linked: found.collect(),
        })
    }

    /// `GET /invite/:token`: what the customer is offered.
    pub async fn preview(&self, token: &str) -> Result<RedeemPreview, Problem> {
        let Opened {
            invite,
            claims,
            profile,
            ..
        } = self.open(token, None).await?;
        invite
            .check_redeemable(claims.generation, self.app.now())
            .map_err(|p| p.about_locale(invite.locale.as_deref()))?;
        let first_contact = invite.connection.first_contact();
        Ok(RedeemPreview {
            invite_id: invite.id.to_string(),
            first_contact_name: match first_contact {
                FirstContact::Partner => profile.display_name.clone(),
                FirstContact::Vendor => self.app.config.vendor_name.clone(),
            },
            partner_name: profile.display_name,
            connection: invite.connection,
            connection_label: invite.connection.label(),
            capabilities: LabelledCapability::column(invite.connection),
            first_contact,
            customer: invite.customer,
            expires_at: Timestamp(invite.expires_at),
            locale: invite.locale,
        })
    }

    /// `POST /api/invites/redeem`: registers a new organization, or links an
    /// existing one, and connects it to the partner. Exactly one of many
    /// concurrent redemptions of one invite succeeds.
    pub async fn redeem(
        &self,
        caller: Option<&Principal>,
        request: RedeemRequest,
    ) -> Result<Redeemed, Problem> {
        let token = request
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::validation(vec![FieldError::new("/token", FieldRule::Required)])
            })?;
        // An organization to link is read with the invite, checked later.
        let link = request
            .organization_id
            .as_deref()
            .and_then(OrganizationId::parse);
        let Opened {
            key,
            invite,
            claims,
            profile,
            linked,
        } = self.open(token, link.as_ref()).await?;
        let app = self.app;
        let now = app.now();
        invite.check_redeemable(claims.generation, now)?;

        let (organization, new, by) = match (request.organization_id, request.organization) {
            (Some(_), Some(_)) => {
                return Err(Problem::validation(vec![FieldError::new(
                    "/organization",
                    FieldRule::RegisterOrLink,
                )]));
            }
            (Some(org_id), None) => {
                let o = app
                    .organizations()
                    .linkable(caller, &org_id, &invite.partner_id, &linked)
                    .await?;
                let by = caller.map_or(
                    Actor::InvitedContact {
                        email: o.admin_email.clone(),
                    },
                    Principal::actor,
                );
                (o, false, by)
            }
            (None, patch) => {
                let o = self.new_organization(&invite, patch.unwrap_or_default(), now)?;
                let by = Actor::InvitedContact {
                    email: o.admin_email.clone(),
                };
                (o, true, by)
            }
        };
        let mut relationship = app.relationships().relationship(
            &profile,
            &organization,
            invite.connection,
            Via::Invite {
                id: invite.id.clone(),
            },
            by.clone(),
        );
        let outcome = InviteState::Accepted {
            organization_id: organization.id.clone(),
            relationship_id: relationship.id.clone(),
            existing_organization: !new,
        };
        let stamp = app.stamp(by);

        // Prepare: the list slots and the event, under keys only this request writes.
        let records = app.records();
        let mut writes = Writes::new();
        let reserved = app
            .relationships()
            .reserve(&mut writes, &mut relationship, &key)
            .await?;
        let mut accepted = invite.clone();
        accepted.accept(claims.generation, outcome.clone(), &stamp)?;
        let source = Source {
            key: key.clone(),
            event: stamp.id.clone(),
        };
        let outbox = app.outbox();
        // The platform's feed: what it needs to create the tenant, and the relationship.
        let partner = &invite.partner_id;
        let mut feed = Vec::new();
        if new {
            let registered = RegistrationView::new(&organization, &invite.id, partner);
            feed.push((EventType::OrganizationRegistered, to_json(&registered)?));
        }
        feed.push((
            EventType::RelationshipCreated,
            to_json(&RelationshipView::new(&relationship, now))?,
        ));
        let items = outbox
            .event(
                &mut writes,
                &profile,
                EventType::InviteAccepted,
                self.invites().event_data(&accepted)?,
                source,
                feed,
            )
            .await?;
        outbox.watch(&mut writes, &items).await?;
        records.put_all(writes).await?;

        // The commit: only one request can move the invite to accepted.
        let connect = Connect {
            relationship,
            customer_slot: reserved.customer,
            partner_slot: reserved.partner,
            organization: new.then(|| organization.clone()),
        };
        let committed = records
            .commit(
                &key,
                &stamp.id,
                |current: Option<Invite>| {
                    let mut i = current
                        .filter(|i| i.id == invite.id)
                        .ok_or_else(|| Problem::not_found("invite"))?;
                    i.accept(claims.generation, outcome.clone(), &stamp)?;
                    let intent = i.intent.get_or_insert_with(Intent::default);
                    intent.connect = Some(connect.clone());
                    intent.deliver.extend(keys_of(&items));
                    Ok(Edit::Write(i.clone(), i))
                },
                |accepted| accepted,
            )
            .await;
        let committed = match committed {
            Ok(i) => i,
            Err(problem) => {
                app.relationships()
                    .release(&connect.relationship, connect.slots())
                    .await?;
                app.outbox().abandon(&items).await?;
                return Err(problem);
            }
        };
        let settled = self
            .invites()
            .settle(&key, committed, Some(items), Some(&profile))
            .await?;
        let relationship_id = match &settled.state {
            InviteState::Accepted {
                relationship_id, ..
            } => relationship_id.to_string(),
            _ => connect.relationship.id.to_string(),
        };
        Ok(Redeemed {
            invite_id: settled.id.to_string(),
            organization_id: organization.id.to_string(),
            existing_organization: !new,
            relationship_id,
            partner_name: profile.display_name,
            connection: invite.connection,
            capabilities: invite.connection.capabilities(),
            first_contact: invite.connection.first_contact(),
        })
    }

    /// A new organization from the invited details with the customer's corrections.
    fn new_organization(
        &self,
        invite: &Invite,
        patch: CustomerPatch,
        now: u64,
    ) -> Result<Organization, Problem> {
        let mut report = Report::new();
        let details = patch
            .apply(&invite.customer)
            .validate("/organization", &mut report);
        if !details.contact.email.is_empty()
            && !same_email(&details.contact.email, &invite.customer.contact.email)
        {
            report.push(
                "/organization/contact/email",
                FieldRule::InvitedAddress {
                    email: invite.customer.contact.email.clone(),
                },
            );
        }
        report.finish().map_err(Problem::validation)?;
        Ok(Organization {
            id: OrganizationId::registered_by(&invite.id),
            admin_email: invite.customer.contact.email.clone(),
            details,
            admins: Vec::new(),
            settings: serde_json::Map::new(),
            created_at: now,
            source: OrganizationSource::Registered,
        })
    }
}
