//! Who is calling: bearer access tokens.
//!
//! Two kinds are accepted. The product's own `pi1` access tokens, verified
//! with the same key ring as links ([`verify_pi1`]), always; and JWTs from
//! the vendor's OpenID Connect provider ([`jwt`]), when JWT verification is
//! configured ([`AuthConfig`]). A token is tried as `pi1` when it starts with
//! `pi1.` (or whenever JWTs are not configured), otherwise as a JWT: the
//! decision is made on the token's first bytes, never by trying one and
//! falling back to the other.

pub mod jwt;
mod verifiers;

pub use jwt::{AuthConfig, ClaimNames, SharedSecret};

use crate::domain::Actor;
use crate::problem::{Problem, ProblemKind};
use crate::token::{KeyRing, Purpose, Role};
use crate::validation::is_id;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A partner's user or system.
    Partner {
        /// The partner.
        partner_id: String,
        /// The user.
        user: Option<String>,
    },
    /// An admin of a customer organization.
    CustomerAdmin {
        /// The organization.
        organization_id: String,
        /// The user.
        user: Option<String>,
        /// What the token says of the organization and the admin, for an
        /// organization the platform has not told us about yet.
        claimed: ClaimedOrganization,
    },
    /// The vendor's staff.
    Operator {
        /// The user.
        user: Option<String>,
    },
}

/// What a customer admin's token may say of the organization beyond its id
/// (the vendor's identity provider knows it; our own tokens do not carry it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimedOrganization {
    /// The organization's name.
    pub name: Option<String>,
    /// The admin's email.
    pub email: Option<String>,
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Result<&str, Problem> {
    let header = authorization.ok_or_else(|| {
        Problem::new(
            ProblemKind::Unauthenticated,
            "send an access token: Authorization: Bearer <token>",
        )
    })?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::Unauthenticated,
                "the Authorization header must use the Bearer scheme",
            )
        })
}

/// Reads `Authorization: Bearer <token>` and verifies it as a `pi1` access
/// token (JWTs are verified by [`crate::ops::App::authenticate`]).
pub fn authenticate(
    keys: &KeyRing,
    authorization: Option<&str>,
    now: u64,
) -> Result<Principal, Problem> {
    verify_pi1(keys, bearer(authorization)?, now)
}

/// Verifies `token` as one of the product's own `pi1` access tokens.
pub fn verify_pi1(keys: &KeyRing, token: &str, now: u64) -> Result<Principal, Problem> {
    let claims = keys.verify(token, Purpose::Access, now).map_err(|e| {
        Problem::new(
            ProblemKind::Unauthenticated,
            format!("the access token is not valid ({e})"),
        )
    })?;
    let invalid = || {
        Problem::new(
            ProblemKind::Unauthenticated,
            "the access token lacks the id its role needs",
        )
    };
    let user = claims.subject.clone();
    match claims.role {
        Some(Role::Partner) => {
            let partner_id = claims
                .partner_id
                .filter(|id| is_id(id))
                .ok_or_else(invalid)?;
            Ok(Principal::Partner { partner_id, user })
        }
        Some(Role::CustomerAdmin) => {
            let organization_id = claims
                .organization_id
                .filter(|id| is_id(id))
                .ok_or_else(invalid)?;
            Ok(Principal::CustomerAdmin {
                organization_id,
                user,
                claimed: ClaimedOrganization::default(),
            })
        }
        Some(Role::Operator) => Ok(Principal::Operator { user }),
        None => Err(invalid()),
    }
}

impl Principal {
    /// The partner id, or 403 for other roles.
    pub fn partner_id(&self) -> Result<&str, Problem> {
        match self {
            Principal::Partner { partner_id, .. } => Ok(partner_id),
            _ => Err(Problem::new(
                ProblemKind::Forbidden,
                "this endpoint is for partners",
            )),
        }
    }

    /// The organization id, or 403 for other roles.
    pub fn organization_id(&self) -> Result<&str, Problem> {
        match self {
            Principal::CustomerAdmin {
                organization_id, ..
            } => Ok(organization_id),
            _ => Err(Problem::new(
                ProblemKind::Forbidden,
                "this endpoint is for customer admins",
            )),
        }
    }

    /// 403 unless an operator.
    pub fn require_operator(&self) -> Result<(), Problem> {
        match self {
            Principal::Operator { .. } => Ok(()),
            _ => Err(Problem::new(
                ProblemKind::Forbidden,
                "this endpoint is for operators",
            )),
        }
    }

    /// The principal as recorded in audit history.
    pub fn actor(&self) -> Actor {
        match self.clone() {
            Principal::Partner { partner_id, user } => Actor::Partner { partner_id, user },
            Principal::CustomerAdmin {
                organization_id,
                user,
                ..
            } => Actor::CustomerAdmin {
                organization_id,
                user,
            },
            Principal::Operator { user } => Actor::Operator { user },
        }
    }
}
