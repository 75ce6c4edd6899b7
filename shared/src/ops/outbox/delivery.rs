//! Delivery: the attempts at queued items after their commit, what became
//! of them, and when the next is due. Apart as the one place that talks to
//! the mail relay and the webhook endpoints.

use serde_json::json;

use super::{Gone, Outbox, Prepared, disabled_note};
use crate::domain::schedule::{self, Verdict};
use crate::domain::{
    Audience, DeliveryAttempt, DeliveryState, Due, Email, EmailStatus, PartnerProfile,
    WebhookDelivery,
};
use crate::ops::App;
use crate::outbound::{Answer, Transport};
use crate::problem::Problem;
use crate::store::{KeyValue, Writes, keys};
use crate::webhook;

/// Partner profiles read once per request, for signing deliveries.
pub(crate) struct Profiles<'p> {
    given: Option<&'p PartnerProfile>,
    loaded: Vec<PartnerProfile>,
}

impl<'p> Profiles<'p> {
    /// The cache, with the profile the caller already has, if any.
    pub(crate) fn new(given: Option<&'p PartnerProfile>) -> Profiles<'p> {
        Profiles {
            given,
            loaded: Vec::new(),
        }
    }

    async fn get<S: KeyValue, T: Transport>(
        &mut self,
        app: &App<S, T>,
        partner: &str,
    ) -> Result<&PartnerProfile, Problem> {
        if let Some(p) = self.given.filter(|p| p.partner_id == partner) {
            return Ok(p);
        }
        let i = match self.loaded.iter().position(|p| p.partner_id == partner) {
            Some(i) => i,
            None => {
                self.loaded.push(app.partners().profile(partner).await?);
                self.loaded.len() - 1
            }
        };
        Ok(&self.loaded[i])
    }
}

impl<S: KeyValue, T: Transport> Outbox<'_, S, T> {
    /// Makes the first attempt at each of `items` that is still queued, and
    /// records what became of them: redelivery entries for those that failed
    /// first, then the items in one write. Answers the emails as they now
    /// stand. `profile` is the partner's, when known (webhooks are signed
    /// with its current secret).
    pub(crate) async fn deliver(
        &self,
        items: Vec<Prepared>,
        profile: Option<&PartnerProfile>,
    ) -> Result<Vec<Email>, Problem> {
        self.deliver_with(items, profile, Writes::new()).await
    }

    /// [`deliver`](Self::deliver), writing the items in one batch with
    /// `writes`: other idempotent writes a commit owes (its list entries),
    /// so that what follows a commit costs the store one transaction.
    pub(crate) async fn deliver_with(
        &self,
        items: Vec<Prepared>,
        profile: Option<&PartnerProfile>,
        mut writes: Writes,
    ) -> Result<Vec<Email>, Problem> {
        let records = self.app.records();
        let mut profiles = Profiles::new(profile);
        let (mut queued, mut rest): (Vec<Prepared>, Vec<Prepared>) = items
            .into_iter()
            .partition(|i| i.item().state() == DeliveryState::Queued);
        let mut gone = Vec::new();
        for item in &mut queued {
            gone.extend(self.attempt(item, &mut profiles).await?);
        }
        self.schedule(queued.iter()).await?;
        for item in &queued {
            item.stage(records, &mut writes)?;
        }
        records.put_all(writes).await?;
        self.disable(&gone).await?;
        queued.append(&mut rest);
        Ok(queued
            .into_iter()
            .filter_map(|i| match i {
                Prepared::Email(_, email) => Some(email),
                Prepared::Delivery(..) => None,
            })
            .collect())
    }

    /// Delivers the items at `keys` that are still queued (for a request
    /// finishing another's commit).
    pub(crate) async fn deliver_keys(&self, keys: &[String]) -> Result<Vec<Email>, Problem> {
        self.deliver_keys_with(keys, Writes::new()).await
    }

    /// [`deliver_keys`](Self::deliver_keys), writing the items in one batch
    /// with `writes` (see [`deliver_with`](Self::deliver_with)).
    pub(crate) async fn deliver_keys_with(
        &self,
        keys: &[String],
        writes: Writes,
    ) -> Result<Vec<Email>, Problem> {
        let items = if keys.is_empty() {
            Vec::new()
        } else {
            self.read(keys).await?.into_iter().flatten().collect()
        };
        self.deliver_with(items, None, writes).await
    }

    /// The items at `keys`, in order (`None` where there is none).
    pub(crate) async fn read(&self, keys: &[String]) -> Result<Vec<Option<Prepared>>, Problem> {
        let found = self.app.records().read_many(keys).await?;
        keys.iter()
            .zip(found)
            .map(|(key, value)| Ok(Prepared::decode(key, value.as_deref())?))
            .collect()
    }

    /// Makes one attempt at `item` now and records it in the item, with when
    /// the next is due. Answers the endpoint to disable if it answered 410.
    pub(crate) async fn attempt(
        &self,
        item: &mut Prepared,
        profiles: &mut Profiles<'_>,
    ) -> Result<Option<Gone>, Problem> {
        let app = self.app;
        let made = item.item().attempts().len() + 1;
        let (attempt, retry_after, verdict) = match item {
            Prepared::Email(_, email) => {
                let Some(url) = &app.config.mail_relay_url else {
                    email.status = EmailStatus::Recorded;
                    email.next_attempt_at = None;
                    email.claimed_until = None;
                    return Ok(None);
                };
                let mut body =
                    json!({ "to": email.to, "subject": email.subject, "text": email.text });
                if let Some(html) = &email.html {
                    body["html"] = json!(html);
                }
                let body = body.to_string();
                let headers = [("content-type", "application/json".to_string())];
                let (attempt, retry_after) = self.post(url, &headers, body.as_bytes()).await;
                // A relay's 410 is one more failure: the relay is not a receiver to stop.
                let verdict = match Verdict::of(attempt.status) {
                    Verdict::Gone => Verdict::Retry,
                    v => v,
                };
                (attempt, retry_after, verdict)
            }
            Prepared::Delivery(_, delivery) => match self.target(delivery, profiles).await? {
                Ok((url, secret)) => {
                    delivery.url = url;
                    let (attempt, retry_after) = self.sign_and_post(delivery, &secret).await;
                    let verdict = Verdict::of(attempt.status);
                    (attempt, retry_after, verdict)
                }
                Err(why) => (
                    DeliveryAttempt {
                        at: app.now(),
                        status: None,
                        error: Some(why),
                        duration_ms: 0,
                    },
                    None,
                    Verdict::Gone,
                ),
            },
        };
        let next = match verdict {
            Verdict::Retry => {
                app.config
                    .schedule
                    .next(made, app.now(), retry_after, app.random.u64())
            }
            Verdict::Delivered | Verdict::Gone => None,
        };
        let gone = match (&*item, attempt.status) {
            (Prepared::Delivery(_, d), Some(410)) if d.audience == Audience::Partner => {
                Some(Gone {
                    partner: d.partner_id.clone(),
                    url: d.url.clone(),
                    delivery_id: d.id.clone(),
                    at: attempt.at,
                })
            }
            _ => None,
        };
        item.item_mut().record(attempt, next);
        Ok(gone)
    }

    /// Where a delivery goes now, with the secret to sign it: the platform's
    /// endpoint, or its partner's current one; or why it goes nowhere.
    async fn target(
        &self,
        delivery: &WebhookDelivery,
        profiles: &mut Profiles<'_>,
    ) -> Result<Result<(String, String), String>, Problem> {
        Ok(match delivery.audience {
            Audience::Platform => match &self.app.config.platform {
                Some(p) => Ok((p.url.clone(), p.secret.clone())),
                None => Err("the platform's endpoint is not configured any more".into()),
            },
            Audience::Partner => {
                let profile = profiles.get(self.app, &delivery.partner_id).await?;
                match &profile.webhook {
                    None => Err("the endpoint is not configured any more".into()),
                    Some(w) => match &w.disabled {
                        Some(d) => Err(disabled_note(d)),
                        None => Ok((w.url.clone(), w.secret.clone())),
                    },
                }
            }
        })
    }

    /// Writes the redelivery entries of `items` that are retrying, one per
    /// minute they fall due in: before the items, so that no retrying item
    /// is ever without one.
    pub(crate) async fn schedule<'i>(
        &self,
        items: impl Iterator<Item = &'i Prepared>,
    ) -> Result<(), Problem> {
        let mut minutes: Vec<(u64, Due)> = Vec::new();
        for item in items {
            let Some(at) = item.item().next_attempt_at() else {
                continue;
            };
            match minutes.iter_mut().find(|(m, _)| *m == at / 60) {
                Some((_, due)) => {
                    due.keys.push(item.key().to_string());
                    due.at = due.at.min(at);
                }
                None => minutes.push((
                    at / 60,
                    Due {
                        keys: vec![item.key().to_string()],
                        at,
                    },
                )),
            }
        }
        let records = self.app.records();
        let mut writes = Writes::new();
        for (minute, due) in minutes {
            let index = keys::due(minute);
            let n = index.take(records, 1).await?.first;
            records.stage(&mut writes, index.slot(n), &due)?;
        }
        Ok(records.put_all(writes).await?)
    }

    /// Disables the endpoints that answered 410 Gone, if they are still the
    /// partners' endpoints.
    pub(crate) async fn disable(&self, gone: &[Gone]) -> Result<(), Problem> {
        for g in gone {
            self.app.partners().disable_webhook(g).await?;
        }
        Ok(())
    }

    /// One POST, timed: the attempt and the `Retry-After` it asked for.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> (DeliveryAttempt, Option<u64>) {
        let clock = &self.app.clock;
        let (at, started) = (clock.now(), clock.now_ms());
        let answer = self.app.transport.post(url, headers, body).await;
        let duration_ms = clock.now_ms().saturating_sub(started);
        match answer {
            Ok(Answer {
                status,
                retry_after,
            }) => (
                DeliveryAttempt {
                    at,
                    status: Some(status),
                    error: None,
                    duration_ms,
                },
                retry_after.and_then(|v| schedule::retry_after(&v, at)),
            ),
            Err(error) => (
                DeliveryAttempt {
                    at,
                    status: None,
                    error: Some(error),
                    duration_ms,
                },
                None,
            ),
        }
    }

    /// One signed POST of a delivery's payload.
    async fn sign_and_post(
        &self,
        delivery: &WebhookDelivery,
        secret: &str,
    ) -> (DeliveryAttempt, Option<u64>) {
        let at = self.app.now();
        let body = delivery.payload.as_bytes();
        let Some(signature) = webhook::sign(secret, &delivery.id, at, body) else {
            return (
                DeliveryAttempt {
                    at,
                    status: None,
                    error: Some("the endpoint secret is malformed".into()),
                    duration_ms: 0,
                },
                None,
            );
        };
        let headers = [
            ("content-type", "application/json".to_string()),
            ("webhook-id", delivery.id.clone()),
            ("webhook-timestamp", at.to_string()),
            ("webhook-signature", signature),
        ];
        self.post(&delivery.url, &headers, body).await
    }
}
