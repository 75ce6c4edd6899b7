//! A partner's own settings.

use serde::{Deserialize, Serialize};

use super::App;
use crate::auth::Principal;
use crate::domain::{PartnerProfile, WebhookEndpoint};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, keys};
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
}

impl ProfileView {
    fn new(p: &PartnerProfile, show_secret: bool) -> ProfileView {
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
                report.push(pointer, "must be an https URL (http only to localhost)");
            }
            Some(u.to_string())
        }
        Err(e) => {
            report.push(pointer, format!("is not a URL: {e}"));
            None
        }
    }
}

/// Partner profiles.
pub struct Partners<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Partners<'_, S, T> {
    /// The partner's profile, or the fallback before it saved one.
    pub async fn profile(&self, partner: &str) -> Result<PartnerProfile, Problem> {
        Ok(self
            .app
            .records()
            .get(&keys::profile(partner))
            .await?
            .unwrap_or_else(|| PartnerProfile::fallback(partner)))
    }

    /// `GET /api/partner`.
    pub async fn get(&self, caller: &Principal) -> Result<ProfileView, Problem> {
        Ok(ProfileView::new(
            &self.profile(caller.partner_id()?).await?,
            false,
        ))
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
            report.push("/billing_accounts", "at most 50 billing accounts");
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
                        Some(w) if w.url == url && !update.rotate_webhook_secret => {
                            (w.clone(), false)
                        }
                        _ => (
                            WebhookEndpoint {
                                url,
                                secret: fresh_secret.clone(),
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
        Ok(ProfileView::new(&saved, shown))
    }
}
