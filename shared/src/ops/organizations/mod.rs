//! The organizations the product knows: registered through an invite, told
//! by the vendor's platform (one by one, or imported many at once), or named
//! by an admin's access token the first time it is used here.
//!
//! Every organization has a [`Ledger`] (its partners and open requests),
//! written before the organization itself, so that an organization that can
//! be read always has one. The platform owns its organizations: a `PUT`
//! replaces what the platform said (the last of two racing ones wins, as
//! `PUT` does), and an unchanged one is not written at all, so its bytes stay
//! as they were.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the service, an organization with its ledger, and linking one by token |
//! | `described.rs` | the organization as the platform describes it: bodies, checks, answers |
//! | `platform.rs` | the platform's routes: put, get, import, and writing them |

mod described;
mod platform;

use described::Described;
pub use described::{
    AdminInput, ImportItem, ImportReport, ImportResult, MAX_ADMINS, MAX_IMPORT, OrganizationInput,
    OrganizationView, Outcome, Written,
};

use crate::auth::{ClaimedOrganization, Principal};
use crate::domain::{
    AdminContact, Ledger, Organization, OrganizationId, OrganizationSource, PartnerProfile,
};
use crate::ops::{App, Problem};
use crate::outbound::Transport;
use crate::problem::ProblemKind;
use crate::store::{KeyValue, Slot, keys, record};

/// An organization known here, with its ledger.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// The organization's record, as the platform or the registration left it.
    pub organization: Organization,
    /// Its partners and open requests.
    pub ledger: Ledger,
}

impl Known {
    /// Where an organization and its ledger are stored.
    pub(crate) fn keys(id: &OrganizationId) -> [String; 2] {
        [keys::organization(id.as_str()), keys::ledger(id.as_str())]
    }

    /// What the two [`Known::keys`] held: the organization with its ledger,
    /// or `None` if it is not known here.
    pub(crate) fn decode(
        id: &OrganizationId,
        found: &[Option<Vec<u8>>],
    ) -> Result<Option<Known>, Problem> {
        let [organization_key, ledger_key] = Known::keys(id);
        let value = |i: usize| found.get(i).and_then(|v| v.as_deref());
        let organization = record::decode::<Organization>(&organization_key, value(0))?;
        let ledger = record::decode::<Ledger>(&ledger_key, value(1))?;
        match (organization, ledger) {
            (Slot::Record(organization), Slot::Record(ledger)) => Ok(Some(Known {
                organization,
                ledger,
            })),
            (Slot::Record(_), _) => Err(no_ledger(id)),
            _ => Ok(None),
        }
    }
}

/// The organizations the product knows.
pub struct Organizations<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Organizations<'_, S, T> {
    /// An organization known here, with its ledger, in one round trip.
    pub(crate) async fn known(&self, id: &OrganizationId) -> Result<Option<Known>, Problem> {
        let keys = Known::keys(id);
        let found = self.app.records().read_many(&keys).await?;
        Known::decode(id, &found)
    }

    /// [`Organizations::known`], and `partner`'s profile, in the same round
    /// trip: what a request between the two starts from.
    pub(crate) async fn known_with_profile(
        &self,
        id: &OrganizationId,
        partner: &str,
    ) -> Result<(Option<Known>, PartnerProfile), Problem> {
        let [organization, ledger] = Known::keys(id);
        let keys = [organization, ledger, keys::profile(partner)];
        let found = self.app.records().read_many(&keys).await?;
        let known = Known::decode(id, &found)?;
        let profile =
            super::partner::decode_profile(partner, found.get(2).and_then(|v| v.as_deref()))?;
        Ok((known, profile))
    }

    /// An existing organization the caller administers and `partner` is
    /// not yet connected to. One the product has not seen yet is registered
    /// from what the caller's token says of it, if it names it. `found` is
    /// what its [`Known::keys`] held, read with the invite.
    pub(crate) async fn linkable(
        &self,
        caller: Option<&Principal>,
        id: &str,
        partner: &str,
        found: &[Option<Vec<u8>>],
    ) -> Result<Organization, Problem> {
        let caller = caller.ok_or_else(|| {
            Problem::new(
                ProblemKind::Unauthenticated,
                "linking an existing organization needs its admin's access token (Authorization: Bearer)",
            )
        })?;
        if caller.organization_id()? != id {
            return Err(Problem::new(
                ProblemKind::Forbidden,
                "you are not an admin of that organization",
            ));
        }
        let id = OrganizationId::parse(id).ok_or_else(|| Problem::not_found("organization"))?;
        let known = match Known::decode(&id, found)? {
            Some(known) => known,
            None => self.named_by_token(&id, caller).await?,
        };
        let relationships = self.app.relationships();
        if relationships
            .connected(&known.ledger, partner)
            .await?
            .is_some()
        {
            return Err(Problem::new(
                ProblemKind::AlreadyConnected,
                "your organization is already connected to this partner",
            ));
        }
        Ok(known.organization)
    }

    /// Registers an organization from its admin's token, which names it.
    async fn named_by_token(
        &self,
        id: &OrganizationId,
        caller: &Principal,
    ) -> Result<Known, Problem> {
        let not_found = || Problem::not_found("organization");
        let Principal::CustomerAdmin {
            claimed:
                ClaimedOrganization {
                    name: Some(name),
                    email,
                },
            ..
        } = caller
        else {
            return Err(not_found());
        };
        let Some(email) = email.clone() else {
            return Err(not_found());
        };
        let described = Described {
            name: name.clone(),
            country: None,
            admins: vec![AdminContact { email, name: None }],
            settings: serde_json::Map::new(),
        };
        let organization = self.record(id, described, OrganizationSource::Token);
        self.write(vec![(organization.clone(), None, false)])
            .await?;
        Ok(Known {
            organization,
            ledger: Ledger::default(),
        })
    }
}

pub(crate) fn no_ledger(id: &OrganizationId) -> Problem {
    Problem::new(
        ProblemKind::Internal,
        format!("organization {id} has no ledger; the store is inconsistent"),
    )
}
