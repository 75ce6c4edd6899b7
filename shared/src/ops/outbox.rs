//! The outbox: every email and webhook delivery, written with (or before)
//! the change it reports, delivered after that change has committed, and
//! kept with what became of it.
//!
//! An operation [`prepares`](Outbox::email) its items into its batch of
//! pre-commit writes, names their keys in its intent, commits, then
//! [`delivers`](Outbox::deliver) them. Items stay `queued`, and out of every
//! list, until delivered: one whose change never committed is never sent.
//! Delivery is at least once: a request that dies after sending and before
//! recording leaves the item queued, and whoever finishes the commit sends it
//! again (webhook receivers deduplicate by `webhook-id`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::clock::rfc3339;
use crate::domain::{
    Audience, DeliveryAttempt, DeliveryId, Email, EmailId, EmailStatus, EventType, PartnerProfile,
    Source, WebhookDelivery,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Sequence, Slot, StoreError, Writes, keys, record};
use crate::view::DeliveryView;
use crate::webhook;

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
}

/// Where a delivery goes.
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
            created_at: self.app.now(),
            status: EmailStatus::Queued,
            source: Some(source),
        };
        let key = outbox.slot(n);
        records.stage(writes, key.clone(), &email)?;
        Ok(Prepared::Email(key, email))
    }

    /// Stages the webhook deliveries of a partner's `event`: to the
    /// partner's endpoint, if it has one, and to the platform's, if there is
    /// one. Each takes a slot of its own list.
    pub(crate) async fn event(
        &self,
        writes: &mut Writes,
        profile: &PartnerProfile,
        event: EventType,
        data: serde_json::Value,
        source: Source,
    ) -> Result<Vec<Prepared>, Problem> {
        let mut items = Vec::new();
        if let Some(endpoint) = &profile.webhook {
            let to = To {
                audience: Audience::Partner,
                partner: &profile.partner_id,
                url: &endpoint.url,
            };
            let payload =
                json!({ "type": event, "timestamp": rfc3339(self.app.now()), "data": data });
            items.push(self.delivery(writes, to, event, payload, &source).await?);
        }
        items.extend(
            self.platform_event(writes, &profile.partner_id, event, data, source)
                .await?,
        );
        Ok(items)
    }

    /// Stages the delivery of `event` to the platform's endpoint, if there
    /// is one: every partner's events, and the platform's own
    /// (`organization.registered`, `relationship.created`). The payload names
    /// the partner.
    pub(crate) async fn platform_event(
        &self,
        writes: &mut Writes,
        partner: &str,
        event: EventType,
        data: serde_json::Value,
        source: Source,
    ) -> Result<Option<Prepared>, Problem> {
        let Some(platform) = &self.app.config.platform else {
            return Ok(None);
        };
        let to = To {
            audience: Audience::Platform,
            partner,
            url: &platform.url,
        };
        let payload = json!({
            "type": event,
            "timestamp": rfc3339(self.app.now()),
            "partner_id": partner,
            "data": data,
        });
        self.delivery(writes, to, event, payload, &source)
            .await
            .map(Some)
    }

    /// Takes a slot in the audience's list and stages a queued delivery.
    async fn delivery(
        &self,
        writes: &mut Writes,
        to: To<'_>,
        event: EventType,
        payload: serde_json::Value,
        source: &Source,
    ) -> Result<Prepared, Problem> {
        let records = self.app.records();
        let list = match to.audience {
            Audience::Partner => keys::deliveries(to.partner),
            Audience::Platform => keys::platform_deliveries(),
        };
        let n = list.take(records, 1).await?.first;
        let delivery = WebhookDelivery {
            id: DeliveryId::new(n, self.app.random.as_ref()).to_string(),
            partner_id: to.partner.to_string(),
            audience: to.audience,
            event,
            url: to.url.to_string(),
            payload: payload.to_string(),
            attempts: Vec::new(),
            source: Some(source.clone()),
        };
        let key = list.slot(n);
        records.stage(writes, key.clone(), &delivery)?;
        Ok(Prepared::Delivery(key, delivery))
    }

    /// Deletes prepared items: their commit was refused. Lists leave them
    /// out either way; this leaves nothing to wait for.
    pub(crate) async fn abandon(&self, items: &[Prepared]) -> Result<(), Problem> {
        Ok(self.app.records().release(&keys_of(items)).await?)
    }

    /// Delivers `items` that are still queued and records what became of
    /// each in one write; answers the emails as they now stand. `profile` is
    /// the partner's, when known (webhooks are signed with its current secret).
    pub(crate) async fn deliver(
        &self,
        items: Vec<Prepared>,
        profile: Option<&PartnerProfile>,
    ) -> Result<Vec<Email>, Problem> {
        let mut writes = Writes::new();
        let mut emails = Vec::new();
        let records = self.app.records();
        let mut loaded: Option<PartnerProfile> = None;
        for item in items {
            match item {
                Prepared::Email(key, mut email) => {
                    if email.status == EmailStatus::Queued {
                        email.status = self.send_email(&email).await;
                        records.stage(&mut writes, key, &email)?;
                    }
                    emails.push(email);
                }
                Prepared::Delivery(key, mut delivery) => {
                    if !delivery.queued() {
                        continue;
                    }
                    let endpoint = match delivery.audience {
                        Audience::Platform => self
                            .app
                            .config
                            .platform
                            .as_ref()
                            .map(|p| (p.url.clone(), p.secret.clone())),
                        Audience::Partner => {
                            let profile = match profile {
                                Some(p) if p.partner_id == delivery.partner_id => p,
                                _ => &*loaded.insert(
                                    self.app.partners().profile(&delivery.partner_id).await?,
                                ),
                            };
                            profile
                                .webhook
                                .as_ref()
                                .map(|w| (w.url.clone(), w.secret.clone()))
                        }
                    };
                    let attempt = match endpoint {
                        Some((url, secret)) => {
                            delivery.url = url;
                            self.attempt(&delivery, &secret).await
                        }
                        None => DeliveryAttempt {
                            at: self.app.now(),
                            status: None,
                            error: Some("the endpoint is not configured any more".into()),
                        },
                    };
                    delivery.attempts.push(attempt);
                    records.stage(&mut writes, key, &delivery)?;
                }
            }
        }
        records.put_all(writes).await?;
        Ok(emails)
    }

    /// Delivers the items at `keys` that are still queued (for a request
    /// finishing another's commit).
    pub(crate) async fn deliver_keys(&self, keys: &[String]) -> Result<Vec<Email>, Problem> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.app.records().read_many(keys).await?;
        let mut items = Vec::new();
        for (key, value) in keys.iter().zip(found) {
            if key.starts_with("outbox/") {
                if let Slot::Record(email) = record::decode::<Email>(key, value.as_deref())? {
                    items.push(Prepared::Email(key.clone(), email));
                }
            } else if let Slot::Record(delivery) =
                record::decode::<WebhookDelivery>(key, value.as_deref())?
            {
                items.push(Prepared::Delivery(key.clone(), delivery));
            }
        }
        self.deliver(items, None).await
    }

    /// Hands an email to the relay, or records it when there is none.
    async fn send_email(&self, email: &Email) -> EmailStatus {
        let Some(url) = &self.app.config.mail_relay_url else {
            return EmailStatus::Recorded;
        };
        let body =
            json!({ "to": email.to, "subject": email.subject, "text": email.text }).to_string();
        match self
            .app
            .transport
            .post(
                url,
                &[("content-type", "application/json".to_string())],
                body.as_bytes(),
            )
            .await
        {
            Ok(s) if (200..300).contains(&s) => EmailStatus::Sent { relay_status: s },
            Ok(s) => EmailStatus::Failed {
                error: format!("relay answered {s}"),
            },
            Err(e) => EmailStatus::Failed { error: e },
        }
    }

    /// One signed POST of a delivery's payload.
    async fn attempt(&self, delivery: &WebhookDelivery, secret: &str) -> DeliveryAttempt {
        let at = self.app.now();
        let body = delivery.payload.as_bytes();
        let Some(signature) = webhook::sign(secret, &delivery.id, at, body) else {
            return DeliveryAttempt {
                at,
                status: None,
                error: Some("the endpoint secret is malformed".into()),
            };
        };
        let headers = [
            ("content-type", "application/json".to_string()),
            ("webhook-id", delivery.id.clone()),
            ("webhook-timestamp", at.to_string()),
            ("webhook-signature", signature),
        ];
        match self.app.transport.post(&delivery.url, &headers, body).await {
            Ok(status) => DeliveryAttempt {
                at,
                status: Some(status),
                error: None,
            },
            Err(error) => DeliveryAttempt {
                at,
                status: None,
                error: Some(error),
            },
        }
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
        let endpoint = self
            .app
            .partners()
            .profile(partner)
            .await?
            .webhook
            .map(|w| (w.url, w.secret))
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::InvalidState,
                    "no webhook endpoint is configured; set one with PUT /api/partner",
                )
            });
        self.retry(keys::deliveries(partner), id, endpoint).await
    }

    /// `POST /api/platform/deliveries/:id/retry` (operators): sends a
    /// delivery to the platform again.
    pub async fn retry_platform_delivery(
        &self,
        caller: &Principal,
        id: &str,
    ) -> Result<DeliveryView, Problem> {
        caller.require_operator()?;
        let endpoint = self
            .app
            .config
            .platform
            .as_ref()
            .map(|p| (p.url.clone(), p.secret.clone()))
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::InvalidState,
                    "no platform endpoint is configured (platform_webhook_url)",
                )
            });
        self.retry(keys::platform_deliveries(), id, endpoint).await
    }

    /// Sends the delivery `id` of `list` again to `(url, secret)`, and
    /// records the attempt. An id not in `list` is not found, whatever the
    /// endpoint.
    async fn retry(
        &self,
        list: Sequence,
        id: &str,
        endpoint: Result<(String, String), Problem>,
    ) -> Result<DeliveryView, Problem> {
        let not_found = || Problem::not_found("delivery");
        let id = DeliveryId::parse(id).ok_or_else(not_found)?;
        let key = list.slot(id.slot());
        let records = self.app.records();
        let mut delivery: WebhookDelivery = records
            .slot(&key)
            .await?
            .record()
            .filter(|d: &WebhookDelivery| id == *d.id && !d.queued())
            .ok_or_else(not_found)?;
        let (url, secret) = endpoint?;
        delivery.url = url.clone();
        let attempt = self.attempt(&delivery, &secret).await;
        let saved = records
            .update(&key, |current: Option<WebhookDelivery>| {
                let mut d = current.ok_or_else(not_found)?;
                d.url = url.clone();
                d.attempts.push(attempt.clone());
                Ok(crate::store::Edit::Write(d.clone(), d))
            })
            .await?;
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
                .map(|e| Email { source: None, ..e })
                .collect(),
            next_cursor,
        })
    }
}
