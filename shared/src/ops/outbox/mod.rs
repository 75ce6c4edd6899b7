//! The outbox: every email and webhook delivery, written with (or before)
//! the change it reports, delivered after that change has committed, and
//! kept with what became of it.
//!
//! An operation prepares (`Outbox::email`) its items into its batch of
//! pre-commit writes with an entry of the redelivery index that watches them
//! (`Outbox::watch`), names their keys in its intent, commits, then
//! delivers (`Outbox::deliver`) them: the first attempt. Items stay
//! `queued`, and out of every list, until then: one whose change never
//! committed is never sent. An attempt that fails schedules the next
//! ([`Schedule`](crate::domain::Schedule)) with an index entry written
//! before the item, and the [dispatcher](super::dispatch) makes it.
//! Delivery is at least once: a request that dies after sending and before
//! recording leaves the item as it was, and whoever finishes the commit (or
//! the dispatcher) sends it again (webhook receivers deduplicate by
//! `webhook-id`).
//!
//! | file | what it holds |
//! |---|---|
//! | `prepare.rs` | staging emails and deliveries into a commit's batch |
//! | `delivery.rs` | the attempts: sending, recording, scheduling the next |
//! | `lists.rs` | the deliveries and emails as partners and operators list them |
//! | `retry.rs` | sending one delivery again by hand |

mod delivery;
mod lists;
mod prepare;
mod retry;

pub(crate) use delivery::Profiles;

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::domain::{Deliverable, Email, EndpointDisabled, WebhookDelivery};
use crate::ops::App;
use crate::store::{KeyValue, StoreError, Writes, record};

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

/// The keys of `items`, for an intent.
pub(crate) fn keys_of(items: &[Prepared]) -> Vec<String> {
    items.iter().map(|p| p.key().to_string()).collect()
}
