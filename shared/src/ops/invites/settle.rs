//! Carrying out what an invite's intent owes after its commit (the
//! relationship a redemption creates, the deliveries) and noting the
//! email's outcome: the roll-forward every path ends with.

use super::Invites;
use crate::domain::{Email, Intent, Invite, InviteState, PartnerProfile};
use crate::ops::outbox::{Prepared, keys_of};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Writes, keys};

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// Carries out what the invite's intent still owes (the relationship a
    /// redemption creates, the deliveries) and clears it; answers the invite
    /// as stored. `items` are the prepared items when the caller made them,
    /// else they are read from their keys.
    pub(crate) async fn settle(
        &self,
        key: &str,
        invite: Invite,
        items: Option<Vec<Prepared>>,
        profile: Option<&PartnerProfile>,
    ) -> Result<Invite, Problem> {
        let Some(intent) = invite.intent.clone() else {
            return Ok(invite);
        };
        let app = self.app;
        let mut adopted = None;
        // The list entries (and a new organization) go in one write with the
        // deliveries' outcomes.
        let mut writes = Writes::new();
        if let Some(connect) = &intent.connect {
            adopted = app.relationships().connect(connect, &mut writes).await?;
        }
        let emails = match items {
            Some(items) => app.outbox().deliver_with(items, profile, writes).await?,
            None => {
                app.outbox()
                    .deliver_keys_with(&intent.deliver, writes)
                    .await?
            }
        };
        let id = invite.id.clone();
        let settled = app
            .records()
            .update(key, |current: Option<Invite>| {
                let mut i = current
                    .filter(|i| i.id == id)
                    .ok_or_else(|| Problem::not_found("invite"))?;
                if i.intent.is_none() {
                    return Ok(Edit::Keep(i));
                }
                if Intent::discharge(&mut i.intent, &intent)
                    && let (
                        Some(existing),
                        InviteState::Accepted {
                            relationship_id, ..
                        },
                    ) = (&adopted, &mut i.state)
                {
                    // The pair was connected by another commit meanwhile: this
                    // invite joined that relationship.
                    *relationship_id = existing.clone();
                }
                note_outcome(&mut i.last_email, &emails);
                Ok(Edit::Write(i.clone(), i))
            })
            .await?;
        Ok(settled)
    }

    /// Notes a redelivered email in the invite it was sent for, if it is
    /// still that invite's last one (so the invite shows it as sent).
    pub(crate) async fn note_email(&self, email: &Email) -> Result<(), Problem> {
        let Some(keys::Commit::Invite { partner, slot }) =
            email.source.as_ref().and_then(|s| keys::commit(&s.key))
        else {
            return Ok(());
        };
        self.app
            .records()
            .update(&keys::invite(&partner, slot), |current: Option<Invite>| {
                Ok(match current {
                    Some(mut i) if i.last_email.as_ref().is_some_and(|l| l.id == email.id) => {
                        note_outcome(&mut i.last_email, std::slice::from_ref(email));
                        Edit::Write(i, ())
                    }
                    _ => Edit::Keep(()),
                })
            })
            .await
    }

    /// Finishes the invite at `slot` if a commit left it unfinished.
    pub(crate) async fn finish(&self, partner: &str, slot: u64) -> Result<Option<Invite>, Problem> {
        let key = keys::invite(partner, slot);
        let Some(invite) = self.app.records().get::<Invite>(&key).await? else {
            return Ok(None);
        };
        self.settle(&key, invite, None, None).await.map(Some)
    }
}

/// Records prepared items in the invite: their keys in its intent (added to
/// any it still has), and the invite email as its last one, queued.
pub(crate) fn note_prepared(invite: &mut Invite, items: &[Prepared]) {
    if items.is_empty() {
        return;
    }
    let intent = invite.intent.get_or_insert_with(Intent::default);
    intent.deliver.extend(keys_of(items));
    for item in items {
        if let Prepared::Email(_, email) = item {
            invite.last_email = Some(email.without_body());
        }
    }
}

/// Notes what became of the invite's last email, if it was among `emails`.
pub(super) fn note_outcome(last: &mut Option<Email>, emails: &[Email]) {
    if let Some(last) = last
        && let Some(sent) = emails.iter().find(|e| e.id == last.id)
    {
        *last = sent.without_body();
    }
}
