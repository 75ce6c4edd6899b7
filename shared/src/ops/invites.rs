//! Creating, reading, listing, resending and revoking invites.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{App, Page, PageRequest, parse_json, sequence_of};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::clock::readable;
use crate::domain::invite::{DEFAULT_TTL_DAYS, MAX_TTL_DAYS};
use crate::domain::{
    Action, AuditEvent, CustomerInput, EventType, Invite, InviteState, InviteStatus, PartnerProfile,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{self, KeyValue, keys};
use crate::token::{Claims, Purpose};
use crate::validation::{MAX_TEXT, Report, is_locale, same_email};
use crate::view::InviteView;

/// `POST /api/invites/generate` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// `msp`, `reseller_with_support` or `reseller_without_support`.
    pub connection: Option<String>,
    /// The customer's details.
    pub customer: Option<CustomerInput>,
    /// Link lifetime in days (default 7, at most 30).
    pub ttl_days: Option<i64>,
    /// Whether to email the contact (default true).
    pub send_email: Option<bool>,
    /// Language tag for the email and page.
    pub locale: Option<String>,
    /// The partner's own reference.
    pub partner_reference: Option<String>,
}

/// What an `Idempotency-Key` is bound to.
#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    /// SHA-256 of the request body: a reused key with another body is refused.
    fingerprint: String,
    invite_id: String,
}

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl CreateInvite {
    /// Checks every field at once against the partner's profile.
    fn validate(&self, profile: &PartnerProfile) -> Result<ValidInvite, Problem> {
        let mut report = Report::new();
        let connection = match self.connection.as_deref() {
            None => {
                report.push("/connection", "is required");
                None
            }
            Some(c) => {
                let parsed = ConnectionType::parse(c);
                if parsed.is_none() {
                    report.push(
                        "/connection",
                        "must be msp, reseller_with_support or reseller_without_support",
                    );
                }
                parsed
            }
        };
        let mut customer = self
            .customer
            .clone()
            .unwrap_or_default()
            .validate("/customer", &mut report);
        match (&customer.billing.email, profile.billing_accounts.first()) {
            (Some(email), _) => {
                if !profile
                    .billing_accounts
                    .iter()
                    .any(|a| same_email(a, email))
                {
                    report.push(
                        "/customer/billing/email",
                        if profile.billing_accounts.is_empty() {
                            "must be one of your billing accounts, and you have none: add them with PUT /api/partner"
                                .to_string()
                        } else {
                            format!("must be one of your billing accounts: {}", profile.billing_accounts.join(", "))
                        },
                    );
                }
            }
            (None, Some(first)) => customer.billing.email = Some(first.clone()),
            (None, None) => {}
        }
        let ttl_days = self.ttl_days.unwrap_or(i64::from(DEFAULT_TTL_DAYS));
        if !(1..=i64::from(MAX_TTL_DAYS)).contains(&ttl_days) {
            report.push(
                "/ttl_days",
                format!("must be from 1 to {MAX_TTL_DAYS} days"),
            );
        }
        let locale = report.optional_text("/locale", self.locale.as_deref(), 35);
        if let Some(l) = &locale
            && !is_locale(l)
        {
            report.push("/locale", "must be a language tag such as en or de-CH");
        }
        let partner_reference = report.optional_text(
            "/partner_reference",
            self.partner_reference.as_deref(),
            MAX_TEXT,
        );
        report.finish().map_err(Problem::validation)?;
        Ok(ValidInvite {
            connection: connection.unwrap_or(ConnectionType::ResellerWithoutSupport),
            customer,
            ttl_seconds: ttl_days.unsigned_abs() * 86_400,
            send_email: self.send_email.unwrap_or(true),
            locale,
            partner_reference,
        })
    }
}

struct ValidInvite {
    connection: ConnectionType,
    customer: crate::domain::CustomerDetails,
    ttl_seconds: u64,
    send_email: bool,
    locale: Option<String>,
    partner_reference: Option<String>,
}

impl<S: KeyValue, T: Transport> App<S, T> {
    /// The registration link and its token, while the invite can be redeemed.
    pub(crate) fn invite_link(&self, invite: &Invite) -> Result<Option<(String, String)>, Problem> {
        if invite.status(self.now()) != InviteStatus::Pending {
            return Ok(None);
        }
        let token = self
            .keys
            .sign(&Claims {
                purpose: Purpose::Invite,
                record_id: invite.id.clone(),
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
        let link = format!(
            "{}/invite/{token}",
            self.config.public_base_url.trim_end_matches('/')
        );
        Ok(Some((link, token)))
    }

    fn invite_view(&self, invite: &Invite) -> Result<InviteView, Problem> {
        Ok(InviteView::new(
            invite,
            self.now(),
            self.invite_link(invite)?,
        ))
    }

    /// Loads one of the partner's invites by id; another partner's id is simply not found.
    pub(crate) async fn load_invite(
        &self,
        partner: &str,
        id: &str,
    ) -> Result<(String, Invite), Problem> {
        let n = sequence_of(id, "inv").ok_or_else(|| Problem::not_found("invite"))?;
        let key = keys::invite(partner, n);
        let invite: Invite = store::get_json(&self.store, &key)
            .await?
            .filter(|i: &Invite| i.id == id)
            .ok_or_else(|| Problem::not_found("invite"))?;
        Ok((key, invite))
    }

    /// `POST /api/invites/generate`.
    ///
    /// With an `Idempotency-Key`, a retried request answers with the invite
    /// the first one created; the same key with another body is a 409.
    pub async fn create_invite(
        &self,
        caller: &Principal,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<InviteView, Problem> {
        let partner = caller.partner_id()?;
        let request: CreateInvite = parse_json(body)?;
        let idempotency = match idempotency_key {
            Some(k)
                if k.is_empty()
                    || k.len() > MAX_IDEMPOTENCY_KEY
                    || !k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                return Err(Problem::new(
                    ProblemKind::Malformed,
                    format!(
                        "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                    ),
                ));
            }
            Some(k) => Some((
                keys::idempotency(partner, &sha256_hex(k.as_bytes())),
                sha256_hex(body),
            )),
            None => None,
        };
        if let Some((key, fingerprint)) = &idempotency
            && let Some(view) = self.replay(partner, key, fingerprint).await?
        {
            return Ok(view);
        }
        let profile = self.profile(partner).await?;
        let valid = request.validate(&profile)?;

        let now = self.now();
        let n = store::next_in_sequence(&self.store, &keys::invite_seq(partner)).await?;
        let invite = Invite {
            id: self.sequenced_id("inv", n),
            partner_id: partner.to_string(),
            connection: valid.connection,
            customer: valid.customer,
            locale: valid.locale,
            partner_reference: valid.partner_reference,
            send_email: valid.send_email,
            ttl_seconds: valid.ttl_seconds,
            generation: 0,
            issued_at: now,
            expires_at: now + valid.ttl_seconds,
            state: InviteState::Pending,
            history: vec![AuditEvent {
                action: Action::Created,
                by: caller.actor(),
                at: now,
            }],
            last_email: None,
        };
        let key = keys::invite(partner, n);
        store::put_json(&self.store, &key, &invite).await?;
        if let Some((idem_key, fingerprint)) = &idempotency {
            let record = IdempotencyRecord {
                fingerprint: fingerprint.clone(),
                invite_id: invite.id.clone(),
            };
            if !store::insert_new(&self.store, idem_key, &record).await? {
                // A concurrent request with the same key won: undo ours, answer with theirs.
                self.store.delete(&key).await?;
                return self
                    .replay(partner, idem_key, fingerprint)
                    .await?
                    .ok_or_else(|| {
                        Problem::new(
                            ProblemKind::InvalidState,
                            "a request with this Idempotency-Key is in progress",
                        )
                    });
            }
        }
        let invite = self.mail_invite(&key, invite, &profile).await;
        self.emit(
            &profile,
            EventType::InviteCreated,
            self.event_data(&invite)?,
        )
        .await;
        self.invite_view(&invite)
    }

    async fn replay(
        &self,
        partner: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<InviteView>, Problem> {
        let Some(record) = store::get_json::<IdempotencyRecord>(&self.store, key).await? else {
            return Ok(None);
        };
        if record.fingerprint != fingerprint {
            return Err(Problem::new(
                ProblemKind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            ));
        }
        let (_, invite) = self.load_invite(partner, &record.invite_id).await?;
        self.invite_view(&invite).map(Some)
    }

    /// Emails the invite link (when the invite asks for it) and notes the outcome on the invite.
    async fn mail_invite(&self, key: &str, invite: Invite, profile: &PartnerProfile) -> Invite {
        if !invite.send_email {
            return invite;
        }
        let Ok(Some((link, _))) = self.invite_link(&invite) else {
            return invite;
        };
        let contact = &invite.customer.contact;
        let subject = format!(
            "{} invites {} to connect",
            profile.display_name, invite.customer.company.name
        );
        let first_contact = match invite.connection.first_contact() {
            crate::capabilities::FirstContact::Partner => profile.display_name.clone(),
            crate::capabilities::FirstContact::Vendor => self.config.vendor_name.clone(),
        };
        let text = format!(
            "Hello {} {},\n\n{} invites {} to {} as {}.\nYour first contact for support will be {}.\n\n\
             Register or link your organization here:\n{link}\n\nThis link expires on {}.\n",
            contact.first_name,
            contact.last_name,
            profile.display_name,
            invite.customer.company.name,
            self.config.vendor_name,
            invite.connection.label(),
            first_contact,
            readable(invite.expires_at),
        );
        let email = self.send_email(&contact.email, subject, text).await;
        let noted = store::update(&self.store, key, |current: Option<Invite>| {
            let mut i = current.ok_or_else(|| Problem::not_found("invite"))?;
            i.last_email = Some(email.clone());
            Ok((i, ()))
        })
        .await;
        match noted {
            Ok((i, ())) => i,
            Err(e) => {
                eprintln!(
                    "invite {}: could not note the email outcome: {e}",
                    invite.id
                );
                invite
            }
        }
    }

    /// The webhook `data` for an invite event.
    pub(crate) fn event_data(&self, invite: &Invite) -> Result<serde_json::Value, Problem> {
        let mut view = InviteView::new(invite, self.now(), None);
        view.history.clear();
        serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
    }

    /// `GET /api/invites/:id`.
    pub async fn get_invite(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let (_, invite) = self.load_invite(caller.partner_id()?, id).await?;
        self.invite_view(&invite)
    }

    /// `GET /api/invites?status=&limit=&cursor=`: newest first.
    pub async fn list_invites(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InviteView>, Problem> {
        let partner = caller.partner_id()?;
        let status = match status {
            None | Some("") => None,
            Some(s) => Some(InviteStatus::parse(s).ok_or_else(|| {
                Problem::new(
                    ProblemKind::Malformed,
                    "status must be pending, accepted, expired or revoked",
                )
            })?),
        };
        let now = self.now();
        let (items, next_cursor) = self
            .page::<Invite>(
                &keys::invite_seq(partner),
                |n| keys::invite(partner, n),
                page,
                |i| status.is_none_or(|s| i.status(now) == s),
            )
            .await?;
        Ok(Page {
            items: items
                .iter()
                .map(|i| self.invite_view(i))
                .collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    /// `POST /api/invites/:id/resend`: a fresh link and expiry; earlier links die.
    pub async fn resend_invite(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let partner = caller.partner_id()?;
        let (key, _) = self.load_invite(partner, id).await?;
        let now = self.now();
        let (invite, ()) = store::update(&self.store, &key, |current: Option<Invite>| {
            let mut i = current
                .filter(|i| i.id == id)
                .ok_or_else(|| Problem::not_found("invite"))?;
            i.resend(caller.actor(), now)?;
            Ok((i, ()))
        })
        .await?;
        let profile = self.profile(partner).await?;
        let invite = self.mail_invite(&key, invite, &profile).await;
        self.invite_view(&invite)
    }

    /// `POST /api/invites/:id/revoke`: pending invites only; the link stops working.
    pub async fn revoke_invite(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let partner = caller.partner_id()?;
        let (key, _) = self.load_invite(partner, id).await?;
        let now = self.now();
        let (invite, ()) = store::update(&self.store, &key, |current: Option<Invite>| {
            let mut i = current
                .filter(|i| i.id == id)
                .ok_or_else(|| Problem::not_found("invite"))?;
            i.revoke(caller.actor(), now)?;
            Ok((i, ()))
        })
        .await?;
        let profile = self.profile(partner).await?;
        self.emit(
            &profile,
            EventType::InviteRevoked,
            self.event_data(&invite)?,
        )
        .await;
        self.invite_view(&invite)
    }
}
