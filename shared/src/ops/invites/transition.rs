//! Resend and revoke: a partner's change to an invite, prepared against the
//! invite as read and committed by a verified swap that refuses a record
//! changed meanwhile.

use super::{Invites, note_prepared};
use crate::auth::Principal;
use crate::domain::{EventType, Invite, PartnerProfile, Source, Stamp};
use crate::ops::outbox::Prepared;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Writes};
use crate::view::InviteView;

/// How a transition's swap ended.
pub(super) enum Swap {
    /// Committed: the invite as stored.
    Done(Box<Invite>),
    /// The invite changed after it was read: prepare again against this one.
    Stale(Box<Invite>),
}

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// `POST /api/invites/:id/resend`: a fresh link and expiry; earlier links die.
    pub async fn resend(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let invite = self
            .transition(
                caller,
                id,
                Invite::resend,
                async |invite, profile, source, writes| {
                    if !invite.send_email {
                        return Ok(Vec::new());
                    }
                    Ok(vec![self.email(writes, invite, profile, source).await?])
                },
            )
            .await?;
        self.view(&invite)
    }

    /// `POST /api/invites/:id/revoke`: pending invites only; the link stops working.
    pub async fn revoke(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let invite = self
            .transition(
                caller,
                id,
                Invite::revoke,
                async |invite, profile, source, writes| {
                    let data = self.event_data(invite)?;
                    let event = self
                        .app
                        .outbox()
                        .event(
                            writes,
                            profile,
                            EventType::InviteRevoked,
                            data,
                            source.clone(),
                            Vec::new(),
                        )
                        .await?;
                    Ok(event.into_iter().collect())
                },
            )
            .await?;
        self.view(&invite)
    }

    /// A partner's change to one of its invites: `apply` checks and makes
    /// it; `prepare` stages the outbox items it owes, against the changed
    /// invite. Nothing is written when `apply` refuses the invite as read.
    async fn transition(
        &self,
        caller: &Principal,
        id: &str,
        apply: fn(&mut Invite, &Stamp) -> Result<(), Problem>,
        prepare: impl AsyncFn(
            &Invite,
            &PartnerProfile,
            &Source,
            &mut Writes,
        ) -> Result<Vec<Prepared>, Problem>,
    ) -> Result<Invite, Problem> {
        let partner = caller.partner_id()?;
        let app = self.app;
        let records = app.records();
        let (key, mut read) = self.load(partner, id).await?;
        let profile = app.partners().profile(partner).await?;
        for _ in 0..3 {
            let stamp = app.stamp(caller.actor());
            let mut changed = read.clone();
            apply(&mut changed, &stamp)?;
            let source = Source {
                key: key.clone(),
                event: stamp.id.clone(),
            };
            let mut writes = Writes::new();
            let items = prepare(&changed, &profile, &source, &mut writes).await?;
            app.outbox().watch(&mut writes, &items).await?;
            records.put_all(writes).await?;
            let seen = read.history.len();
            let swapped = records
                .commit(
                    &key,
                    &stamp.id,
                    |current: Option<Invite>| {
                        let mut i = current
                            .filter(|i| i.id == read.id)
                            .ok_or_else(|| Problem::not_found("invite"))?;
                        if i.history.len() != seen {
                            return Ok(Edit::Keep(Swap::Stale(Box::new(i))));
                        }
                        apply(&mut i, &stamp)?;
                        note_prepared(&mut i, &items);
                        Ok(Edit::Write(i.clone(), Swap::Done(Box::new(i))))
                    },
                    |made| Swap::Done(Box::new(made)),
                )
                .await;
            match swapped {
                Ok(Swap::Done(invite)) => {
                    return self
                        .settle(&key, *invite, Some(items), Some(&profile))
                        .await;
                }
                Ok(Swap::Stale(current)) => {
                    app.outbox().abandon(&items).await?;
                    read = *current;
                }
                Err(problem) => {
                    app.outbox().abandon(&items).await?;
                    return Err(problem);
                }
            }
        }
        Err(Problem::new(
            ProblemKind::TooManyRequests,
            "this invite is changing too often right now; retry shortly",
        ))
    }
}
