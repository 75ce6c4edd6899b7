//! Opening an invite link and redeeming it, exactly once.

use serde::{Deserialize, Serialize};

use super::{App, parse_json, sequence_of};
use crate::auth::Principal;
use crate::capabilities::{Capability, ConnectionType, FirstContact};
use crate::clock::Timestamp;
use crate::domain::{
    Actor, CustomerDetails, CustomerInput, EventType, Invite, InviteState, Organization,
    PartnerProfile, Relationship, Via,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{self, KeyValue, keys};
use crate::token::{Claims, Purpose, TokenError};
use crate::validation::{Report, is_id, same_email};

/// A capability with its label, for pages.
#[derive(Debug, Clone, Serialize)]
pub struct LabelledCapability {
    /// Wire name.
    pub capability: Capability,
    /// Label for people.
    pub label: &'static str,
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
}

/// `POST /api/invites/redeem` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The token from the link.
    pub token: Option<String>,
    /// For a new organization: corrections and additions to the invited
    /// details, as a JSON merge patch (RFC 7396) over them.
    pub organization: Option<serde_json::Value>,
    /// To link an organization that exists (needs its admin's bearer token).
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

/// RFC 7396 merge patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

enum Target {
    New(Organization),
    Existing(Organization),
}

impl<S: KeyValue, T: Transport> App<S, T> {
    /// Verifies an invite token and loads its invite and partner profile in one round trip.
    async fn open_invite(
        &self,
        token: &str,
    ) -> Result<(String, Invite, Claims, PartnerProfile), Problem> {
        let claims = self
            .keys
            .verify(token, Purpose::Invite, self.now())
            .map_err(|e| link_problem(e, "invite"))?;
        let not_found = || Problem::new(ProblemKind::NotFound, "this invite link is not valid");
        let partner = claims
            .partner_id
            .clone()
            .filter(|p| is_id(p))
            .ok_or_else(not_found)?;
        let n = sequence_of(&claims.record_id, "inv").ok_or_else(not_found)?;
        let key = keys::invite(&partner, n);
        // Both records in one round trip, each decoded straight into its type.
        let profile_key = keys::profile(&partner);
        let mut found = self
            .store
            .get_many(&[key.clone(), profile_key.clone()])
            .await?
            .into_iter();
        let invite: Invite = store::decode_found(&key, found.next().flatten())?
            .filter(|i: &Invite| i.id == claims.record_id)
            .ok_or_else(not_found)?;
        let profile = store::decode_found(&profile_key, found.next().flatten())?
            .unwrap_or_else(|| PartnerProfile::fallback(&partner));
        Ok((key, invite, claims, profile))
    }

    /// `GET /invite/:token`: what the customer is offered.
    pub async fn preview_invite(&self, token: &str) -> Result<RedeemPreview, Problem> {
        let (_, invite, claims, profile) = self.open_invite(token).await?;
        invite.check_redeemable(claims.generation, self.now())?;
        let first_contact = invite.connection.first_contact();
        Ok(RedeemPreview {
            invite_id: invite.id.clone(),
            first_contact_name: match first_contact {
                FirstContact::Partner => profile.display_name.clone(),
                FirstContact::Vendor => self.config.vendor_name.clone(),
            },
            partner_name: profile.display_name,
            connection: invite.connection,
            connection_label: invite.connection.label(),
            capabilities: invite
                .connection
                .capabilities()
                .into_iter()
                .map(|capability| LabelledCapability {
                    capability,
                    label: capability.label(),
                })
                .collect(),
            first_contact,
            customer: invite.customer,
            expires_at: Timestamp(invite.expires_at),
        })
    }

    /// `POST /api/invites/redeem`: registers a new organization, or links an
    /// existing one, and connects it to the partner. Exactly one of many
    /// concurrent redemptions of one invite succeeds.
    pub async fn redeem_invite(
        &self,
        caller: Option<&Principal>,
        body: &[u8],
    ) -> Result<Redeemed, Problem> {
        let request: RedeemRequest = parse_json(body)?;
        let token = request
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::validation(vec![crate::problem::FieldError::new(
                    "/token",
                    "is required",
                )])
            })?;
        let (key, invite, claims, profile) = self.open_invite(token).await?;
        let now = self.now();
        invite.check_redeemable(claims.generation, now)?;

        let target = match (&request.organization_id, &request.organization) {
            (Some(_), Some(_)) => {
                return Err(Problem::validation(vec![crate::problem::FieldError::new(
                    "/organization",
                    "give either organization (to register) or organization_id (to link), not both",
                )]));
            }
            (Some(org_id), None) => {
                Target::Existing(self.linkable_organization(caller, org_id, &invite).await?)
            }
            (None, patch) => Target::New(self.new_organization(&invite, patch.as_ref(), now)?),
        };
        let (organization, existing, by) = match target {
            Target::New(o) => {
                let by = Actor::InvitedContact {
                    email: o.admin_email.clone(),
                };
                (o, false, by)
            }
            Target::Existing(o) => {
                let by = caller.map_or(
                    Actor::InvitedContact {
                        email: o.admin_email.clone(),
                    },
                    Principal::actor,
                );
                (o, true, by)
            }
        };
        let relationship = Relationship {
            id: self.random_id("rel"),
            partner_id: invite.partner_id.clone(),
            partner_name: profile.display_name.clone(),
            organization_id: organization.id.clone(),
            organization_name: organization.details.company.name.clone(),
            connection: invite.connection,
            since: now,
            via: Via::Invite {
                id: invite.id.clone(),
            },
        };
        let outcome = InviteState::Accepted {
            organization_id: organization.id.clone(),
            relationship_id: relationship.id.clone(),
            existing_organization: existing,
        };
        // The linearisation point: only one request can move the invite to accepted.
        let (accepted, ()) = store::update(&self.store, &key, |current: Option<Invite>| {
            let mut i = current
                .filter(|i| i.id == invite.id)
                .ok_or_else(|| Problem::not_found("invite"))?;
            i.accept(claims.generation, outcome.clone(), by.clone(), now)?;
            Ok((i, ()))
        })
        .await?;
        if !existing {
            store::put_json(
                &self.store,
                &keys::organization(&organization.id),
                &organization,
            )
            .await?;
        }
        if store::insert_new(
            &self.store,
            &keys::pair(&invite.partner_id, &organization.id),
            &relationship,
        )
        .await?
        {
            self.record_relationship(&relationship).await?;
        }
        self.emit(
            &profile,
            EventType::InviteAccepted,
            self.event_data(&accepted)?,
        )
        .await;
        Ok(Redeemed {
            invite_id: accepted.id,
            organization_id: organization.id,
            existing_organization: existing,
            relationship_id: relationship.id,
            partner_name: profile.display_name,
            connection: invite.connection,
            capabilities: invite.connection.capabilities(),
            first_contact: invite.connection.first_contact(),
        })
    }

    /// An existing organization the caller administers and the partner is not yet connected to.
    async fn linkable_organization(
        &self,
        caller: Option<&Principal>,
        org_id: &str,
        invite: &Invite,
    ) -> Result<Organization, Problem> {
        let caller = caller.ok_or_else(|| {
            Problem::new(
                ProblemKind::Unauthenticated,
                "linking an existing organization needs its admin's access token (Authorization: Bearer)",
            )
        })?;
        if caller.organization_id()? != org_id {
            return Err(Problem::new(
                ProblemKind::Forbidden,
                "you are not an admin of that organization",
            ));
        }
        let organization: Organization = store::get_json(&self.store, &keys::organization(org_id))
            .await?
            .ok_or_else(|| Problem::not_found("organization"))?;
        if self
            .store
            .get(&keys::pair(&invite.partner_id, org_id))
            .await?
            .is_some()
        {
            return Err(Problem::new(
                ProblemKind::AlreadyConnected,
                "your organization is already connected to this partner",
            ));
        }
        Ok(organization)
    }

    /// A new organization from the invited details with the customer's corrections.
    fn new_organization(
        &self,
        invite: &Invite,
        patch: Option<&serde_json::Value>,
        now: u64,
    ) -> Result<Organization, Problem> {
        let mut merged = serde_json::to_value(&invite.customer)
            .map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))?;
        if let Some(patch) = patch {
            if !patch.is_object() {
                return Err(Problem::new(
                    ProblemKind::Malformed,
                    "organization must be a JSON object",
                ));
            }
            merge_patch(&mut merged, patch);
        }
        let input: CustomerInput = serde_json::from_value(merged)
            .map_err(|e| Problem::new(ProblemKind::Malformed, format!("organization: {e}")))?;
        let mut report = Report::new();
        let details = input.validate("/organization", &mut report);
        if !details.contact.email.is_empty()
            && !same_email(&details.contact.email, &invite.customer.contact.email)
        {
            report.push(
                "/organization/contact/email",
                format!(
                    "must be the invited address, {}",
                    invite.customer.contact.email
                ),
            );
        }
        report.finish().map_err(Problem::validation)?;
        Ok(Organization {
            id: self.random_id("org"),
            admin_email: invite.customer.contact.email.clone(),
            details,
            settings: serde_json::Map::new(),
            created_at: now,
        })
    }
}
