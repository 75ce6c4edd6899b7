//! The outbox: every email and webhook delivery, written with (or before)
//! the change it reports, delivered after that change has committed, and
//! kept with what became of it.
//!
//! An operation [`prepares`](Outbox::email) its items into its batch of
//! pre-commit writes with an entry of the redelivery index that watches them
//! ([`Outbox::watch`]), names their keys in its intent, commits, then
//! [`delivers`](Outbox::deliver) them: the first attempt. Items stay
//! `queued`, and out of every list, until then: one whose change never
//! committed is never sent. An attempt that fails schedules the next
//! ([`Schedule`](crate::domain::Schedule)) with an index entry written
//! before the item, and the [dispatcher](super::dispatch) makes it.
//! Delivery is at least once: a request that dies after sending and before
//! recording leaves the item as it was, and whoever finishes the commit (or
//! the dispatcher) sends it again (webhook receivers deduplicate by
//! `webhook-id`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::clock::rfc3339;
use crate::domain::schedule::{self, Verdict};
use crate::domain::{
    Audience, Deliverable, DeliveryAttempt, DeliveryId, DeliveryState, Due, Email, EmailId,
    EmailStatus, EndpointDisabled, EventType, PartnerProfile, Source, WebhookDelivery,
};
use crate::outbound::{Answer, Transport};
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Sequence, StoreError, Writes, keys, record};
use crate::view::DeliveryView;
use crate::webhook;

/// When a commit's items are looked at by the dispatcher, in case the
/// request died between its commit and its deliveries (seconds).
pub const RESCUE_AFTER: u64 = 60;

/// Emails and webhook deliveries.
pub struct Outbox<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// An item written before its commit, to deliver after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Prepared {
    /// An email, at its outbox key.
    Email(String, Email),
    /// A webhook delivery, at its key in the partner's deliveries.
    Delivery(String, WebhookDelivery),
}

impl Prepared {
    /// Adds the item, as it stands, to a batch.
    pub(crate) fn stage<S: KeyValue>(
        &self,
        records: crate::store::Records<'_, S>,
        writes: &mut Writes,
    ) -> Result<(), StoreError> {
        match self {
            Prepared::Email(key, email) => records.stage(writes, key.clone(), email),
            Prepared::Delivery(key, delivery) => records.stage(writes, key.clone(), delivery),
        }
    }

    /// Where it is stored.
    pub(crate) fn key(&self) -> &str {
        match self {
            Prepared::Email(key, _) | Prepared::Delivery(key, _) => key,
        }
    }

    /// The item.
    pub(crate) fn item(&self) -> &dyn Deliverable {
        match self {
            Prepared::Email(_, e) => e,
            Prepared::Delivery(_, d) => d,
        }
    }

    /// The item, to change.
    pub(crate) fn item_mut(&mut self) -> &mut dyn Deliverable {
        match self {
            Prepared::Email(_, e) => e,
            Prepared::Delivery(_, d) => d,
        }
    }

    /// What `key` holds, by the list it is in: an email in the outbox, a
    /// delivery anywhere else.
    pub(crate) fn decode(key: &str, value: Option<&[u8]>) -> Result<Option<Prepared>, StoreError> {
        let key = key.to_string();
        Ok(if key.starts_with("outbox/") {
            record::decode::<Email>(&key, value)?
                .record()
                .map(|e| Prepared::Email(key, e))
        } else {
            record::decode::<WebhookDelivery>(&key, value)?
                .record()
                .map(|d| Prepared::Delivery(key, d))
        })
    }
}

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

/// A partner endpoint that answered 410 Gone, to disable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gone {
    /// The partner.
    pub partner: String,
    /// The endpoint as the delivery was sent to it.
    pub url: String,
    /// The delivery.
    pub delivery_id: String,
    /// When it answered.
    pub at: u64,
}

/// Why nothing goes to a disabled endpoint, and what to do.
pub(crate) fn disabled_note(d: &EndpointDisabled) -> String {
    format!(
        "the endpoint is disabled since {}: {}; enable it again with POST /api/webhooks/enable",
        rfc3339(d.at),
        d.reason
    )
}

/// Where a delivery goes.
#[derive(Clone, Copy)]
struct To<'a> {
    audience: Audience,
    /// The partner whose change it reports.
    partner: &'a str,
    url: &'a str,
}

/// The keys of `items`, for an intent.
pub(crate) fn keys_of(items: &[Prepared]) -> Vec<String> {
    items.iter().map(|p| p.key().to_string()).collect()
}

impl<S: KeyValue, T: Transport> Outbox<'_, S, T> {
    /// Takes an outbox slot and stages a queued email reporting `source`.
    pub(crate) async fn email(
        &self,
        writes: &mut Writes,
        to: &str,
        subject: String,
        text: String,
        html: String,
        source: Source,
    ) -> Result<Prepared, Problem> {
        let records = self.app.records();
        let outbox = keys::outbox();
        let n = outbox.take(records, 1).await?.first;
        let email = Email {
            id: EmailId::new(n, self.app.random.as_ref()).to_string(),
            to: to.to_string(),
            subject,
            text,
            html: Some(html),
            created_at: self.app.now(),
            status: EmailStatus::Queued,
            source: Some(source),
            attempts: Vec::new(),
            next_attempt_at: None,
            claimed_until: None,
        };
        let key = outbox.slot(n);
        records.stage(writes, key.clone(), &email)?;
        Ok(Prepared::Email(key, email))
    }

    /// Stages the deliveries of a change's `event`: to the partner's
    /// endpoint, if it has one, and to the platform's, if there is one, with
    /// the platform's own events of the change (`feed`:
    /// `organization.registered`, `relationship.created`). The platform's
    /// slots are taken at once: one round trip however many events.
    pub(crate) async fn event(
        &self,
        writes: &mut Writes,
        profile: &PartnerProfile,
        event: EventType,
        data: serde_json::Value,
        source: Source,
        feed: Vec<(EventType, serde_json::Value)>,
    ) -> Result<Vec<Prepared>, Problem> {
        let mut items = Vec::new();
        let partner = profile.partner_id.as_str();
        if let Some(endpoint) = &profile.webhook {
            let to = To {
                audience: Audience::Partner,
                partner,
                url: &endpoint.url,
            };
            let payload =
                json!({ "type": event, "timestamp": rfc3339(self.app.now()), "data": data });
            let n = keys::deliveries(partner)
                .take(self.app.records(), 1)
                .await?
                .first;
            items.push(self.delivery(writes, to, n, event, payload, &source)?);
        }
        let Some(platform) = &self.app.config.platform else {
            return Ok(items);
        };
        let to = To {
            audience: Audience::Platform,
            partner,
            url: &platform.url,
        };
        let events: Vec<_> = std::iter::once((event, data)).chain(feed).collect();
        let taken = keys::platform_deliveries()
            .take(self.app.records(), events.len() as u64)
            .await?;
        for (i, (event, data)) in (0..).zip(events) {
            let payload = json!({
                "type": event,
                "timestamp": rfc3339(self.app.now()),
                "partner_id": partner,
                "data": data,
            });
            items.push(self.delivery(writes, to, taken.nth(i), event, payload, &source)?);
        }
        Ok(items)
    }

    /// Stages a queued delivery in slot `n` of the audience's list.
    fn delivery(
        &self,
        writes: &mut Writes,
        to: To<'_>,
        n: u64,
        event: EventType,
        payload: serde_json::Value,
        source: &Source,
    ) -> Result<Prepared, Problem> {
        let records = self.app.records();
        let list = match to.audience {
            Audience::Partner => keys::deliveries(to.partner),
            Audience::Platform => keys::platform_deliveries(),
        };
        let delivery = WebhookDelivery {
            id: DeliveryId::new(n, self.app.random.as_ref()).to_string(),
            partner_id: to.partner.to_string(),
            audience: to.audience,
            event,
            url: to.url.to_string(),
            payload: payload.to_string(),
            attempts: Vec::new(),
            source: Some(source.clone()),
            next_attempt_at: None,
            claimed_until: None,
        };
        let key = list.slot(n);
        records.stage(writes, key.clone(), &delivery)?;
        Ok(Prepared::Delivery(key, delivery))
    }

    /// Stages, with a commit's prepared items, an entry of the redelivery
    /// index that has the dispatcher look at them after [`RESCUE_AFTER`]:
    /// should the request die between its commit and its deliveries, and no
    /// later request meet the commit, they are still delivered.
    pub(crate) async fn watch(
        &self,
        writes: &mut Writes,
        items: &[Prepared],
    ) -> Result<(), Problem> {
        let keys = keys_of(items);
        if !keys.is_empty() {
            let at = self.app.now() + RESCUE_AFTER;
            let index = keys::due(at / 60);
            let n = index.take(self.app.records(), 1).await?.first;
            self.app
                .records()
                .stage(writes, index.slot(n), &Due { keys, at })?;
        }
        Ok(())
    }

    /// Deletes prepared items: their commit was refused. Lists leave them
    /// out either way; this leaves nothing to wait for.
    pub(crate) async fn abandon(&self, items: &[Prepared]) -> Result<(), Problem> {
        Ok(self.app.records().release(&keys_of(items)).await?)
    }

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

    /// `GET /api/webhooks/deliveries`: the partner's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, Problem> {
        self.list(keys::deliveries(caller.partner_id()?), page)
            .await
    }

    /// `GET /api/platform/deliveries`: every delivery to the platform's
    /// endpoint, newest first (operators).
    pub async fn list_platform_deliveries(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, Problem> {
        caller.require_operator()?;
        self.list(keys::platform_deliveries(), page).await
    }

    async fn list(&self, list: Sequence, page: PageRequest) -> Result<Page<DeliveryView>, Problem> {
        let (items, next_cursor) = list
            .page(
                self.app.records(),
                page,
                |d: &WebhookDelivery| !d.queued(),
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        Ok(Page {
            items: items.iter().map(DeliveryView::new).collect(),
            next_cursor,
        })
    }

    /// `POST /api/webhooks/deliveries/:id/retry`: sends a delivery again, to
    /// the partner's current endpoint with its current secret.
    pub async fn retry_delivery(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<DeliveryView, Problem> {
        let partner = caller.partner_id()?;
        let ready = match self.app.partners().profile(partner).await?.webhook {
            None => Err(Problem::new(
                ProblemKind::InvalidState,
                "no webhook endpoint is configured; set one with PUT /api/partner",
            )),
            Some(w) => match &w.disabled {
                Some(d) => Err(Problem::new(ProblemKind::InvalidState, disabled_note(d))),
                None => Ok(()),
            },
        };
        self.retry(keys::deliveries(partner), id, ready).await
    }

    /// `POST /api/platform/deliveries/:id/retry` (operators): sends a
    /// delivery to the platform again.
    pub async fn retry_platform_delivery(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<DeliveryView, Problem> {
        caller.require_operator()?;
        let ready = match &self.app.config.platform {
            Some(_) => Ok(()),
            None => Err(Problem::new(
                ProblemKind::InvalidState,
                "no platform endpoint is configured (platform_webhook_url)",
            )),
        };
        self.retry(keys::platform_deliveries(), id, ready).await
    }

    /// Sends the delivery `id` of `list` again now, if `ready`, and records
    /// the attempt; a retrying delivery keeps its schedule unless this one
    /// succeeds. An id not in `list` is not found, whatever the endpoint.
    async fn retry(
        &self,
        list: Sequence,
        id: &str,
        ready: Result<(), Problem>,
    ) -> Result<DeliveryView, Problem> {
        let not_found = || Problem::not_found("delivery");
        let id = DeliveryId::parse(id).ok_or_else(not_found)?;
        let key = list.slot(id.slot());
        let records = self.app.records();
        let delivery: WebhookDelivery = records
            .slot(&key)
            .await?
            .record()
            .filter(|d: &WebhookDelivery| id == *d.id && !d.queued())
            .ok_or_else(not_found)?;
        ready?;
        let mut item = Prepared::Delivery(key.clone(), delivery);
        let gone = self.attempt(&mut item, &mut Profiles::new(None)).await?;
        let Prepared::Delivery(_, tried) = item else {
            return Err(not_found());
        };
        let Some(attempt) = tried.attempts.last().cloned() else {
            return Err(not_found());
        };
        let saved = records
            .update(&key, |current: Option<WebhookDelivery>| {
                let mut d = current.ok_or_else(not_found)?;
                let next = if attempt.succeeded() || gone.is_some() {
                    None
                } else {
                    d.next_attempt_at
                };
                d.url = tried.url.clone();
                d.attempts.push(attempt.clone());
                d.next_attempt_at = next;
                Ok(crate::store::Edit::Write(d.clone(), d))
            })
            .await?;
        if let Some(g) = gone {
            self.disable(&[g]).await?;
        }
        Ok(DeliveryView::new(&saved))
    }

    /// `GET /api/outbox`: every email that was sent or recorded, newest
    /// first (operators only).
    pub async fn list_emails(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<Email>, Problem> {
        caller.require_operator()?;
        let (items, next_cursor) = keys::outbox()
            .page(
                self.app.records(),
                page,
                |e: &Email| e.status != EmailStatus::Queued,
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        Ok(Page {
            // What they report is the store's business, not the operator's.
            items: items
                .into_iter()
                .map(|e| Email {
                    source: None,
                    claimed_until: None,
                    ..e
                })
                .collect(),
            next_cursor,
        })
    }
}
