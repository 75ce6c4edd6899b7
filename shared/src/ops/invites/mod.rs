//! A partner's invites: create, resend, revoke, read and list.
//!
//! Creating writes the invite email and the `invite.created` delivery first
//! (queued), then the invite under a fresh slot (the commit, naming them in
//! its intent), then delivers them and clears the intent. Resend and revoke
//! are one `Invites::transition`: prepare against the invite as read,
//! commit by a verified swap that refuses a record changed meanwhile, then
//! deliver.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the service, reading an invite and listing them |
//! | `create.rs` | the create body, its validation, and creating |
//! | `idempotency.rs` | `Idempotency-Key`: claiming, recording, replaying |
//! | `invitation.rs` | the registration link and the invite email |
//! | `transition.rs` | resend and revoke: one verified swap each |
//! | `settle.rs` | carrying out an invite's intent after its commit |

mod create;
mod idempotency;
mod invitation;
mod settle;
mod transition;

pub use create::CreateInvite;
pub use idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY};
pub(crate) use settle::note_prepared;

use crate::auth::Principal;
use crate::domain::{Invite, InviteHead, InviteId, InviteStatus};
use crate::ops::{App, Page, PageRequest};
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, keys};
use crate::view::{InviteSummary, InviteView};

/// Invites: create, resend, revoke, read, list.
pub struct Invites<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    fn view(&self, invite: &Invite) -> Result<InviteView, Problem> {
        Ok(InviteView::new(invite, self.app.now(), self.link(invite)?))
    }

    /// The webhook `data` of an invite event: the invite without its history.
    pub(crate) fn event_data(&self, invite: &Invite) -> Result<serde_json::Value, Problem> {
        let mut view = InviteView::new(invite, self.app.now(), None);
        view.history.clear();
        serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
    }

    /// One of the partner's invites by id, with any unfinished commit
    /// finished; another partner's id is simply not found.
    pub(crate) async fn load(&self, partner: &str, id: &str) -> Result<(String, Invite), Problem> {
        let not_found = || Problem::not_found("invite");
        let id = InviteId::parse(id).ok_or_else(not_found)?;
        let key = keys::invite(partner, id.slot());
        let invite = self
            .app
            .records()
            .get::<Invite>(&key)
            .await?
            .filter(|i| i.id == id)
            .ok_or_else(not_found)?;
        let invite = self.settle(&key, invite, None, None).await?;
        Ok((key, invite))
    }

    /// `GET /api/invites/:id`.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let (_, invite) = self.load(caller.partner_id()?, id).await?;
        self.view(&invite)
    }

    /// `GET /api/invites?status=&limit=&cursor=`: summaries, newest first.
    pub async fn list(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InviteSummary>, Problem> {
        let partner = caller.partner_id()?;
        let status = match status {
            None => None,
            Some(s) => Some(InviteStatus::parse(s).ok_or_else(|| {
                Problem::new(
                    ProblemKind::Malformed,
                    "status must be pending, accepted, expired or revoked",
                )
            })?),
        };
        let now = self.app.now();
        let invites = keys::invites(partner);
        let (items, next_cursor) = invites
            .page(
                self.app.records(),
                page,
                |i: &InviteHead| status.is_none_or(|s| i.status(now) == s),
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        let mut views = Vec::with_capacity(items.len());
        for head in items {
            let summary = if head.unfinished() {
                // A commit cut short: finish it now (rare; costs round trips only then).
                let (_, invite) = self.load(partner, head.id.as_str()).await?;
                InviteSummary::new(&InviteHead::of(&invite), now)
            } else {
                InviteSummary::new(&head, now)
            };
            views.push(summary);
        }
        Ok(Page {
            items: views,
            next_cursor,
        })
    }
}
