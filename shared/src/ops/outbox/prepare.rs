//! Staging: an operation's emails and deliveries, queued in its batch of
//! pre-commit writes with the redelivery entry that watches them. Apart
//! from delivery: nothing here sends; it only writes before a commit.

use serde_json::json;

use super::{Outbox, Prepared, RESCUE_AFTER, keys_of};
use crate::clock::rfc3339;
use crate::domain::{
    Audience, DeliveryId, Due, Email, EmailId, EmailStatus, EventType, PartnerProfile, Source,
    WebhookDelivery,
};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, Writes, keys};

/// Where a delivery goes.
#[derive(Clone, Copy)]
struct To<'a> {
    audience: Audience,
    /// The partner whose change it reports.
    partner: &'a str,
    url: &'a str,
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
}
