//! The approval link: the email that carries it to the organization's admin
//! and the page it opens. Apart because it is the one place requests reach
//! the emails and their languages.

use serde::Serialize;

use super::{Authority, Requests};
use crate::capabilities::{ConnectionType, FirstContact};
use crate::clock::Timestamp;
use crate::domain::relationship::difference;
use crate::domain::{ChangeOf, ConnectionRequest, Organization, PartnerProfile, Source};
use crate::messages::Language;
use crate::messages::email::{self, ApprovalRequest, Message};
use crate::ops::outbox::Prepared;
use crate::ops::redemption::{LabelledCapability, link_problem};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Writes};
use crate::token::{Claims, Purpose};

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

impl<S: KeyValue, T: Transport> Requests<'_, S, T> {
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

    /// Stages the approval email: the link goes to the organization's admin,
    /// never to the partner.
    pub(super) async fn approval_email(
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
}
