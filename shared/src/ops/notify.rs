//! Emails and webhook events. Both are recorded before anything else can go
//! wrong, so a relay or endpoint failure is visible and retryable, never lost.
//! They run after an operation has committed: their failures are recorded,
//! never turned into an error for a request whose change already happened.

use serde_json::json;

use super::{App, Page, PageRequest};
use crate::clock::rfc3339;
use crate::domain::{
    DeliveryAttempt, Email, EmailStatus, EventType, PartnerProfile, WebhookDelivery,
};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{self, KeyValue, keys};
use crate::view::DeliveryView;
use crate::webhook;

impl<S: KeyValue, T: Transport> App<S, T> {
    /// Sends an email through the relay, or records it when there is none,
    /// and keeps it in the outbox either way.
    pub(crate) async fn send_email(&self, to: &str, subject: String, text: String) -> Email {
        let now = self.now();
        let status = match &self.config.mail_relay_url {
            None => EmailStatus::Recorded,
            Some(url) => {
                let body = json!({ "to": to, "subject": subject, "text": text }).to_string();
                match self
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
        };
        let mut email = Email {
            id: String::new(),
            to: to.to_string(),
            subject,
            text,
            created_at: now,
            status,
        };
        match store::next_in_sequence(&self.store, &keys::outbox_seq()).await {
            Ok(n) => {
                email.id = self.sequenced_id("eml", n);
                if let Err(e) = store::put_json(&self.store, &keys::outbox(n), &email).await {
                    eprintln!("outbox: could not record email {}: {e}", email.id);
                }
            }
            Err(e) => eprintln!("outbox: could not number an email to {to}: {e}"),
        }
        email
    }

    /// Delivers `event` to the partner's webhook endpoint, if it has one, and
    /// records the delivery and its first attempt.
    pub(crate) async fn emit(
        &self,
        profile: &PartnerProfile,
        event: EventType,
        data: serde_json::Value,
    ) {
        let Some(endpoint) = &profile.webhook else {
            return;
        };
        let partner = &profile.partner_id;
        let n = match store::next_in_sequence(&self.store, &keys::delivery_seq(partner)).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("webhook: could not number a delivery for {partner}: {e}");
                return;
            }
        };
        let payload =
            json!({ "type": event, "timestamp": rfc3339(self.now()), "data": data }).to_string();
        let mut delivery = WebhookDelivery {
            id: self.sequenced_id("msg", n),
            partner_id: partner.clone(),
            event,
            url: endpoint.url.clone(),
            payload,
            attempts: Vec::new(),
        };
        delivery
            .attempts
            .push(self.attempt(&delivery, &endpoint.secret).await);
        if let Err(e) = store::put_json(&self.store, &keys::delivery(partner, n), &delivery).await {
            eprintln!("webhook: could not record delivery {}: {e}", delivery.id);
        }
    }

    async fn attempt(&self, delivery: &WebhookDelivery, secret: &str) -> DeliveryAttempt {
        let at = self.now();
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
        match self.transport.post(&delivery.url, &headers, body).await {
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

    /// A partner's webhook deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, Problem> {
        let (items, next_cursor) = self
            .page::<WebhookDelivery>(
                &keys::delivery_seq(partner),
                |n| keys::delivery(partner, n),
                page,
                |_| true,
            )
            .await?;
        Ok(Page {
            items: items.iter().map(DeliveryView::new).collect(),
            next_cursor,
        })
    }

    /// Sends a delivery again, to the partner's current endpoint with its current secret.
    pub async fn retry_delivery(&self, partner: &str, id: &str) -> Result<DeliveryView, Problem> {
        let n = super::sequence_of(id, "msg").ok_or_else(|| Problem::not_found("delivery"))?;
        let key = keys::delivery(partner, n);
        let delivery: WebhookDelivery = store::get_json(&self.store, &key)
            .await?
            .filter(|d: &WebhookDelivery| d.id == id)
            .ok_or_else(|| Problem::not_found("delivery"))?;
        let profile = self.profile(partner).await?;
        let endpoint = profile.webhook.ok_or_else(|| {
            Problem::new(
                ProblemKind::InvalidState,
                "no webhook endpoint is configured; set one with PUT /api/partner",
            )
        })?;
        let mut retried = delivery.clone();
        retried.url = endpoint.url.clone();
        let attempt = self.attempt(&retried, &endpoint.secret).await;
        let (saved, ()) = store::update(&self.store, &key, |current: Option<WebhookDelivery>| {
            let mut d = current.ok_or_else(|| Problem::not_found("delivery"))?;
            d.url = endpoint.url.clone();
            d.attempts.push(attempt.clone());
            Ok((d, ()))
        })
        .await?;
        Ok(DeliveryView::new(&saved))
    }

    /// The outbox, newest first (operators only).
    pub async fn list_outbox(&self, page: PageRequest) -> Result<Page<Email>, Problem> {
        let (items, next_cursor) = self
            .page::<Email>(&keys::outbox_seq(), keys::outbox, page, |_| true)
            .await?;
        Ok(Page { items, next_cursor })
    }
}
