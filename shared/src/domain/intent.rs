//! What must follow a commit. The committed record carries it until it is
//! carried out, so that a request cut short after its commit is finished by
//! whichever request meets the record next.

use serde::{Deserialize, Serialize};

use super::organization::Organization;
use super::relationship::{ListSlots, Relationship};

/// The writes and deliveries a commit still owes. Every step is idempotent:
/// doing it twice leaves what doing it once does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Intent {
    /// A relationship to bring into being.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<Connect>,
    /// The keys of outbox items written before the commit, to deliver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliver: Vec<String>,
}

/// A new relationship and where it is listed. The slots were taken, and
/// hold placeholders naming the commit, before the commit was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connect {
    /// The relationship.
    pub relationship: Relationship,
    /// Its slot in the partner's customers.
    pub customer_slot: u64,
    /// Its slot in the organization's partners.
    pub partner_slot: u64,
    /// The organization to register, when the commit creates one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
}

impl Connect {
    /// Where the relationship is listed.
    pub fn slots(&self) -> ListSlots {
        ListSlots {
            customer: self.customer_slot,
            partner: self.partner_slot,
        }
    }
}

impl Intent {
    /// Removes from `intent` what `carried_out` covered (its relationship, if
    /// the same, and its deliveries), leaving what a later commit added;
    /// `None` once nothing is owed. Answers whether the relationship was
    /// among what was carried out.
    pub fn discharge(intent: &mut Option<Intent>, carried_out: &Intent) -> bool {
        let Some(owed) = intent.as_mut() else {
            return false;
        };
        let connected = carried_out.connect.is_some() && owed.connect == carried_out.connect;
        if connected {
            owed.connect = None;
        }
        owed.deliver.retain(|k| !carried_out.deliver.contains(k));
        if owed.connect.is_none() && owed.deliver.is_empty() {
            *intent = None;
        }
        connected
    }
}
