//! The lists: a partner's deliveries, the platform's, and the emails, as
//! the API pages them. Apart because they only read.

use super::Outbox;
use crate::auth::Principal;
use crate::domain::{Email, EmailStatus, WebhookDelivery};
use crate::ops::{Page, PageRequest};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{KeyValue, Sequence, keys};
use crate::view::DeliveryView;

impl<S: KeyValue, T: Transport> Outbox<'_, S, T> {
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
