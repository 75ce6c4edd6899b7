//! Paged lists over sequences, and the relationship lists built on them.
//!
//! A page reads the sequence counter and its slots with one get-many,
//! so its cost does not depend on how many records the store holds. A
//! filtered page reads at most [`MAX_FILTER_BATCHES`] batches of slots and
//! may come back short; `next_cursor` continues where it stopped.

use serde::de::DeserializeOwned;

use super::{App, Page, PageRequest};
use crate::domain::Relationship;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{self, KeyValue, keys};
use crate::view::{CustomerView, PartnerView};

/// How many batches of slots a filtered page may read.
pub const MAX_FILTER_BATCHES: usize = 4;

impl<S: KeyValue, T: Transport> App<S, T> {
    /// One page of the sequence at `seq_key`, newest first, keeping records for which `keep` holds.
    pub(crate) async fn page<R: DeserializeOwned>(
        &self,
        seq_key: &str,
        key_of: impl Fn(u64) -> String,
        page: PageRequest,
        keep: impl Fn(&R) -> bool,
    ) -> Result<(Vec<R>, Option<String>), Problem> {
        let top = store::read_counter(&self.store, seq_key).await?;
        let mut items = Vec::new();
        let mut cursor = page.before;
        for _ in 0..MAX_FILTER_BATCHES {
            let request = PageRequest {
                limit: page.limit - items.len(),
                before: cursor,
            };
            let slots = request.slots(top);
            let Some(&lowest) = slots.last() else {
                cursor = None;
                break;
            };
            let keys: Vec<String> = slots.iter().map(|n| key_of(*n)).collect();
            let records: Vec<R> = store::get_many_json(&self.store, &keys).await?;
            items.extend(records.into_iter().filter(|r| keep(r)));
            cursor = (lowest > 1).then_some(lowest);
            if cursor.is_none() || items.len() >= page.limit {
                break;
            }
        }
        Ok((items, cursor.map(|c| c.to_string())))
    }

    /// `GET /api/customers`: the partner's customers, newest first.
    pub async fn list_customers(
        &self,
        partner: &str,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem> {
        let (items, next_cursor) = self
            .page::<Relationship>(
                &keys::customer_seq(partner),
                |n| keys::customer(partner, n),
                page,
                |_| true,
            )
            .await?;
        Ok(Page {
            items: items.iter().map(CustomerView::new).collect(),
            next_cursor,
        })
    }

    /// `GET /api/partners`: the partners of an organization, newest first.
    pub async fn list_partners(
        &self,
        organization: &str,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem> {
        let (items, next_cursor) = self
            .page::<Relationship>(
                &keys::org_partner_seq(organization),
                |n| keys::org_partner(organization, n),
                page,
                |_| true,
            )
            .await?;
        Ok(Page {
            items: items.iter().map(PartnerView::new).collect(),
            next_cursor,
        })
    }

    /// Writes a new relationship into both lists. The pair key was claimed
    /// by the caller, so this runs at most once per partner and organization.
    pub(crate) async fn record_relationship(
        &self,
        relationship: &Relationship,
    ) -> Result<(), Problem> {
        let partner = &relationship.partner_id;
        let organization = &relationship.organization_id;
        let n = store::next_in_sequence(&self.store, &keys::customer_seq(partner)).await?;
        store::put_json(&self.store, &keys::customer(partner, n), relationship).await?;
        let m = store::next_in_sequence(&self.store, &keys::org_partner_seq(organization)).await?;
        store::put_json(
            &self.store,
            &keys::org_partner(organization, m),
            relationship,
        )
        .await?;
        Ok(())
    }
}
