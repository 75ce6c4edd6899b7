//! Reading a request and rolling forward what its commit left: the one
//! path every other part of the service reads requests through.

use super::{Loaded, Requests, opened};
use crate::domain::{
    Closing, ConnectionRequest, Intent, OrganizationId, PartnerProfile, RequestId, RequestState,
};
use crate::ops::organizations::Known;
use crate::ops::outbox::Prepared;
use crate::ops::partner::decode_profile;
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Writes, decode_record, keys};

impl<S: KeyValue, T: Transport> Requests<'_, S, T> {
    /// Carries out what the request's intent still owes and clears it. A
    /// `proposed` request is opened first if the ledger entered it (`entered`
    /// when the caller just saw it do so); one the ledger did not enter stays
    /// as it is, shown nowhere.
    pub(super) async fn settle(
        &self,
        key: &str,
        record: ConnectionRequest,
        items: Option<Vec<Prepared>>,
        profile: Option<&PartnerProfile>,
        entered: bool,
    ) -> Result<ConnectionRequest, Problem> {
        let app = self.app;
        let proposed = record.state == RequestState::Proposed;
        if proposed && !entered && !self.entered(&record).await? {
            return Ok(record);
        }
        let intent = record.intent.clone().unwrap_or_default();
        if !proposed && record.intent.is_none() {
            return Ok(record);
        }
        let mut joined = None;
        // The list entries go in one write with the deliveries' outcomes.
        let mut writes = Writes::new();
        if let Some(connect) = &intent.connect {
            joined = app.relationships().connect(connect, &mut writes).await?;
        }
        match items {
            Some(items) => app.outbox().deliver_with(items, profile, writes).await?,
            None => {
                app.outbox()
                    .deliver_keys_with(&intent.deliver, writes)
                    .await?
            }
        };
        let id = record.id.clone();
        app.records()
            .update(key, |current: Option<ConnectionRequest>| {
                let mut r = current
                    .filter(|r| r.id == id)
                    .ok_or_else(|| Problem::not_found("connection request"))?;
                if r.state == RequestState::Proposed {
                    r.state = RequestState::Pending;
                }
                if Intent::discharge(&mut r.intent, &intent)
                    && let (Some(existing), RequestState::Approved { relationship_id }) =
                        (&joined, &mut r.state)
                {
                    // The pair was connected by another commit meanwhile.
                    *relationship_id = existing.clone();
                }
                Ok(Edit::Write(r.clone(), r))
            })
            .await
    }

    /// Whether the commit of a `proposed` request was made: the ledger took
    /// it as the pair's open request, or (a change request) its relationship
    /// took it as its pending change.
    async fn entered(&self, record: &ConnectionRequest) -> Result<bool, Problem> {
        let app = self.app;
        if let Some(change) = &record.change {
            let relationship = app.relationships().current(&change.relationship_id).await?;
            return Ok(relationship.is_some_and(|r| r.names(&record.id)));
        }
        let known = app.organizations().known(&record.organization_id).await?;
        let open = known.as_ref().and_then(|k| {
            k.ledger
                .partners
                .get(&record.partner_id)?
                .open_request
                .as_ref()
        });
        Ok(open.is_some_and(|o| o.id == record.id))
    }

    /// A pending change request as its relationship decided it: when the
    /// relationship's record shows a decision (approved, declined,
    /// withdrawn, ended), carrying out its intent records it on the request.
    /// Answers the relationship too, when it was read.
    pub(super) async fn refresh(
        &self,
        key: &str,
        record: ConnectionRequest,
    ) -> Result<Loaded, Problem> {
        let unchanged = |record| Loaded {
            record,
            relationship: None,
            alongside: None,
        };
        let Some(change) = &record.change else {
            return Ok(unchanged(record));
        };
        if record.state != RequestState::Pending {
            return Ok(unchanged(record));
        }
        let relationship = self
            .app
            .relationships()
            .current(&change.relationship_id)
            .await?;
        if relationship
            .as_ref()
            .is_none_or(|r| r.decision_of(&record.id).is_none())
        {
            return Ok(Loaded {
                record,
                relationship,
                alongside: None,
            });
        }
        let record = self
            .app
            .records()
            .get::<ConnectionRequest>(key)
            .await?
            .filter(|r| r.id == record.id)
            .unwrap_or(record);
        Ok(Loaded {
            record,
            relationship,
            alongside: None,
        })
    }

    /// Records on a change request the decision its relationship made.
    pub(crate) async fn close(&self, partner: &str, closing: &Closing) -> Result<(), Problem> {
        let key = keys::request(partner, closing.request_id.slot());
        self.app
            .records()
            .update(&key, |current: Option<ConnectionRequest>| {
                let Some(mut r) = current.filter(|r| r.id == closing.request_id) else {
                    return Ok(Edit::Keep(()));
                };
                if r.close(&closing.state, &closing.event) {
                    Ok(Edit::Write(r, ()))
                } else {
                    Ok(Edit::Keep(()))
                }
            })
            .await
    }

    /// Finishes the request at `slot` if a commit left it unfinished.
    pub(crate) async fn finish(
        &self,
        partner: &str,
        slot: u64,
    ) -> Result<Option<ConnectionRequest>, Problem> {
        let key = keys::request(partner, slot);
        let Some(record) = self.app.records().get::<ConnectionRequest>(&key).await? else {
            return Ok(None);
        };
        self.settle(&key, record, None, None, false).await.map(Some)
    }

    /// One of the partner's requests by id, finished if a commit left it
    /// unfinished: its key, and the record if there is one of that id.
    pub(super) async fn load(
        &self,
        partner: &str,
        id: &str,
    ) -> Result<(String, Option<Loaded>), Problem> {
        let id = RequestId::parse(id).ok_or_else(|| Problem::not_found("connection request"))?;
        let key = keys::request(partner, id.slot());
        let record = match self.app.records().get::<ConnectionRequest>(&key).await? {
            Some(r) if r.id == id => Some(self.finished(&key, r).await?),
            _ => None,
        };
        Ok((key, record))
    }

    /// [`load`](Self::load) for a decision on `organization`'s side: the
    /// organization, its ledger and the partner's profile, which the
    /// decision starts from, are read in the same round trip, and kept if
    /// finishing the request had nothing to do (else they may have changed).
    pub(super) async fn load_deciding(
        &self,
        partner: &str,
        id: &str,
        organization: &OrganizationId,
    ) -> Result<(String, Option<Loaded>), Problem> {
        let id = RequestId::parse(id).ok_or_else(|| Problem::not_found("connection request"))?;
        let key = keys::request(partner, id.slot());
        let [organization_key, ledger_key] = Known::keys(organization);
        let keys = [
            key.clone(),
            organization_key,
            ledger_key,
            keys::profile(partner),
        ];
        let found = self.app.records().read_many(&keys).await?;
        let value = |i: usize| found.get(i).and_then(|v| v.as_deref());
        let record = decode_record::<ConnectionRequest>(&key, value(0))?;
        let Some(record) = record.filter(|r| r.id == id) else {
            return Ok((key, None));
        };
        let untouched = record.intent.is_none() && record.state != RequestState::Proposed;
        let mut loaded = self.finished(&key, record).await?;
        if untouched {
            let known = Known::decode(organization, found.get(1..3).unwrap_or_default())?;
            let profile = decode_profile(partner, value(3))?;
            loaded.alongside = Some((known, profile));
        }
        Ok((key, Some(loaded)))
    }

    /// A request as read, finished if a commit left it unfinished, and as
    /// its relationship decided it.
    async fn finished(&self, key: &str, record: ConnectionRequest) -> Result<Loaded, Problem> {
        let record = self.settle(key, record, None, None, false).await?;
        self.refresh(key, record).await
    }

    /// One of the partner's opened requests; any other id is not found.
    pub(super) async fn opened(
        &self,
        partner: &str,
        id: &str,
    ) -> Result<(String, Loaded), Problem> {
        opened(self.load(partner, id).await?)
    }
}
