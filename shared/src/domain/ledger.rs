//! An organization's ledger: which partners it is connected to and which
//! connection requests are open, in one record per organization.
//!
//! "One relationship per partner and organization" and "one open request per
//! pair" are decisions about the pair. Keeping every pair of an organization
//! in one record, written when the organization is, means both are decided by
//! a compare-and-swap on a key that exists, which every Spin store performs
//! correctly (a swap on an absent key is not atomic on Spin's SQLite store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::{RelationshipId, RequestId};

/// The organization's partners and open requests, by partner id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// One entry per partner that is connected or asking.
    #[serde(default)]
    pub partners: BTreeMap<String, LedgerEntry>,
}

/// One partner's standing with the organization.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The relationship, while they are connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<RelationshipId>,
    /// The partner's open connection request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_request: Option<OpenRequest>,
}

/// A connection request that may still be decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRequest {
    /// The request.
    pub id: RequestId,
    /// When it expires.
    pub expires_at: u64,
}

impl Ledger {
    /// A ledger with `partner` connected through `relationship`.
    pub fn with(partner: &str, relationship: RelationshipId) -> Ledger {
        let mut ledger = Ledger::default();
        ledger.partners.insert(
            partner.to_string(),
            LedgerEntry {
                relationship: Some(relationship),
                open_request: None,
            },
        );
        ledger
    }

    /// The relationship with `partner`, if they are connected.
    pub fn relationship(&self, partner: &str) -> Option<&RelationshipId> {
        self.partners.get(partner)?.relationship.as_ref()
    }

    /// The partner's request that is still open at `now`.
    pub fn open_request(&self, partner: &str, now: u64) -> Option<&OpenRequest> {
        self.partners
            .get(partner)?
            .open_request
            .as_ref()
            .filter(|o| o.expires_at > now)
    }

    /// Connects `partner` through `relationship`, closing its open request.
    /// `Err` with the relationship it already has, if another one.
    pub fn connect(
        &mut self,
        partner: &str,
        relationship: &RelationshipId,
    ) -> Result<(), RelationshipId> {
        let entry = self.partners.entry(partner.to_string()).or_default();
        match &entry.relationship {
            Some(existing) if existing != relationship => Err(existing.clone()),
            _ => {
                entry.relationship = Some(relationship.clone());
                entry.open_request = None;
                Ok(())
            }
        }
    }

    /// Forgets `relationship` if it is the partner's (it ended), so that the
    /// pair may be connected again; whether it was.
    pub fn release(&mut self, partner: &str, relationship: &RelationshipId) -> bool {
        let Some(entry) = self.partners.get_mut(partner) else {
            return false;
        };
        if entry.relationship.as_ref() != Some(relationship) {
            return false;
        }
        entry.relationship = None;
        if entry.open_request.is_none() {
            self.partners.remove(partner);
        }
        true
    }

    /// Forgets `request` if it is the partner's open one; whether it was.
    pub fn close(&mut self, partner: &str, request: &RequestId) -> bool {
        let Some(entry) = self.partners.get_mut(partner) else {
            return false;
        };
        if entry
            .open_request
            .as_ref()
            .is_some_and(|o| &o.id == request)
        {
            entry.open_request = None;
            if entry.relationship.is_none() {
                self.partners.remove(partner);
            }
            return true;
        }
        false
    }
}
