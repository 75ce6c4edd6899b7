//! The organization as the platform describes it: the `PUT` and import
//! bodies, their checks, and the answers. Apart because it is data: no
//! store, no service.

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::domain::{AdminContact, Organization, OrganizationSource};
use crate::problem::{FieldError, FieldRule};
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

/// A valid organization as the platform describes it.
pub(super) struct Described {
    pub(super) name: String,
    pub(super) country: Option<String>,
    pub(super) admins: Vec<AdminContact>,
    pub(super) settings: serde_json::Map<String, serde_json::Value>,
}

impl OrganizationInput {
    /// Checks every field at once (pointers under `base`).
    pub(super) fn validate(self, base: &str, report: &mut Report) -> Option<Described> {
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
    pub(super) fn split(self) -> (Option<String>, OrganizationInput) {
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
