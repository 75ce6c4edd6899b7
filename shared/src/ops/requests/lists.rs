//! The two lists of requests: the partner's own, and the organization's
//! inbox of requests to it. Apart from the commits: they only read (and
//! finish what a reader meets unfinished).

use serde::Serialize;

use super::Requests;
use crate::auth::Principal;
use crate::domain::{ConnectionRequest, Locator, OrganizationId, RequestState};
use crate::ops::{Page, PageRequest};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, keys};
use crate::view::RequestView;

/// A request as the admin of the organization asked sees it: who asks.
#[derive(Debug, Serialize)]
pub struct InboxView {
    /// The request.
    #[serde(flatten)]
    pub request: RequestView,
    /// The asking partner.
    pub partner_id: String,
    /// Its name.
    pub partner_name: String,
}

impl<S: KeyValue, T: Transport> Requests<'_, S, T> {
    /// `GET /api/connections`: the partner's requests, newest first.
    pub async fn list(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<RequestView>, Problem> {
        let partner = caller.partner_id()?;
        let now = self.app.now();
        let requests = keys::requests(partner);
        let (items, next_cursor) = requests
            .page(
                self.app.records(),
                page,
                |r: &ConnectionRequest| r.state != RequestState::Refused,
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        let mut views = Vec::with_capacity(items.len());
        for r in items {
            let key = requests.slot(r.id.slot());
            let r = if r.state == RequestState::Proposed || r.intent.is_some() {
                self.settle(&key, r, None, None, false).await?
            } else {
                r
            };
            let r = self.refresh(&key, r).await?.record;
            if r.opened() {
                views.push(RequestView::new(&r, now));
            }
        }
        Ok(Page {
            items: views,
            next_cursor,
        })
    }

    /// `GET /api/organization/requests`: the requests to the admin's
    /// organization, who asks and what it would grant. `pending` (the
    /// default) answers every open one, from the organization's ledger; `all`
    /// a page of every request, newest first, the pending ones of the page
    /// first.
    pub async fn inbox(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InboxView>, Problem> {
        let org = caller.organization_id()?;
        let org_id =
            OrganizationId::parse(org).ok_or_else(|| Problem::not_found("organization"))?;
        let app = self.app;
        let now = app.now();
        let (locators, next_cursor): (Vec<Locator>, Option<String>) = match status {
            None | Some("pending") => {
                let ledger = app
                    .organizations()
                    .known(&org_id)
                    .await?
                    .map(|k| k.ledger)
                    .unwrap_or_default();
                let mut open: Vec<Locator> = ledger
                    .partners
                    .iter()
                    .filter_map(|(partner_id, e)| {
                        e.open_request
                            .as_ref()
                            .filter(|o| o.expires_at > now)
                            .map(|o| Locator {
                                partner_id: partner_id.clone(),
                                request_id: Some(o.id.clone()),
                            })
                    })
                    .collect();
                // Changes of existing relationships wait on the relationships.
                let connected: Vec<_> = ledger
                    .partners
                    .values()
                    .filter_map(|e| e.relationship.clone())
                    .collect();
                for r in app.relationships().records(&connected).await? {
                    if let Some(p) = r.pending_at(now) {
                        open.push(Locator {
                            partner_id: r.partner_id.clone(),
                            request_id: Some(p.request_id.clone()),
                        });
                    }
                }
                (open, None)
            }
            Some("all") => {
                keys::org_requests(org)
                    .page(
                        app.records(),
                        page,
                        |_: &Locator| true,
                        async |_: &str| Ok::<bool, Problem>(true),
                    )
                    .await?
            }
            Some(_) => {
                return Err(Problem::new(
                    ProblemKind::Malformed,
                    "status must be pending or all",
                ));
            }
        };
        let mut items = Vec::with_capacity(locators.len());
        for locator in locators {
            let Some(id) = &locator.request_id else {
                continue;
            };
            let (_, loaded) = self.load(&locator.partner_id, id.as_str()).await?;
            let Some(record) = loaded
                .map(|l| l.record)
                .filter(|r| r.opened() && r.organization_id == org_id)
            else {
                continue;
            };
            let profile = app.partners().profile(&record.partner_id).await?;
            items.push(InboxView {
                request: RequestView::new(&record, now),
                partner_id: record.partner_id.clone(),
                partner_name: profile.display_name,
            });
        }
        items.sort_by_key(|i| i.request.status != "pending");
        Ok(Page { items, next_cursor })
    }
}
