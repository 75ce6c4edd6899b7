//! The registration link and the invite email that carries it. Apart as the
//! one place invites sign links and reach the emails and their languages.

use super::Invites;
use crate::capabilities::FirstContact;
use crate::domain::{Invite, InviteStatus, PartnerProfile, Source};
use crate::messages::Language;
use crate::messages::email::{self, Invitation, Message};
use crate::ops::outbox::Prepared;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Writes};
use crate::token::{Claims, Purpose};

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// The registration link and its token, while the invite can be redeemed.
    pub(crate) fn link(&self, invite: &Invite) -> Result<Option<(String, String)>, Problem> {
        if invite.status(self.app.now()) != InviteStatus::Pending {
            return Ok(None);
        }
        let token = self
            .app
            .keys
            .sign(&Claims {
                purpose: Purpose::Invite,
                record_id: invite.id.to_string(),
                partner_id: Some(invite.partner_id.clone()),
                organization_id: None,
                subject: None,
                role: None,
                issued_at: invite.issued_at,
                expires_at: invite.expires_at,
                generation: invite.generation,
            })
            .map_err(|e| {
                Problem::new(
                    ProblemKind::Internal,
                    format!("cannot sign the invite link: {e}"),
                )
            })?;
        Ok(Some((
            self.app.public_link(&format!("/invite/{token}")),
            token,
        )))
    }

    /// Stages the invite email with the invite's current link.
    pub(super) async fn email(
        &self,
        writes: &mut Writes,
        invite: &Invite,
        profile: &PartnerProfile,
        source: &Source,
    ) -> Result<Prepared, Problem> {
        let (link, _) = self
            .link(invite)?
            .ok_or_else(|| Problem::new(ProblemKind::Internal, "an invite to email has no link"))?;
        let contact = &invite.customer.contact;
        let first_contact = match invite.connection.first_contact() {
            FirstContact::Partner => profile.display_name.as_str(),
            FirstContact::Vendor => self.app.config.vendor_name.as_str(),
        };
        let Message {
            subject,
            text,
            html,
        } = email::invitation(&Invitation {
            language: Language::choose(invite.locale.as_deref(), None),
            first_name: &contact.first_name,
            last_name: &contact.last_name,
            partner: &profile.display_name,
            company: &invite.customer.company.name,
            vendor: &self.app.config.vendor_name,
            connection: invite.connection,
            first_contact,
            link: &link,
            expires_at: invite.expires_at,
        });
        self.app
            .outbox()
            .email(writes, &contact.email, subject, text, html, source.clone())
            .await
    }
}
