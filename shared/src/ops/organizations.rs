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

use serde::{Deserialize, Serialize};

use super::{App, Problem};
use crate::auth::{ClaimedOrganization, Principal};
use crate::clock::rfc3339;
use crate::domain::{
    AdminContact, CustomerDetails, Ledger, Organization, OrganizationId, OrganizationSource,
    PartnerProfile,
};
use crate::outbound::Transport;
use crate::problem::{FieldError, FieldRule, ProblemKind};
use crate::store::{KeyValue, Slot, Writes, keys, record};
use crate::validation::{MAX_TEXT, Report, is_country};

/// The most organizations one import takes.
pub const MAX_IMPORT: usize = 1000;
/// The most admins an organization lists.
pub const MAX_ADMINS: usize = 20;

/// `PUT /api/organizations/{id}` body: the organization as the platform knows it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    /// Its name.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub country: Option<String>,
    /// Its admins, the first one first (approval links go to it).
    pub admins: Option<Vec<AdminInput>>,
    /// Its own settings, kept as they are.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One admin, as it arrives.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminInput {
    /// Email (login).
    pub email: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub name: Option<String>,
}

/// One organization of an import: its id and what `PUT` would take.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportItem {
    /// The organization's id.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub country: Option<String>,
    /// Its admins.
    pub admins: Option<Vec<AdminInput>>,
    /// Its settings.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What a write of an organization did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was new.
    Created,
    /// It changed.
    Updated,
    /// It was the same; nothing was written.
    Unchanged,
    /// It was invalid; nothing was written.
    Rejected,
}

/// An organization as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct OrganizationView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Its admins, the first one first.
    pub admins: Vec<AdminContact>,
    /// Its own settings.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// How it became known: `registered`, `platform` or `token`.
    pub source: OrganizationSource,
    /// Since when (RFC 3339).
    pub created_at: String,
}

impl OrganizationView {
    /// Renders an organization.
    pub fn new(o: &Organization) -> OrganizationView {
        let contact = &o.details.contact;
        let admins = if o.admins.is_empty() {
            let name = format!("{} {}", contact.first_name, contact.last_name);
            vec![AdminContact {
                email: o.admin_email.clone(),
                name: Some(name.trim().to_string()).filter(|n| !n.is_empty()),
            }]
        } else {
            o.admins.clone()
        };
        OrganizationView {
            id: o.id.to_string(),
            name: o.details.company.name.clone(),
            country: o.details.company.address.country.clone(),
            admins,
            settings: o.settings.clone(),
            source: o.source,
            created_at: rfc3339(o.created_at),
        }
    }
}

/// The answer to a `PUT`: what it did, and the organization as it stands.
#[derive(Debug, Serialize)]
pub struct Written {
    /// `created`, `updated` or `unchanged`.
    pub result: Outcome,
    /// The organization.
    pub organization: OrganizationView,
}

/// One line of an import's answer.
#[derive(Debug, Serialize)]
pub struct ImportResult {
    /// Its place in the request (from 0).
    pub index: usize,
    /// Its id, when it had a usable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What became of it.
    pub result: Outcome,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The answer to an import.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    /// How many were created.
    pub created: usize,
    /// How many changed.
    pub updated: usize,
    /// How many were the same.
    pub unchanged: usize,
    /// How many were rejected.
    pub rejected: usize,
    /// One line per organization, in the request's order.
    pub results: Vec<ImportResult>,
}

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

/// A valid organization as the platform describes it.
struct Described {
    name: String,
    country: Option<String>,
    admins: Vec<AdminContact>,
    settings: serde_json::Map<String, serde_json::Value>,
}

impl OrganizationInput {
    /// Checks every field at once (pointers under `base`).
    fn validate(self, base: &str, report: &mut Report) -> Option<Described> {
        let p = |suffix: &str| format!("{base}{suffix}");
        let name = report.required_text(&p("/name"), self.name.as_deref(), MAX_TEXT);
        let country = report
            .optional_text(&p("/country"), self.country.as_deref(), MAX_TEXT)
            .map(|c| c.to_ascii_uppercase());
        if let Some(c) = &country
            && !is_country(c)
        {
            report.push(&p("/country"), FieldRule::Country);
        }
        let given = self.admins.unwrap_or_default();
        if given.is_empty() {
            report.push(&p("/admins"), FieldRule::NoAdmin);
        }
        if given.len() > MAX_ADMINS {
            report.push(&p("/admins"), FieldRule::TooManyAdmins { max: MAX_ADMINS });
        }
        let admins = given
            .iter()
            .enumerate()
            .map(|(i, a)| AdminContact {
                email: report.required_email(&p(&format!("/admins/{i}/email")), a.email.as_deref()),
                name: report.optional_text(
                    &p(&format!("/admins/{i}/name")),
                    a.name.as_deref(),
                    MAX_TEXT,
                ),
            })
            .collect();
        report.is_empty().then(|| Described {
            name,
            country,
            admins,
            settings: self.settings.unwrap_or_default(),
        })
    }
}

impl ImportItem {
    fn split(self) -> (Option<String>, OrganizationInput) {
        (
            self.id,
            OrganizationInput {
                name: self.name,
                country: self.country,
                admins: self.admins,
                settings: self.settings,
            },
        )
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

    /// `PUT /api/organizations/{id}` (operators): creates or replaces it.
    pub async fn put(
        &self,
        caller: &Principal,
        id: &str,
        input: OrganizationInput,
    ) -> Result<Written, Problem> {
        caller.require_operator()?;
        let id = OrganizationId::parse(id).ok_or_else(|| {
            Problem::new(
                ProblemKind::Malformed,
                "an organization id is 1 to 64 letters, digits, '_' or '-'",
            )
        })?;
        let mut report = Report::new();
        let described = input.validate("", &mut report);
        report.finish().map_err(Problem::validation)?;
        let described =
            described.ok_or_else(|| Problem::new(ProblemKind::Internal, "validated"))?;
        let mut results = self.upsert(vec![(id, described)]).await?;
        let (outcome, organization) = results
            .pop()
            .ok_or_else(|| Problem::new(ProblemKind::Internal, "one organization written"))?;
        Ok(Written {
            result: outcome,
            organization: OrganizationView::new(&organization),
        })
    }

    /// `GET /api/organizations/{id}` (operators).
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<OrganizationView, Problem> {
        caller.require_operator()?;
        let id = OrganizationId::parse(id).ok_or_else(|| Problem::not_found("organization"))?;
        let known = self
            .known(&id)
            .await?
            .ok_or_else(|| Problem::not_found("organization"))?;
        Ok(OrganizationView::new(&known.organization))
    }

    /// `POST /api/organizations/import` (operators): many at once. Each item
    /// is checked on its own; a rejected one is reported and not written,
    /// the others are. Sending the same import again changes nothing.
    pub async fn import(
        &self,
        caller: &Principal,
        items: Vec<Result<ImportItem, String>>,
    ) -> Result<ImportReport, Problem> {
        caller.require_operator()?;
        if items.len() > MAX_IMPORT {
            return Err(Problem::new(
                ProblemKind::PayloadTooLarge,
                format!(
                    "an import takes at most {MAX_IMPORT} organizations; send the rest in another"
                ),
            ));
        }
        let mut results: Vec<ImportResult> = Vec::with_capacity(items.len());
        let mut valid: Vec<(usize, OrganizationId, Described)> = Vec::new();
        let mut ids_seen: Vec<String> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let base = format!("/{index}");
            let rejected = |id: Option<String>, errors| ImportResult {
                index,
                id,
                result: Outcome::Rejected,
                errors,
            };
            let item = match item {
                Ok(item) => item,
                Err(why) => {
                    results.push(rejected(
                        None,
                        vec![FieldError::new(base, FieldRule::Unreadable(why))],
                    ));
                    continue;
                }
            };
            let (raw_id, input) = item.split();
            let mut report = Report::new();
            let id = match raw_id.as_deref().map(OrganizationId::parse) {
                Some(Some(id)) if ids_seen.contains(&id.to_string()) => {
                    report.push(&format!("{base}/id"), FieldRule::DuplicateInImport);
                    None
                }
                Some(Some(id)) => Some(id),
                Some(None) => {
                    report.push(&format!("{base}/id"), FieldRule::IdCharacters);
                    None
                }
                None => {
                    report.push(&format!("{base}/id"), FieldRule::Required);
                    None
                }
            };
            let described = input.validate(&base, &mut report);
            match (id, described, report.finish()) {
                (Some(id), Some(described), Ok(())) => {
                    ids_seen.push(id.to_string());
                    results.push(ImportResult {
                        index,
                        id: Some(id.to_string()),
                        result: Outcome::Unchanged,
                        errors: Vec::new(),
                    });
                    valid.push((results.len() - 1, id, described));
                }
                (id, _, Err(errors)) => results.push(rejected(id.map(|i| i.to_string()), errors)),
                (id, _, Ok(())) => results.push(rejected(id.map(|i| i.to_string()), Vec::new())),
            }
        }
        let at: Vec<usize> = valid.iter().map(|(i, _, _)| *i).collect();
        let written = self
            .upsert(valid.into_iter().map(|(_, id, d)| (id, d)).collect())
            .await?;
        for (i, (outcome, _)) in at.into_iter().zip(written) {
            results[i].result = outcome;
        }
        let count = |o: Outcome| results.iter().filter(|r| r.result == o).count();
        Ok(ImportReport {
            created: count(Outcome::Created),
            updated: count(Outcome::Updated),
            unchanged: count(Outcome::Unchanged),
            rejected: count(Outcome::Rejected),
            results,
        })
    }

    /// The record of an organization the platform describes.
    fn record(
        &self,
        id: &OrganizationId,
        d: Described,
        source: OrganizationSource,
    ) -> Organization {
        let mut details = CustomerDetails::default();
        details.company.name = d.name;
        details.company.address.country = d.country;
        let first = d.admins.first().cloned();
        if let Some(first) = &first {
            details.contact.email = first.email.clone();
            details.contact.first_name = first.name.clone().unwrap_or_default();
        }
        Organization {
            id: id.clone(),
            details,
            admin_email: first.map(|a| a.email).unwrap_or_default(),
            admins: d.admins,
            settings: d.settings,
            created_at: self.app.now(),
            source,
        }
    }

    /// Creates or replaces organizations as the platform describes them:
    /// every one read in one round trip, the missing ledgers written, then
    /// the organizations that are new or changed (two more).
    async fn upsert(
        &self,
        described: Vec<(OrganizationId, Described)>,
    ) -> Result<Vec<(Outcome, Organization)>, Problem> {
        let keys: Vec<String> = described
            .iter()
            .flat_map(|(id, _)| [keys::organization(id.as_str()), keys::ledger(id.as_str())])
            .collect();
        let found = self.app.records().read_many(&keys).await?;
        let mut planned = Vec::with_capacity(described.len());
        for ((id, d), pair) in described.into_iter().zip(found.chunks(2)) {
            let current = record::decode::<Organization>(
                &keys::organization(id.as_str()),
                pair.first().cloned().flatten().as_deref(),
            )?
            .record();
            let has_ledger = pair.get(1).is_some_and(Option::is_some);
            let mut next = self.record(&id, d, OrganizationSource::Platform);
            if let Some(old) = &current {
                // What the platform does not describe stays as it was.
                next.created_at = old.created_at;
                next.source = old.source;
                merge_described(&mut next, old);
            }
            planned.push((next, current, has_ledger));
        }
        self.write(planned).await
    }

    /// Writes what [`Organizations::upsert`] planned: ledgers first.
    async fn write(
        &self,
        planned: Vec<(Organization, Option<Organization>, bool)>,
    ) -> Result<Vec<(Outcome, Organization)>, Problem> {
        let records = self.app.records();
        let mut ledgers = Writes::new();
        let mut organizations = Writes::new();
        let mut results = Vec::with_capacity(planned.len());
        for (next, current, has_ledger) in planned {
            if !has_ledger {
                records.stage(
                    &mut ledgers,
                    keys::ledger(next.id.as_str()),
                    &Ledger::default(),
                )?;
            }
            let outcome = match &current {
                None => Outcome::Created,
                Some(old) if *old == next => Outcome::Unchanged,
                Some(_) => Outcome::Updated,
            };
            if outcome != Outcome::Unchanged {
                records.stage(
                    &mut organizations,
                    keys::organization(next.id.as_str()),
                    &next,
                )?;
            }
            results.push((
                outcome,
                current
                    .filter(|_| outcome == Outcome::Unchanged)
                    .unwrap_or(next),
            ));
        }
        records.put_all(ledgers).await?;
        records.put_all(organizations).await?;
        Ok(results)
    }
}

/// Keeps of `old` what a platform description does not cover: a registered
/// organization's address, VAT ID, contact names and billing.
fn merge_described(next: &mut Organization, old: &Organization) {
    let country = next.details.company.address.country.clone();
    next.details.company.address = old.details.company.address.clone();
    if country.is_some() {
        next.details.company.address.country = country;
    }
    next.details.company.vat_id = old.details.company.vat_id.clone();
    next.details.billing = old.details.billing.clone();
    if old.details.contact.email == next.details.contact.email {
        next.details.contact.last_name = old.details.contact.last_name.clone();
        if next.details.contact.first_name.is_empty() {
            next.details.contact.first_name = old.details.contact.first_name.clone();
        }
    }
}

pub(crate) fn no_ledger(id: &OrganizationId) -> Problem {
    Problem::new(
        ProblemKind::Internal,
        format!("organization {id} has no ledger; the store is inconsistent"),
    )
}
