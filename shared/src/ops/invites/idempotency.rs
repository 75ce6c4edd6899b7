//! `Idempotency-Key` on create: which request claims a key, what it records
//! before creating, and how a retry replays it. Apart because it is a
//! protocol of its own around create.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Invites;
use crate::domain::Invite;
use crate::ops::outbox::Prepared;
use crate::outbound::Transport;
use crate::problem::{Problem, ProblemKind};
use crate::store::{KeyValue, Writes, keys};
use crate::view::InviteView;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An `Idempotency-Key` and the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// SHA-256 of the key, as it appears in store keys.
    pub(super) hash: String,
    /// SHA-256 of the request body: a reused key with another body is refused.
    pub(super) fingerprint: String,
}

impl IdempotencyKey {
    /// The header value `key` sent with `body`.
    pub fn new(key: &str, body: &[u8]) -> Result<IdempotencyKey, Problem> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Problem::new(
                ProblemKind::Malformed,
                format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                ),
            ));
        }
        Ok(IdempotencyKey {
            hash: sha256_hex(key.as_bytes()),
            fingerprint: sha256_hex(body),
        })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The answer while another request holds an `Idempotency-Key` it has not
/// yet recorded.
pub(super) fn in_progress() -> Problem {
    Problem::new(
        ProblemKind::InvalidState,
        "a request with this Idempotency-Key is in progress; retry shortly",
    )
}

/// What the request that claimed an `Idempotency-Key` creates, recorded
/// before it creates it: the invite and its outbox items, so that a retry of
/// a request cut short makes the same ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IdempotencyRecord {
    /// SHA-256 of the request body: a reused key with another body is refused.
    pub(super) fingerprint: String,
    /// The invite, as its first write.
    pub(super) invite: Invite,
    /// Its outbox items, queued.
    pub(super) items: Vec<Prepared>,
}

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// Makes the invite an `Idempotency-Key`'s record holds, as recorded: its
    /// items (nobody can have delivered them while the invite is missing),
    /// then the invite, the commit that releases them.
    async fn create_recorded(
        &self,
        partner: &str,
        record: IdempotencyRecord,
    ) -> Result<Invite, Problem> {
        let records = self.app.records();
        let mut writes = Writes::new();
        for item in &record.items {
            item.stage(records, &mut writes)?;
        }
        self.app.outbox().watch(&mut writes, &record.items).await?;
        records.put_all(writes).await?;
        let key = keys::invite(partner, record.invite.id.slot());
        records.put(&key, &record.invite).await?;
        self.settle(&key, record.invite, Some(record.items), None)
            .await
    }

    pub(super) async fn replay(
        &self,
        partner: &str,
        key: &IdempotencyKey,
    ) -> Result<Option<InviteView>, Problem> {
        let Some(record) = self
            .app
            .records()
            .get::<IdempotencyRecord>(&keys::idempotency(partner, &key.hash))
            .await?
        else {
            return Ok(None);
        };
        if record.fingerprint != key.fingerprint {
            return Err(Problem::new(
                ProblemKind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            ));
        }
        match self.load(partner, record.invite.id.as_str()).await {
            Ok((_, invite)) => self.view(&invite).map(Some),
            // Recorded, not yet created (the first request may have been cut
            // short): make it, exactly as recorded.
            Err(p) if p.kind == ProblemKind::NotFound => {
                let invite = self.create_recorded(partner, record).await?;
                self.view(&invite).map(Some)
            }
            Err(p) => Err(p),
        }
    }
}
