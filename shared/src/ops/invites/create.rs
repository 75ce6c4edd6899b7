//! Creating an invite: its body, checked at once against the partner's
//! profile, then the invite written with its email and event. Apart because
//! it is the one operation that starts an invite.

use serde::Deserialize;

use super::idempotency::{IdempotencyRecord, in_progress};
use super::{IdempotencyKey, Invites, note_prepared};
use crate::auth::Principal;
use crate::capabilities::ConnectionType;
use crate::domain::invite::{DEFAULT_TTL_DAYS, MAX_TTL_DAYS};
use crate::domain::{
    Action, CustomerDetails, CustomerInput, EventType, Invite, InviteId, InviteState,
    PartnerProfile, Source,
};
use crate::outbound::Transport;
use crate::problem::{FieldRule, Problem};
use crate::store::{KeyValue, Writes, keys};
use crate::validation::{MAX_TEXT, Report, same_email};
use crate::view::InviteView;

/// `POST /api/invites/generate` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// `msp`, `reseller_with_support` or `reseller_without_support`.
    pub connection: Option<String>,
    /// The customer's details.
    pub customer: Option<CustomerInput>,
    /// Link lifetime in days (default 7, at most 30).
    #[serde(default, deserialize_with = "crate::validation::whole_number")]
    pub ttl_days: Option<i64>,
    /// Whether to email the contact (default true).
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub send_email: Option<bool>,
    /// Language tag for the email and page.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub locale: Option<String>,
    /// The partner's own reference.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub partner_reference: Option<String>,
}

struct ValidInvite {
    connection: ConnectionType,
    customer: CustomerDetails,
    ttl_seconds: u64,
    send_email: bool,
    locale: Option<String>,
    partner_reference: Option<String>,
}

impl CreateInvite {
    /// Checks every field at once against the partner's profile.
    fn validate(&self, profile: &PartnerProfile) -> Result<ValidInvite, Problem> {
        let mut report = Report::new();
        let connection = report.required_connection("/connection", self.connection.as_deref());
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
                        FieldRule::BillingAccount {
                            accounts: profile.billing_accounts.clone(),
                        },
                    );
                }
            }
            (None, Some(first)) => customer.billing.email = Some(first.clone()),
            (None, None) => {}
        }
        let ttl_days = self.ttl_days.unwrap_or(i64::from(DEFAULT_TTL_DAYS));
        if !(1..=i64::from(MAX_TTL_DAYS)).contains(&ttl_days) {
            report.push("/ttl_days", FieldRule::TtlDays { max: MAX_TTL_DAYS });
        }
        let locale = report.optional_locale("/locale", self.locale.as_deref());
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

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// `POST /api/invites/generate`.
    ///
    /// With an `Idempotency-Key`, a retried request answers with the invite
    /// the first one created; the same key with another body is a 409. Which
    /// request is first is decided by an atomic increment on the key's claim
    /// counter; the winner records what it will create before creating it.
    pub async fn create(
        &self,
        caller: &Principal,
        request: CreateInvite,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<InviteView, Problem> {
        let partner = caller.partner_id()?;
        if let Some(key) = &idempotency
            && let Some(view) = self.replay(partner, key).await?
        {
            return Ok(view);
        }
        let app = self.app;
        let profile = app.partners().profile(partner).await?;
        let valid = request.validate(&profile)?;

        let records = app.records();
        let invites = keys::invites(partner);
        let n = invites.take(records, 1).await?.first;
        if let Some(key) = &idempotency
            && records
                .claim(&keys::idempotency_claim(partner, &key.hash))
                .await?
                > 1
        {
            // Another request holds the key; slot n stays empty.
            return self.replay(partner, key).await?.ok_or_else(in_progress);
        }
        let stamp = app.stamp(caller.actor());
        let now = stamp.at;
        let mut invite = Invite {
            id: InviteId::new(n, app.random.as_ref()),
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
            history: vec![stamp.event(Action::Created)],
            last_email: None,
            intent: None,
        };
        let key = invites.slot(n);
        let source = Source {
            key: key.clone(),
            event: stamp.id.clone(),
        };
        let mut writes = Writes::new();
        let mut items = Vec::new();
        if invite.send_email {
            items.push(self.email(&mut writes, &invite, &profile, &source).await?);
        }
        let data = self.event_data(&invite)?;
        items.extend(
            app.outbox()
                .event(
                    &mut writes,
                    &profile,
                    EventType::InviteCreated,
                    data,
                    source,
                    Vec::new(),
                )
                .await?,
        );
        note_prepared(&mut invite, &items);
        app.outbox().watch(&mut writes, &items).await?;
        records.put_all(writes).await?;
        if let Some(idempotency) = &idempotency {
            // The claim's winner records the whole creation before the
            // invite: a retry that finds the record but not the invite makes
            // the same one.
            let record = IdempotencyRecord {
                fingerprint: idempotency.fingerprint.clone(),
                invite: invite.clone(),
                items: items.clone(),
            };
            records
                .put(&keys::idempotency(partner, &idempotency.hash), &record)
                .await?;
        }
        records.put(&key, &invite).await?;
        let invite = self
            .settle(&key, invite, Some(items), Some(&profile))
            .await?;
        self.view(&invite)
    }
}
