//! A customer organization on the platform.

use serde::{Deserialize, Serialize};

use super::customer::CustomerDetails;
use super::ids::OrganizationId;

/// A customer organization on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `org_<hex>` when registered here; the platform's own id otherwise.
    pub id: OrganizationId,
    /// Company, contact and billing details (the contact is the first admin).
    pub details: CustomerDetails,
    /// Where approval links go: the first admin's email.
    pub admin_email: String,
    /// Every admin the platform names, the first one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<AdminContact>,
    /// The organization's own settings; the product stores them and never changes them.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// When it became known here (Unix seconds).
    pub created_at: u64,
    /// How it became known here.
    #[serde(default, skip_serializing_if = "OrganizationSource::is_registered")]
    pub source: OrganizationSource,
}

/// An admin of an organization, as the platform names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminContact {
    /// Their email: their login, and where approval links go for the first one.
    pub email: String,
    /// Their name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How an organization became known here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationSource {
    /// Registered through an invite.
    #[default]
    Registered,
    /// Told by the platform (`PUT /api/organizations/{id}`, import).
    Platform,
    /// Named by its admin's access token, the first time it was used here.
    Token,
}

impl OrganizationSource {
    /// Whether it is the default, [`OrganizationSource::Registered`].
    pub fn is_registered(&self) -> bool {
        *self == OrganizationSource::Registered
    }
}
