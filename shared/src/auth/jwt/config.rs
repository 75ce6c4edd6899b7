//! The settings of JWT verification, from Spin variables, checked as they
//! are read. Apart because they are read once at start, not per token.

use super::MIN_SECRET;
use super::jwk::{key_set, usable};

/// The Spin variables JWT verification reads ([`AuthConfig::from_variables`]).
pub const VARIABLES: [&str; 10] = [
    "auth_issuer",
    "auth_audience",
    "auth_jwks",
    "auth_jwks_url",
    "auth_hs256_secret",
    "auth_role_claim",
    "auth_partner_claim",
    "auth_organization_claim",
    "auth_organization_name_claim",
    "auth_email_claim",
];

/// How JWTs are verified. The default verifies none: only `pi1` tokens are
/// accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// The `iss` every token must carry (`auth_issuer`), exactly as the
    /// provider writes it.
    pub issuer: Option<String>,
    /// The value `aud` must contain (`auth_audience`).
    pub audience: Option<String>,
    /// A key set, as JSON (`auth_jwks`).
    pub jwks: Option<String>,
    /// Where the key set is fetched (`auth_jwks_url`).
    pub jwks_url: Option<String>,
    /// The HS256 secret (`auth_hs256_secret`).
    pub hs256_secret: Option<SharedSecret>,
    /// Which claims say what.
    pub claims: ClaimNames,
}

/// Which claims carry the role, the ids, and what an organization admin's
/// token says of the organization. A name is looked up as a top-level claim
/// first (`https://example.com/role` is one name); failing that, a name with
/// dots is a path into nested objects (`realm_access.roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// `partner`, `customer_admin` or `operator`, as a string or in an array
    /// of strings (`auth_role_claim`, default `role`).
    pub role: String,
    /// The partner's id (`auth_partner_claim`, default `partner_id`).
    pub partner_id: String,
    /// The organization's id (`auth_organization_claim`, default `organization_id`).
    pub organization_id: String,
    /// The organization's name (`auth_organization_name_claim`, default `organization_name`).
    pub organization_name: String,
    /// The admin's email (`auth_email_claim`, default `email`).
    pub email: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            role: "role".into(),
            partner_id: "partner_id".into(),
            organization_id: "organization_id".into(),
            organization_name: "organization_name".into(),
            email: "email".into(),
        }
    }
}

/// The HS256 secret: its bytes, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(pub(super) Vec<u8>);

impl SharedSecret {
    /// A secret of these bytes (the variable's UTF-8 text).
    pub fn new(bytes: impl Into<Vec<u8>>) -> SharedSecret {
        SharedSecret(bytes.into())
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

impl AuthConfig {
    /// The configuration from variables (`get` answers `None` for an unset
    /// or empty one), checked with [`AuthConfig::check`].
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let defaults = ClaimNames::default();
        let config = AuthConfig {
            issuer: get("auth_issuer"),
            audience: get("auth_audience"),
            jwks: get("auth_jwks"),
            jwks_url: get("auth_jwks_url"),
            hs256_secret: get("auth_hs256_secret").map(SharedSecret::new),
            claims: ClaimNames {
                role: get("auth_role_claim").unwrap_or(defaults.role),
                partner_id: get("auth_partner_claim").unwrap_or(defaults.partner_id),
                organization_id: get("auth_organization_claim").unwrap_or(defaults.organization_id),
                organization_name: get("auth_organization_name_claim")
                    .unwrap_or(defaults.organization_name),
                email: get("auth_email_claim").unwrap_or(defaults.email),
            },
        };
        config.check()?;
        Ok(config)
    }

    /// Whether JWTs are verified at all: some key is configured.
    pub fn enabled(&self) -> bool {
        self.jwks.is_some() || self.jwks_url.is_some() || self.hs256_secret.is_some()
    }

    /// Whether the settings fit together; the error names the variable and
    /// never shows a secret.
    pub fn check(&self) -> Result<(), String> {
        if !self.enabled() {
            if self.issuer.is_some() || self.audience.is_some() {
                return Err(
                    "auth_issuer or auth_audience is set, but no key to verify JWTs \
                     with: set auth_jwks, auth_jwks_url or auth_hs256_secret"
                        .into(),
                );
            }
            return Ok(());
        }
        if self.issuer.is_none() {
            return Err("JWT keys are configured without auth_issuer".into());
        }
        if self.audience.is_none() {
            return Err("JWT keys are configured without auth_audience".into());
        }
        if let Some(jwks) = &self.jwks {
            let set = key_set(jwks.as_bytes()).map_err(|e| format!("auth_jwks: {e}"))?;
            if set.iter().all(|k| usable(k).is_none()) {
                return Err(
                    "auth_jwks holds no key this app verifies with (RSA of 2048 \
                     bits or more, EC P-256 or Ed25519 signature keys)"
                        .into(),
                );
            }
        }
        // Not `url::Url::parse`: its IDNA tables would cost most components
        // about 190 KB; the transport refuses a URL it cannot send to.
        if let Some(url) = &self.jwks_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                return Err("auth_jwks_url must be an https:// (or http://) URL".into());
            }
        }
        if self
            .hs256_secret
            .as_ref()
            .is_some_and(|s| s.0.len() < MIN_SECRET)
        {
            return Err(format!(
                "auth_hs256_secret must be at least {MIN_SECRET} bytes"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_shown() {
        let config = AuthConfig {
            hs256_secret: Some(SharedSecret::new("a secret of thirty-two bytes or more!")),
            ..AuthConfig::default()
        };
        assert!(!format!("{config:?}").contains("thirty-two"));
    }

    #[test]
    fn variables_give_defaults_and_are_checked() {
        let none = AuthConfig::from_variables(|_| None).expect("no JWTs");
        assert!(!none.enabled());
        assert_eq!(none.claims, ClaimNames::default());
        let issuer_only = AuthConfig::from_variables(|n| {
            (n == "auth_issuer").then(|| "https://idp.example/".to_string())
        });
        assert!(issuer_only.is_err(), "an issuer without keys is a mistake");
        let short = AuthConfig::from_variables(|n| match n {
            "auth_issuer" => Some("i".into()),
            "auth_audience" => Some("a".into()),
            "auth_hs256_secret" => Some("short".into()),
            _ => None,
        });
        let e = short.expect_err("short secret");
        assert!(e.contains("32 bytes") && !e.contains("short\""), "{e}");
        let bad_set = AuthConfig::from_variables(|n| match n {
            "auth_issuer" => Some("i".into()),
            "auth_audience" => Some("a".into()),
            "auth_jwks" => Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into()),
            _ => None,
        });
        assert!(bad_set.expect_err("no usable key").contains("no key"));
    }
}
