//! The platform's routes: an organization put, read or imported (operators),
//! and how what the platform describes is written, ledgers first. Apart from
//! the reads every request makes.

use super::{
    Described, ImportItem, ImportReport, ImportResult, MAX_IMPORT, OrganizationInput,
    OrganizationView, Organizations, Outcome, Written,
};
use crate::auth::Principal;
use crate::domain::{CustomerDetails, Ledger, Organization, OrganizationId, OrganizationSource};
use crate::ops::Problem;
use crate::outbound::Transport;
use crate::problem::{FieldError, FieldRule, ProblemKind};
use crate::store::{KeyValue, Writes, keys, record};
use crate::validation::Report;

impl<S: KeyValue, T: Transport> Organizations<'_, S, T> {
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
    pub(super) fn record(
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
    pub(super) async fn write(
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
