//! The two lists a relationship appears in: the partner's customers and
//! the organization's partners, each entry the relationship as it stands.
//! Apart because they are read on every page and written after every
//! transition.

use super::{Relationships, listed_at};
use crate::auth::Principal;
use crate::domain::{ListSlots, Relationship, RelationshipStatus};
use crate::ops::{Page, PageRequest};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Sequence, Writes, keys};
use crate::view::{CustomerView, PartnerView};

/// Which relationships a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Every one (the default).
    All,
    /// Only those of this status.
    Only(RelationshipStatus),
}

impl StatusFilter {
    /// Parses `?status=`: `active`, `ended` or `all`.
    pub fn parse(status: Option<&str>) -> Result<StatusFilter, Problem> {
        match status {
            None | Some("all") => Ok(StatusFilter::All),
            Some("active") => Ok(StatusFilter::Only(RelationshipStatus::Active)),
            Some("ended") => Ok(StatusFilter::Only(RelationshipStatus::Ended)),
            Some(_) => Err(Problem::new(
                ProblemKind::Malformed,
                "status must be active, ended or all",
            )),
        }
    }

    fn keeps(self, r: &Relationship) -> bool {
        match self {
            StatusFilter::All => true,
            StatusFilter::Only(status) => r.status == status,
        }
    }
}

impl<S: KeyValue, T: Transport> Relationships<'_, S, T> {
    /// `GET /api/customers`: the partner's customers, newest first.
    pub async fn customers(
        &self,
        caller: &Principal,
        status: StatusFilter,
        page: PageRequest,
    ) -> Result<Page<CustomerView>, Problem> {
        let partner = caller.partner_id()?;
        self.list(keys::customers(partner), status, page, CustomerView::new)
            .await
    }

    /// `GET /api/partners`: the partners of the admin's organization, newest first.
    pub async fn partners(
        &self,
        caller: &Principal,
        status: StatusFilter,
        page: PageRequest,
    ) -> Result<Page<PartnerView>, Problem> {
        let organization = caller.organization_id()?;
        self.list(
            keys::org_partners(organization),
            status,
            page,
            PartnerView::new,
        )
        .await
    }

    /// A page of one side's relationships, newest first, of `status`. The
    /// entries are the relationships as they stand: a transition replaces
    /// both with placeholders naming the relationship's record before it
    /// commits and fills them after, so a page that meets one has the
    /// record finish first.
    async fn list<V>(
        &self,
        side: Sequence,
        status: StatusFilter,
        page: PageRequest,
        view: fn(&Relationship, u64) -> V,
    ) -> Result<Page<V>, Problem> {
        let (items, next_cursor) = side
            .page(
                self.app.records(),
                page,
                |r: &Relationship| status.keeps(r),
                async |commit: &str| self.app.finish(commit).await,
            )
            .await?;
        let now = self.app.now();
        Ok(Page {
            items: items.iter().map(|r| view(r, now)).collect(),
            next_cursor,
        })
    }

    /// Stages `r` as it stands (without its history and intent) in its list
    /// slots.
    pub(super) fn stage_listed(
        &self,
        writes: &mut Writes,
        r: &Relationship,
        slots: ListSlots,
    ) -> Result<(), Problem> {
        // A list shows neither the history nor what is owed: an entry is
        // read on every page, the record only by `GET /api/relationships/:id`.
        let listed = Relationship {
            history: Vec::new(),
            intent: None,
            ..r.clone()
        };
        for key in listed_at(r, slots) {
            self.app.records().stage(writes, key, &listed)?;
        }
        Ok(())
    }

    /// Writes `r` as it stands into both its list slots.
    pub(super) async fn relist(&self, r: &Relationship) -> Result<(), Problem> {
        let Some(slots) = r.slots else {
            return Ok(());
        };
        let mut writes = Writes::new();
        self.stage_listed(&mut writes, r, slots)?;
        Ok(self.app.records().put_all(writes).await?)
    }
}
