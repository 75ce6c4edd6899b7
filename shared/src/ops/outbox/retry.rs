//! Retrying by hand: one delivery sent again at once, to its endpoint as it
//! now stands. Apart from the scheduled retries, which the dispatcher makes.

use super::Profiles;
use super::{Outbox, Prepared, disabled_note};
use crate::auth::Principal;
use crate::domain::{DeliveryId, WebhookDelivery};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Sequence, keys};
use crate::view::DeliveryView;

impl<S: KeyValue, T: Transport> Outbox<'_, S, T> {
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
}
