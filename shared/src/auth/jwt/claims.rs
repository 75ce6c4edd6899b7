//! The claims: issuer, audience and times checked, then the principal the
//! configured claim names give. Apart because it is pure: a map of claims
//! in, a principal or the reason out.

use serde_json::{Map, Value};

use super::{AuthConfig, ClaimNames};
use super::{LEEWAY, MAX_SUBJECT, printable, refused};
use crate::auth::{ClaimedOrganization, Principal};
use crate::clock::rfc3339;
use crate::problem::Problem;
use crate::validation::{MAX_EMAIL, MAX_TEXT, Report, is_id};

/// `iss`, `aud`, `exp` and `nbf`.
pub(super) fn check_claims(
    config: &AuthConfig,
    claims: &Map<String, Value>,
    now: u64,
) -> Result<(), Problem> {
    let issuer = config.issuer.as_deref().unwrap_or_default();
    match claims.get("iss") {
        None => return Err(refused("it names no issuer (iss)")),
        Some(Value::String(iss)) if iss == issuer => {}
        Some(_) => {
            return Err(refused(
                "its issuer (iss) is not the configured identity provider",
            ));
        }
    }
    let audience = config.audience.as_deref().unwrap_or_default();
    let fits = match claims.get("aud") {
        None => return Err(refused("it names no audience (aud)")),
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
    };
    if !fits {
        return Err(refused("its audience (aud) is not this app"));
    }
    let time = |name: &str| -> Result<Option<u64>, Problem> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| refused(format!("its {name} is not a time in seconds"))),
        }
    };
    let exp = time("exp")?.ok_or_else(|| refused("it has no expiry (exp)"))?;
    if now > exp.saturating_add(LEEWAY) {
        return Err(refused(format!("it expired at {}", rfc3339(exp))));
    }
    if let Some(nbf) = time("nbf")?
        && now.saturating_add(LEEWAY) < nbf
    {
        return Err(refused(format!("it is not valid before {}", rfc3339(nbf))));
    }
    Ok(())
}

/// The claim `name`: a top-level claim of that name, else (for a name with
/// dots) the path through nested objects.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    let mut parts = name.split('.');
    let first = claims.get(parts.next()?)?;
    parts.try_fold(first, |v, part| v.get(part))
}

/// The principal the claims name.
pub(super) fn principal(
    names: &ClaimNames,
    claims: &Map<String, Value>,
) -> Result<Principal, String> {
    let user = match claims.get("sub") {
        None => None,
        Some(Value::String(sub))
            if !sub.is_empty()
                && sub.chars().count() <= MAX_SUBJECT
                && !sub.chars().any(char::is_control) =>
        {
            Some(sub.clone())
        }
        Some(_) => {
            return Err(format!(
                "its subject (sub) is not a string of 1 to {MAX_SUBJECT} characters"
            ));
        }
    };
    let role = role(names, claims)?;
    let id = |name: &str| -> Result<String, String> {
        claim(claims, name)
            .and_then(Value::as_str)
            .filter(|id| is_id(id))
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "its role needs an id in claim {}: 1 to 64 letters, digits, '_' or '-'",
                    printable(name)
                )
            })
    };
    match role {
        "partner" => Ok(Principal::Partner {
            partner_id: id(&names.partner_id)?,
            user,
        }),
        "customer_admin" => {
            let organization_id = id(&names.organization_id)?;
            let text = |name: &str| -> Result<Option<&str>, String> {
                match claim(claims, name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(format!("its claim {} is not a string", printable(name))),
                }
            };
            let mut report = Report::new();
            let name = report.optional_text(
                &names.organization_name,
                text(&names.organization_name)?,
                MAX_TEXT,
            );
            if !report.is_empty() {
                return Err(format!(
                    "its claim {} is not a name of at most {MAX_TEXT} characters",
                    printable(&names.organization_name)
                ));
            }
            let email = report.optional_email(&names.email, text(&names.email)?);
            if !report.is_empty() {
                return Err(format!(
                    "its claim {} is not an email address of at most {MAX_EMAIL} characters",
                    printable(&names.email)
                ));
            }
            Ok(Principal::CustomerAdmin {
                organization_id,
                user,
                claimed: ClaimedOrganization { name, email },
            })
        }
        _ => Ok(Principal::Operator { user }),
    }
}

/// The one role the role claim names.
fn role<'a>(names: &ClaimNames, claims: &'a Map<String, Value>) -> Result<&'a str, String> {
    const ROLES: [&str; 3] = ["partner", "customer_admin", "operator"];
    let none = || {
        format!(
            "its claim {} names none of the roles partner, customer_admin, operator",
            printable(&names.role)
        )
    };
    let found: Vec<&str> = match claim(claims, &names.role) {
        None => return Err(format!("it has no role claim {}", printable(&names.role))),
        Some(Value::String(role)) => vec![role.as_str()],
        Some(Value::Array(roles)) => roles.iter().filter_map(Value::as_str).collect(),
        Some(_) => return Err(none()),
    };
    let known: Vec<&str> = found.into_iter().filter(|r| ROLES.contains(r)).collect();
    match known.as_slice() {
        [one] => Ok(one),
        [] => Err(none()),
        _ => Err(format!(
            "its claim {} names more than one role",
            printable(&names.role)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_found_by_name_then_by_path() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "https://example.com/role": "partner",
            "realm_access": {"roles": ["offline_access", "operator"]},
        }))
        .expect("object");
        assert_eq!(
            claim(&claims, "https://example.com/role"),
            Some(&Value::from("partner"))
        );
        let names = ClaimNames {
            role: "realm_access.roles".into(),
            ..ClaimNames::default()
        };
        assert_eq!(role(&names, &claims), Ok("operator"));
    }
}
