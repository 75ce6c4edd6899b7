//! RFC 9457 problem details: every error answer of the API.
//!
//! Each [`ProblemKind`] has a stable `type` URI, a title and a status, so a
//! client can branch on `type` and a person can read `detail`. Handlers never
//! build a problem body by hand: they return a [`Problem`].

use serde::Serialize;

/// The media type of every error answer.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The classes of error the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// 400: the request cannot be parsed (bad JSON, wrong type, bad query).
    Malformed,
    /// 401: no valid bearer token.
    Unauthenticated,
    /// 403: authenticated, but not allowed to do this.
    Forbidden,
    /// 404: no such record (also another partner's records).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 406: the client accepts no representation we can produce.
    NotAcceptable,
    /// 409: the record is not in a state that allows this.
    InvalidState,
    /// 409: the invite was already accepted.
    AlreadyAccepted,
    /// 409: the partner and the organization are already connected.
    AlreadyConnected,
    /// 409: an open connection request for the pair exists.
    DuplicateRequest,
    /// 409: an `Idempotency-Key` was reused with a different request.
    IdempotencyKeyReused,
    /// 410: the link has expired.
    Expired,
    /// 410: the link was revoked, withdrawn or replaced by a resend.
    Revoked,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 415: the request body has the wrong media type.
    UnsupportedMediaType,
    /// 422: one or more fields are invalid; `errors` lists each.
    ValidationFailed,
    /// 429: too many requests.
    TooManyRequests,
    /// 500: something failed on our side; nothing was changed.
    Internal,
    /// 502: a dependency (store, relay) failed.
    BadGateway,
}

impl ProblemKind {
    /// Every kind, in the order of the enum.
    pub const ALL: [ProblemKind; 19] = {
        use ProblemKind::*;
        [
            Malformed,
            Unauthenticated,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            NotAcceptable,
            InvalidState,
            AlreadyAccepted,
            AlreadyConnected,
            DuplicateRequest,
            IdempotencyKeyReused,
            Expired,
            Revoked,
            PayloadTooLarge,
            UnsupportedMediaType,
            ValidationFailed,
            TooManyRequests,
            Internal,
            BadGateway,
        ]
    };

    /// The HTTP status.
    pub fn status(self) -> u16 {
        use ProblemKind::*;
        match self {
            Malformed => 400,
            Unauthenticated => 401,
            Forbidden => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            NotAcceptable => 406,
            InvalidState | AlreadyAccepted | AlreadyConnected | DuplicateRequest
            | IdempotencyKeyReused => 409,
            Expired | Revoked => 410,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            ValidationFailed => 422,
            TooManyRequests => 429,
            Internal => 500,
            BadGateway => 502,
        }
    }

    /// The stable slug behind the `type` URI.
    pub fn slug(self) -> &'static str {
        use ProblemKind::*;
        match self {
            Malformed => "malformed-request",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            NotFound => "not-found",
            MethodNotAllowed => "method-not-allowed",
            NotAcceptable => "not-acceptable",
            InvalidState => "invalid-state",
            AlreadyAccepted => "already-accepted",
            AlreadyConnected => "already-connected",
            DuplicateRequest => "duplicate-request",
            IdempotencyKeyReused => "idempotency-key-reused",
            Expired => "expired",
            Revoked => "revoked",
            PayloadTooLarge => "payload-too-large",
            UnsupportedMediaType => "unsupported-media-type",
            ValidationFailed => "validation-failed",
            TooManyRequests => "too-many-requests",
            Internal => "internal-error",
            BadGateway => "bad-gateway",
        }
    }

    /// A short, fixed summary.
    pub fn title(self) -> &'static str {
        use ProblemKind::*;
        match self {
            Malformed => "Malformed request",
            Unauthenticated => "Authentication required",
            Forbidden => "Forbidden",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed",
            NotAcceptable => "Not acceptable",
            InvalidState => "Not allowed in the current state",
            AlreadyAccepted => "Already accepted",
            AlreadyConnected => "Already connected",
            DuplicateRequest => "A request is already open",
            IdempotencyKeyReused => "Idempotency key reused",
            Expired => "Link expired",
            Revoked => "Link no longer valid",
            PayloadTooLarge => "Payload too large",
            UnsupportedMediaType => "Unsupported media type",
            ValidationFailed => "Validation failed",
            TooManyRequests => "Too many requests",
            Internal => "Internal error",
            BadGateway => "Upstream failure",
        }
    }

    /// The `type` URI.
    pub fn type_uri(self) -> String {
        format!("urn:partner-invites:problem:{}", self.slug())
    }
}

/// One invalid field, as an RFC 9457 extension member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer to the field in the request body (`/customer/contact/email`).
    pub pointer: String,
    /// What is wrong with it, in English: its rule's words.
    pub detail: String,
    /// The rule it breaks, for a page to word in its reader's language.
    /// The JSON answer says only `detail`.
    #[serde(skip)]
    pub rule: FieldRule,
}

impl FieldError {
    /// A field error at `pointer`, breaking `rule`.
    pub fn new(pointer: impl Into<String>, rule: FieldRule) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            detail: rule.to_string(),
            rule,
        }
    }
}

/// Why a field is invalid: one variant per rule the checks apply, with the
/// values its wording needs. Its `Display` is the English the API answers
/// with, written here only; pages word it from the catalogs instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRule {
    /// Absent or blank.
    Required,
    /// Longer than `max` characters.
    TooLong {
        /// The most characters accepted.
        max: usize,
    },
    /// Holds a control character.
    ControlCharacters,
    /// Not an assigned ISO 3166-1 alpha-2 country code.
    Country,
    /// A VAT ID of other characters than letters and digits, or too long.
    VatCharacters,
    /// A VAT ID without the prefix of its country.
    VatPrefix {
        /// The prefix it must start with (`DE`, `EL`, `CHE`).
        prefix: String,
        /// The country (`DE`).
        country: String,
    },
    /// A VAT ID of a shape its country does not use.
    VatFormat {
        /// The country (`DE`).
        country: String,
        /// A VAT ID of the right shape (`DE999999999`).
        example: String,
    },
    /// Not an E.164 phone number.
    Phone,
    /// Not an email address.
    Email,
    /// Not a language tag.
    Locale,
    /// Not a connection type's wire name.
    Connection,
    /// Not an organization id.
    OrganizationId,
    /// An organization id of characters or a length ids do not have.
    IdCharacters,
    /// Not the address the invite was sent to.
    InvitedAddress {
        /// The invited address.
        email: String,
    },
    /// Both an organization to register and one to link.
    RegisterOrLink,
    /// No admin.
    NoAdmin,
    /// More admins than allowed.
    TooManyAdmins {
        /// The most admins accepted.
        max: usize,
    },
    /// An id that an earlier item of the same import has.
    DuplicateInImport,
    /// An item that could not be read at all, in the words of what read it.
    Unreadable(String),
    /// A URL but not https (http is allowed to localhost only).
    HttpsUrl,
    /// Not a URL.
    NotUrl {
        /// Why the parser refused it.
        reason: String,
    },
    /// More billing accounts than allowed.
    TooManyBillingAccounts {
        /// The most billing accounts accepted.
        max: usize,
    },
    /// A billing email that is not one of the partner's billing accounts.
    BillingAccount {
        /// The partner's billing accounts (maybe none).
        accounts: Vec<String>,
    },
    /// A time to live out of range.
    TtlDays {
        /// The longest accepted, in days.
        max: u32,
    },
}

impl std::fmt::Display for FieldRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use FieldRule::*;
        match self {
            Required => f.write_str("is required"),
            TooLong { max } => write!(f, "must be at most {max} characters"),
            ControlCharacters => f.write_str("must not contain control characters"),
            Country => f.write_str("must be an ISO 3166-1 alpha-2 code such as DE"),
            VatCharacters => f.write_str("must be letters and digits, at most 20"),
            VatPrefix { prefix, country } => {
                write!(f, "must start with {prefix} for country {country}")
            }
            VatFormat { country, example } => {
                write!(f, "is not a valid {country} VAT ID (expected e.g. {example})")
            }
            Phone => f.write_str("must be an E.164 number such as +4930123456"),
            Email => f.write_str("must be an email address such as name@example.com"),
            Locale => f.write_str("must be a language tag such as en or de-CH"),
            Connection => {
                f.write_str("must be msp, reseller_with_support or reseller_without_support")
            }
            OrganizationId => f.write_str("is not an organization id"),
            IdCharacters => f.write_str("must be 1 to 64 letters, digits, '_' or '-'"),
            InvitedAddress { email } => write!(f, "must be the invited address, {email}"),
            RegisterOrLink => f.write_str(
                "give either organization (to register) or organization_id (to link), not both",
            ),
            NoAdmin => f.write_str("name at least one admin (the first receives approval links)"),
            TooManyAdmins { max } => write!(f, "at most {max} admins"),
            DuplicateInImport => f.write_str("appears twice in this import"),
            Unreadable(why) => f.write_str(why),
            HttpsUrl => f.write_str("must be an https URL (http only to localhost)"),
            NotUrl { reason } => write!(f, "is not a URL: {reason}"),
            TooManyBillingAccounts { max } => write!(f, "at most {max} billing accounts"),
            BillingAccount { accounts } if accounts.is_empty() => f.write_str(
                "must be one of your billing accounts, and you have none: add them with PUT /api/partner",
            ),
            BillingAccount { accounts } => write!(
                f,
                "must be one of your billing accounts: {}",
                accounts.join(", ")
            ),
            TtlDays { max } => write!(f, "must be from 1 to {max} days"),
        }
    }
}

/// Which of the situations of one kind a problem is, where a person must
/// tell them apart and only the (English) `detail` would say so: a page
/// words each in its reader's language. The JSON answer does not carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A resend replaced the invite's link.
    InviteReplaced,
    /// The partner revoked the invite.
    InviteRevoked,
    /// The invite was redeemed.
    InviteUsed,
    /// The invite expired.
    InviteExpired,
    /// The connection request expired.
    RequestExpired,
    /// The partner withdrew the connection request.
    RequestWithdrawn,
    /// The connection request was approved or declined.
    RequestDecided,
    /// The relationship a change request concerns has ended.
    RelationshipEnded,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The class of error.
    pub kind: ProblemKind,
    /// What exactly is wrong, for people.
    pub detail: String,
    /// Every invalid field (validation problems).
    pub errors: Vec<FieldError>,
    /// Extra `Allow` header value for 405 answers.
    pub allow: Option<String>,
    /// More headers for the answer (`Retry-After` and `RateLimit` on a 429).
    pub headers: Vec<(String, String)>,
    /// Which situation of its kind it is, for pages.
    pub reason: Option<Reason>,
    /// The locale of the record it is about (an invite's), so that its page
    /// is in the language of that record's emails. (Boxed: a problem stays
    /// small enough to be returned by value everywhere.)
    pub locale: Option<Box<str>>,
}

#[derive(Serialize)]
struct Body<'a> {
    r#type: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    /// A problem of `kind` with `detail`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            allow: None,
            headers: Vec::new(),
            reason: None,
            locale: None,
        }
    }

    /// A 422 listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Problem {
        let fields: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        Problem {
            kind: ProblemKind::ValidationFailed,
            detail: format!("invalid fields: {}", fields.join(", ")),
            errors,
            allow: None,
            headers: Vec::new(),
            reason: None,
            locale: None,
        }
    }

    /// A 405 naming the methods the path accepts (`GET, POST`).
    pub fn method_not_allowed(allow: impl Into<String>) -> Problem {
        let allow = allow.into();
        Problem {
            ..Problem::new(
                ProblemKind::MethodNotAllowed,
                format!("this path accepts {allow}"),
            )
        }
        .with_allow(allow)
    }

    fn with_allow(mut self, allow: String) -> Problem {
        self.allow = Some(allow);
        self
    }

    /// The problem, saying which situation of its kind it is.
    pub fn because(mut self, reason: Reason) -> Problem {
        self.reason = Some(reason);
        self
    }

    /// The problem, about a record with `locale`.
    pub fn about_locale(mut self, locale: Option<&str>) -> Problem {
        self.locale = locale.map(Box::from);
        self
    }

    /// The problem, answered with `headers` too.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Problem {
        self.headers.extend(headers);
        self
    }

    /// A 404 for a record that does not exist for the caller.
    pub fn not_found(what: &str) -> Problem {
        Problem::new(ProblemKind::NotFound, format!("no such {what}"))
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The `application/problem+json` body.
    pub fn to_json(&self) -> Vec<u8> {
        let body = Body {
            r#type: self.kind.type_uri(),
            title: self.kind.title(),
            status: self.status(),
            detail: &self.detail,
            errors: &self.errors,
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.title(),
            self.status(),
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_rfc_9457_members() {
        let p = Problem::validation(vec![FieldError::new(
            "/customer/contact/email",
            FieldRule::Email,
        )]);
        let v: serde_json::Value = serde_json::from_slice(&p.to_json()).expect("json");
        assert_eq!(v["type"], "urn:partner-invites:problem:validation-failed");
        assert_eq!(v["status"], 422);
        assert_eq!(v["title"], "Validation failed");
        assert_eq!(v["errors"][0]["pointer"], "/customer/contact/email");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|d| d.contains("/customer/contact/email"))
        );
    }

    #[test]
    fn no_errors_member_when_there_are_none() {
        let v: serde_json::Value =
            serde_json::from_slice(&Problem::not_found("invite").to_json()).expect("json");
        assert!(v.get("errors").is_none());
        assert_eq!(v["status"], 404);
    }
}
