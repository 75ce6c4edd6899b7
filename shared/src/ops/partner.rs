//! A partner's own settings.

use serde::{Deserialize, Serialize};

use super::App;
use super::outbox::Gone;
use crate::auth::Principal;
use crate::clock::rfc3339;
use crate::domain::{EndpointDisabled, PartnerProfile, WebhookDelivery, WebhookEndpoint};
use crate::outbound::Transport;
use crate::problem::{FieldRule, Problem, ProblemKind};
use crate::store::{Edit, KeyValue, PageRequest, StoreError, decode_record, keys};
use crate::validation::{MAX_TEXT, Report, same_email};
use crate::webhook;

/// `PUT /api/partner` body: the whole profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// The name customers see.
    pub display_name: Option<String>,
    /// Billing account emails.
    #[serde(default)]
    pub billing_accounts: Vec<String>,
    /// Webhook endpoint URL, or absent/null for none.
    pub webhook_url: Option<String>,
    /// Issue a new webhook secret even if the URL is unchanged.
    #[serde(default)]
    pub rotate_webhook_secret: bool,
}

/// The profile as its partner sees it.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    /// The partner.
    pub partner_id: String,
    /// The name customers see.
    pub display_name: String,
    /// Billing account emails.
    pub billing_accounts: Vec<String>,
    /// Webhook endpoint URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The endpoint secret: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// How the endpoint is doing, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_health: Option<EndpointHealth>,
}

/// How a partner's endpoint is doing, read off its latest deliveries.
#[derive(Debug, Serialize)]
pub struct EndpointHealth {
    /// `healthy`, `failing` (its latest attempts failed) or `disabled`
    /// (it answered 410 Gone; nothing is sent until it is enabled again).
    pub state: &'static str,
    /// The latest attempt it accepted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<String>,
    /// The latest attempt that failed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<String>,
    /// Failed attempts since the latest success, among the latest
    /// [`HEALTH_WINDOW`] deliveries.
    pub consecutive_failures: usize,
    /// When, why and by which delivery it was disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisabledView>,
}

/// An endpoint's disabling, as shown.
#[derive(Debug, Serialize)]
pub struct DisabledView {
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub reason: String,
    /// The delivery it answered 410 to.
    pub delivery_id: String,
}

/// How many of the latest deliveries the health is read from.
pub const HEALTH_WINDOW: usize = 20;

impl EndpointHealth {
    /// The health of `endpoint` from `latest` deliveries, newest first.
    fn new(endpoint: &WebhookEndpoint, latest: &[WebhookDelivery]) -> EndpointHealth {
        let mut attempts: Vec<_> = latest.iter().flat_map(|d| &d.attempts).collect();
        attempts.sort_by_key(|a| std::cmp::Reverse(a.at));
        let last_success = attempts.iter().find(|a| a.succeeded());
        let consecutive_failures = attempts.iter().take_while(|a| !a.succeeded()).count();
        EndpointHealth {
            state: match (&endpoint.disabled, consecutive_failures) {
                (Some(_), _) => "disabled",
                (None, 0) => "healthy",
                (None, _) => "failing",
            },
            last_success_at: last_success.map(|a| rfc3339(a.at)),
            last_failure_at: attempts
                .iter()
                .find(|a| !a.succeeded())
                .map(|a| rfc3339(a.at)),
            consecutive_failures,
            disabled: endpoint.disabled.as_ref().map(|d| DisabledView {
                at: rfc3339(d.at),
                reason: d.reason.clone(),
                delivery_id: d.delivery_id.clone(),
            }),
        }
    }
}

impl ProfileView {
    fn new(p: &PartnerProfile, show_secret: bool, latest: &[WebhookDelivery]) -> ProfileView {
        ProfileView {
            partner_id: p.partner_id.clone(),
            display_name: p.display_name.clone(),
            billing_accounts: p.billing_accounts.clone(),
            webhook_url: p.webhook.as_ref().map(|w| w.url.clone()),
            webhook_secret: p
                .webhook
                .as_ref()
                .filter(|_| show_secret)
                .map(|w| w.secret.clone()),
            webhook_health: p.webhook.as_ref().map(|w| EndpointHealth::new(w, latest)),
        }
    }
}

/// Webhook URLs must be https, or http to a loopback host (for local development).
fn check_webhook_url(report: &mut Report, raw: &str) -> Option<String> {
    let pointer = "/webhook_url";
    match url::Url::parse(raw) {
        Ok(u) => {
            let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            let ok = (u.scheme() == "https" || (u.scheme() == "http" && loopback))
                && u.host_str().is_some()
                && u.username().is_empty()
                && u.password().is_none();
            if !ok {
                report.push(pointer, FieldRule::HttpsUrl);
            }
            Some(u.to_string())
        }
        Err(e) => {
            report.push(
                pointer,
                FieldRule::NotUrl {
                    reason: e.to_string(),
                },
            );
            None
        }
    }
}

/// The partner's profile as `value` (read from its key) holds it, or the
/// fallback before it saved one.
pub(crate) fn decode_profile(
    partner: &str,
    value: Option<&[u8]>,
) -> Result<PartnerProfile, StoreError> {
    let key = keys::profile(partner);
    Ok(decode_record(&key, value)?.unwrap_or_else(|| PartnerProfile::fallback(partner)))
}

/// Partner profiles.
pub struct Partners<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Partners<'_, S, T> {
    /// The partner's profile, or the fallback before it saved one.
    pub async fn profile(&self, partner: &str) -> Result<PartnerProfile, Problem> {
        let value = self.app.records().kv().get(&keys::profile(partner)).await?;
        Ok(decode_profile(partner, value.as_deref())?)
    }

    /// `GET /api/partner`.
    pub async fn get(&self, caller: &Principal) -> Result<ProfileView, Problem> {
        let profile = self.profile(caller.partner_id()?).await?;
        self.view(&profile, false).await
    }

    /// The profile as shown, with its endpoint's health.
    async fn view(&self, p: &PartnerProfile, show_secret: bool) -> Result<ProfileView, Problem> {
        let latest = match &p.webhook {
            Some(_) => {
                let page = PageRequest {
                    limit: HEALTH_WINDOW,
                    before: None,
                };
                keys::deliveries(&p.partner_id)
                    .page(
                        self.app.records(),
                        page,
                        |d: &WebhookDelivery| !d.queued(),
                        async |_: &str| Ok::<bool, Problem>(true),
                    )
                    .await?
                    .0
            }
            None => Vec::new(),
        };
        Ok(ProfileView::new(p, show_secret, &latest))
    }

    /// `POST /api/webhooks/enable`: sends to the endpoint again after it
    /// answered 410 Gone (deliveries that failed meanwhile can be retried).
    pub async fn enable_webhook(&self, caller: &Principal) -> Result<ProfileView, Problem> {
        let partner = caller.partner_id()?;
        let saved = self
            .app
            .records()
            .update(
                &keys::profile(partner),
                |current: Option<PartnerProfile>| {
                    let mut p = current.filter(|p| p.webhook.is_some()).ok_or_else(|| {
                        Problem::new(
                            ProblemKind::InvalidState,
                            "no webhook endpoint is configured; set one with PUT /api/partner",
                        )
                    })?;
                    match p.webhook.as_mut().and_then(|w| w.disabled.take()) {
                        Some(_) => Ok(Edit::Write(p.clone(), p)),
                        None => Ok(Edit::Keep(p)),
                    }
                },
            )
            .await?;
        self.view(&saved, false).await
    }

    /// Disables the endpoint that answered 410 Gone, if it is still the
    /// partner's endpoint and enabled.
    pub(crate) async fn disable_webhook(&self, gone: &Gone) -> Result<(), Problem> {
        self.app
            .records()
            .update(
                &keys::profile(&gone.partner),
                |current: Option<PartnerProfile>| {
                    let Some(mut p) = current else {
                        return Ok(Edit::Keep(()));
                    };
                    match p.webhook.as_mut() {
                        Some(w) if w.url == gone.url && w.disabled.is_none() => {
                            w.disabled = Some(EndpointDisabled {
                                at: gone.at,
                                reason: format!(
                                    "it answered 410 Gone to delivery {}",
                                    gone.delivery_id
                                ),
                                delivery_id: gone.delivery_id.clone(),
                            });
                            Ok(Edit::Write(p, ()))
                        }
                        _ => Ok(Edit::Keep(())),
                    }
                },
            )
            .await
    }

    /// `PUT /api/partner`: replaces the profile; a new or rotated webhook
    /// secret is shown once. A single record: the swap is the whole change
    /// (on a first save, the last of two racing saves wins, as a `PUT` does).
    pub async fn put(
        &self,
        caller: &Principal,
        update: ProfileUpdate,
    ) -> Result<ProfileView, Problem> {
        let partner = caller.partner_id()?;
        let mut report = Report::new();
        let display_name =
            report.required_text("/display_name", update.display_name.as_deref(), MAX_TEXT);
        let mut accounts: Vec<String> = Vec::new();
        for (i, account) in update.billing_accounts.iter().enumerate() {
            let email = report.required_email(&format!("/billing_accounts/{i}"), Some(account));
            if !accounts.iter().any(|a| same_email(a, &email)) {
                accounts.push(email);
            }
        }
        if accounts.len() > 50 {
            report.push(
                "/billing_accounts",
                FieldRule::TooManyBillingAccounts { max: 50 },
            );
        }
        let url = update
            .webhook_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let url = url.and_then(|u| check_webhook_url(&mut report, u));
        report.finish().map_err(Problem::validation)?;

        let fresh_secret = webhook::new_secret(self.app.random.as_ref());
        let (saved, shown) = self
            .app
            .records()
            .update(
                &keys::profile(partner),
                |current: Option<PartnerProfile>| {
                    let current = current.unwrap_or_else(|| PartnerProfile::fallback(partner));
                    let webhook = url.clone().map(|url| match &current.webhook {
                        // Kept; unless it is the secret this request made, found
                        // again because another write overtook its swap: that
                        // one has not been shown yet.
                        Some(w) if w.url == url && !update.rotate_webhook_secret => {
                            (w.clone(), w.secret == fresh_secret)
                        }
                        _ => (
                            WebhookEndpoint {
                                url,
                                secret: fresh_secret.clone(),
                                disabled: None,
                            },
                            true,
                        ),
                    });
                    let shown = webhook.as_ref().is_some_and(|(_, new)| *new);
                    let next = PartnerProfile {
                        partner_id: partner.to_string(),
                        display_name: display_name.clone(),
                        billing_accounts: accounts.clone(),
                        webhook: webhook.map(|(w, _)| w),
                    };
                    Ok(Edit::Write(next.clone(), (next, shown)))
                },
            )
            .await?;
        self.view(&saved, shown).await
    }
}
