//! A partner's settings: how it is shown, how it bills, where events go.

use serde::{Deserialize, Serialize};

/// Where a partner's events are delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// `https://` (or loopback `http://`) URL.
    pub url: String,
    /// `whsec_<base64>`, Standard Webhooks style; shown once when created.
    pub secret: String,
    /// Set when the endpoint answered 410 Gone: nothing is sent to it until
    /// the partner enables it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<EndpointDisabled>,
}

/// Why and when an endpoint was disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDisabled {
    /// When (Unix seconds).
    pub at: u64,
    /// Why, in words.
    pub reason: String,
    /// The delivery whose answer disabled it.
    pub delivery_id: String,
}

/// A partner's profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartnerProfile {
    /// The partner id (from its access tokens).
    pub partner_id: String,
    /// The name customers see.
    pub display_name: String,
    /// Billing account emails; an invite's billing email must be one of them.
    #[serde(default)]
    pub billing_accounts: Vec<String>,
    /// Where events go, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookEndpoint>,
}

impl PartnerProfile {
    /// The profile a partner has before it saves one: its id as its name.
    pub fn fallback(partner_id: &str) -> PartnerProfile {
        PartnerProfile {
            partner_id: partner_id.to_string(),
            display_name: partner_id.to_string(),
            ..PartnerProfile::default()
        }
    }
}
