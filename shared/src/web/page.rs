//! Server-rendered pages for the people who open links: plain HTML forms that
//! work without JavaScript. Every value from outside goes through [`escape`].

use std::fmt::Write;

use crate::clock::{Timestamp, readable, rfc3339};
use crate::domain::customer::{CustomerDetails, CustomerPatch, Patch};
use crate::ops::{ApprovalPreview, RedeemPreview, RedeemRequest, Redeemed};
use crate::problem::{FieldError, Problem, ProblemKind};
use crate::view::RequestView;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}\
h1{font-size:1.5rem}fieldset{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:1rem}\
label{display:block;margin:.5rem 0 .1rem;font-weight:600}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.4rem;border:1px solid #245;background:#245;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#245}button:focus,input:focus{outline:3px solid #f90;outline-offset:2px}\
.grants li::marker{content:'\\2713  '}.muted{color:#555}.problem{border-left:4px solid #b00;padding-left:1rem}\
.problem h2{font-size:1.15rem}.problem a{color:#b00}.field-error{color:#b00;font-weight:600;margin:.1rem 0}\
input[aria-invalid=true]{border:2px solid #b00}.actions{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}.actions button{margin-top:0}";

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>\n",
        escape(title)
    )
}

/// One field of the registration form.
struct Field {
    /// The form control's name and id.
    name: &'static str,
    /// What it is called, alone (in the list of errors).
    label: &'static str,
    /// Said after the label, on the form.
    hint: &'static str,
    /// Where it sits under `organization` in the redeem request.
    path: &'static [&'static str],
    /// The value the partner entered in the invite.
    invited: fn(&CustomerDetails) -> Option<&str>,
    required: bool,
    autocomplete: &'static str,
}

impl Field {
    const fn new(
        name: &'static str,
        label: &'static str,
        path: &'static [&'static str],
        invited: fn(&CustomerDetails) -> Option<&str>,
        autocomplete: &'static str,
    ) -> Field {
        Field {
            name,
            label,
            hint: "",
            path,
            invited,
            required: false,
            autocomplete,
        }
    }

    const fn required(self) -> Field {
        Field {
            required: true,
            ..self
        }
    }

    const fn hint(self, hint: &'static str) -> Field {
        Field { hint, ..self }
    }

    /// Whether a problem's JSON Pointer names this field.
    fn is_at(&self, pointer: &str) -> bool {
        pointer
            .strip_prefix("/organization")
            .and_then(|rest| {
                self.path
                    .iter()
                    .try_fold(rest, |rest, key| rest.strip_prefix('/')?.strip_prefix(key))
            })
            .is_some_and(str::is_empty)
    }
}

/// The form's fields in page order: the company (7), its admin (2), billing (1).
const FIELDS: [Field; 10] = [
    Field::new(
        "company_name",
        "Company name",
        &["company", "name"],
        |c| Some(&c.company.name),
        "organization",
    )
    .required(),
    Field::new(
        "street",
        "Street",
        &["company", "address", "street"],
        |c| c.company.address.street.as_deref(),
        "address-line1",
    ),
    Field::new(
        "house_number",
        "House number",
        &["company", "address", "house_number"],
        |c| c.company.address.house_number.as_deref(),
        "address-line2",
    ),
    Field::new(
        "postcode",
        "Postcode",
        &["company", "address", "postcode"],
        |c| c.company.address.postcode.as_deref(),
        "postal-code",
    ),
    Field::new(
        "city",
        "City",
        &["company", "address", "city"],
        |c| c.company.address.city.as_deref(),
        "address-level2",
    ),
    Field::new(
        "country",
        "Country",
        &["company", "address", "country"],
        |c| c.company.address.country.as_deref(),
        "country",
    )
    .hint(" (two letters, e.g. DE)"),
    Field::new(
        "vat_id",
        "VAT ID",
        &["company", "vat_id"],
        |c| c.company.vat_id.as_deref(),
        "off",
    ),
    Field::new(
        "first_name",
        "First name",
        &["contact", "first_name"],
        |c| Some(&c.contact.first_name),
        "given-name",
    )
    .required(),
    Field::new(
        "last_name",
        "Last name",
        &["contact", "last_name"],
        |c| Some(&c.contact.last_name),
        "family-name",
    )
    .required(),
    Field::new(
        "billing_phone",
        "Billing phone",
        &["billing", "phone"],
        |c| c.billing.phone.as_deref(),
        "tel",
    )
    .hint(" (e.g. +4930123456)"),
];

/// What the registration form holds.
#[derive(Debug, Clone, Copy)]
pub enum Filled<'a> {
    /// The invited details, as the link opens it.
    Invited,
    /// What was sent, and what the server objected to, after a rejected submit.
    Rejected {
        /// The submitted form.
        form: &'a [(String, String)],
        /// The problems, by JSON Pointer into the redeem request.
        errors: &'a [FieldError],
    },
}

impl Filled<'_> {
    fn value<'v>(&'v self, field: &Field, invited: &'v CustomerDetails) -> Option<&'v str> {
        match self {
            Filled::Invited => (field.invited)(invited),
            Filled::Rejected { form, .. } => submitted(form, field.name),
        }
    }

    fn error(&self, field: &Field) -> Option<&str> {
        match self {
            Filled::Invited => None,
            Filled::Rejected { errors, .. } => errors
                .iter()
                .find(|e| field.is_at(&e.pointer))
                .map(|e| e.detail.as_str()),
        }
    }
}

/// A submitted form value, trimmed.
pub(super) fn submitted<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// "must be ..." as a sentence: "Must be ...".
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// An instant as people read it, machine-readable in a `<time>` element.
fn time(at: Timestamp) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        rfc3339(at.0),
        readable(at.0)
    )
}

fn input(out: &mut String, field: &Field, value: Option<&str>, error: Option<&str>, focus: bool) {
    let name = field.name;
    let _ = write!(
        out,
        "<label for=\"{name}\">{}{}{}</label>",
        field.label,
        field.hint,
        if field.required { " (required)" } else { "" },
    );
    if let Some(error) = error {
        let _ = write!(
            out,
            "<p class=\"field-error\" id=\"{name}-error\">{}</p>",
            escape(&sentence(error))
        );
    }
    let _ = write!(
        out,
        "<input id=\"{name}\" name=\"{name}\" value=\"{}\" autocomplete=\"{}\"{}{}{}>",
        escape(value.unwrap_or("")),
        field.autocomplete,
        if field.required { " required" } else { "" },
        if error.is_some() {
            format!(" aria-invalid=\"true\" aria-describedby=\"{name}-error\"")
        } else {
            String::new()
        },
        if focus { " autofocus" } else { "" },
    );
}

fn grants(out: &mut String, labels: impl Iterator<Item = &'static str>) {
    out.push_str("<ul class=\"grants\">");
    for label in labels {
        let _ = write!(out, "<li>{}</li>", escape(label));
    }
    out.push_str("</ul>");
}

/// The list of what to correct, at the top of a rejected form; each entry
/// links to its field.
fn error_summary(out: &mut String, errors: &[FieldError]) {
    let count = errors.len();
    let _ = write!(
        out,
        "<div class=\"problem\" role=\"alert\"><h2>Please correct {count} {}</h2><ul>",
        if count == 1 { "field" } else { "fields" }
    );
    for e in errors {
        match FIELDS.iter().find(|f| f.is_at(&e.pointer)) {
            Some(f) => {
                let _ = write!(
                    out,
                    "<li><a href=\"#{}\">{}: {}</a></li>",
                    f.name,
                    f.label,
                    escape(&e.detail)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<li>{}: {}</li>",
                    escape(&e.pointer),
                    escape(&e.detail)
                );
            }
        }
    }
    out.push_str("</ul></div>");
}

/// The registration page for an invite: as the link opens it, or again with
/// what was typed and what to correct after the server rejected it.
pub fn registration(p: &RedeemPreview, token: &str, filled: Filled<'_>) -> String {
    let c = &p.customer;
    let mut m = String::new();
    if let Filled::Rejected { errors, .. } = filled {
        error_summary(&mut m, errors);
    }
    let _ = write!(
        m,
        "<h1>{} invites you to connect</h1>\
         <p><strong>{}</strong> will be connected to your organization as <strong>{}</strong>. This connection grants:</p>",
        escape(&p.partner_name),
        escape(&p.partner_name),
        escape(p.connection_label),
    );
    grants(&mut m, p.capabilities.iter().map(|c| c.label));
    let _ = write!(
        m,
        "<p>Your first contact for support will be <strong>{}</strong>. Pricing is set by your contract.</p>\
         <p class=\"muted\">This invitation expires on {}.</p>",
        escape(&p.first_contact_name),
        time(p.expires_at),
    );
    let _ = write!(
        m,
        "<form method=\"post\" action=\"/api/invites/redeem\"><input type=\"hidden\" name=\"token\" value=\"{}\">",
        escape(token)
    );
    let first_error = FIELDS.iter().position(|f| filled.error(f).is_some());
    let fields = |m: &mut String, range: std::ops::Range<usize>| {
        for (i, field) in FIELDS.iter().enumerate().take(range.end).skip(range.start) {
            input(
                m,
                field,
                filled.value(field, c),
                filled.error(field),
                first_error == Some(i),
            );
        }
    };
    m.push_str("<fieldset><legend>Company</legend>");
    fields(&mut m, 0..7);
    m.push_str(
        "</fieldset><fieldset><legend>Your details (you become the organization's admin)</legend>",
    );
    fields(&mut m, 7..9);
    let _ = write!(
        m,
        "<p><strong>Email:</strong> <span id=\"contact-email\">{}</span><br><span class=\"muted\">The invitation was sent to this address; it becomes your login.</span></p>",
        escape(&c.contact.email)
    );
    m.push_str("</fieldset><fieldset><legend>Billing</legend>");
    fields(&mut m, 9..10);
    m.push_str(
        "</fieldset><button type=\"submit\">Register and connect</button></form>\
         <p class=\"muted\">Already have an organization? Sign in to the portal as its admin and link it there: \
         its settings stay as they are.</p>",
    );
    let title = format!("{} invites you", p.partner_name);
    match filled {
        Filled::Invited => layout(&title, &m),
        Filled::Rejected { .. } => layout(&format!("Error: {title}"), &m),
    }
}

/// Turns the registration form into a redeem request: filled fields patch
/// the invited details, emptied optional fields remove them.
pub fn form_to_redeem_request(form: &[(String, String)]) -> RedeemRequest {
    let mut patch = CustomerPatch::default();
    for field in &FIELDS {
        if let Some(value) = submitted(form, field.name) {
            let value = if value.is_empty() {
                Patch::Remove
            } else {
                Patch::Set(value.to_string())
            };
            patch.set(field.path, value);
        }
    }
    RedeemRequest {
        token: submitted(form, "token").map(str::to_string),
        organization: Some(patch),
        organization_id: None,
    }
}

/// The page after a successful registration.
pub fn registered(r: &Redeemed) -> String {
    let mut m = String::new();
    let _ = write!(
        m,
        "<h1>You are connected</h1><p>Your organization is now connected to <strong>{}</strong> as <strong>{}</strong>.</p>",
        escape(&r.partner_name),
        escape(r.connection.label())
    );
    grants(&mut m, r.capabilities.iter().map(|c| c.label()));
    let _ = write!(
        m,
        "<p class=\"muted\">Organization id: <code>{}</code>{}</p>",
        escape(&r.organization_id),
        if r.existing_organization {
            " (settings unchanged)"
        } else {
            ""
        }
    );
    layout("Connected", &m)
}

/// The approval page for a connection request.
pub fn approval(p: &ApprovalPreview, token: &str) -> String {
    let mut m = String::new();
    let _ = write!(
        m,
        "<h1>{} asks to connect to {}</h1><p>Approving connects them as <strong>{}</strong>, which grants:</p>",
        escape(&p.partner_name),
        escape(&p.organization_name),
        escape(p.connection_label)
    );
    grants(&mut m, p.capabilities.iter().map(|c| c.label));
    let _ = write!(
        m,
        "<p>Your organization's settings stay as they are. The request expires on {}.</p>",
        time(p.expires_at)
    );
    let id = escape(&p.request_id);
    let token = escape(token);
    let _ = write!(
        m,
        "<div class=\"actions\">\
         <form method=\"post\" action=\"/api/connections/{id}/approve\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\">Approve</button></form>\
         <form method=\"post\" action=\"/api/connections/{id}/decline\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\" class=\"secondary\">Decline</button></form></div>"
    );
    layout(&format!("{} asks to connect", p.partner_name), &m)
}

/// The page after a decision.
pub fn decided(r: &RequestView) -> String {
    let m = format!(
        "<h1>Request {}</h1><p>The connection request was {}. You can close this page.</p>",
        escape(r.status),
        escape(r.status)
    );
    layout(&format!("Request {}", r.status), &m)
}

/// A problem, for people: a plain heading, what happened, and what to do.
pub fn problem(p: &Problem) -> String {
    use ProblemKind::*;
    let heading = match p.kind {
        InvalidState => "No longer possible",
        Internal | BadGateway => "Something went wrong",
        kind => kind.title(),
    };
    let next = match p.kind {
        AlreadyAccepted => {
            "If that was you, sign in to the portal. Otherwise ask the sender for a new link."
        }
        InvalidState => "There is nothing more to do with this link.",
        Internal | BadGateway | TooManyRequests => {
            "Nothing was changed. Please try again in a moment."
        }
        _ => "If you think this is a mistake, ask the sender for a new link.",
    };
    let m = format!(
        "<div class=\"problem\" role=\"alert\"><h1>{}</h1><p>{}</p></div><p class=\"muted\">{next}</p>",
        escape(heading),
        escape(&sentence(&p.detail))
    );
    layout(heading, &m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{ConnectionType, FirstContact};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn form_patches_the_invited_details() {
        let form: Vec<(String, String)> = [
            ("token", "t"),
            ("company_name", "New"),
            ("vat_id", ""),
            ("city", "Köln"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let request = form_to_redeem_request(&form);
        assert_eq!(request.token.as_deref(), Some("t"));
        let patch = request.organization.expect("a patch");
        let Patch::Set(company) = patch.company else {
            panic!("the company is patched: {patch:?}");
        };
        assert_eq!(company.name, Patch::Set("New".into()));
        assert_eq!(company.vat_id, Patch::Remove, "emptied means removed");
        let Patch::Set(address) = company.address else {
            panic!("the address is patched");
        };
        assert_eq!(address.city, Patch::Set("Köln".into()));
        assert!(
            !matches!(patch.contact, Patch::Set(ref c) if c.email != Patch::Keep),
            "the email is never taken from the form"
        );
    }

    fn preview() -> RedeemPreview {
        let mut customer = CustomerDetails::default();
        customer.company.name = "Globex <GmbH>".into();
        customer.company.address.city = Some("Berlin".into());
        customer.contact.first_name = "Ada".into();
        customer.contact.last_name = "Lovelace".into();
        customer.contact.email = "ada@globex.example".into();
        RedeemPreview {
            invite_id: "inv_1".into(),
            partner_name: "Partner & Co".into(),
            connection: ConnectionType::Msp,
            connection_label: ConnectionType::Msp.label(),
            capabilities: Vec::new(),
            first_contact: FirstContact::Partner,
            first_contact_name: "Partner & Co".into(),
            customer,
            expires_at: Timestamp(1_795_953_600),
        }
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn opens_with_the_invited_details_and_a_readable_expiry() {
        let html = registration(&preview(), "tok", Filled::Invited);
        assert!(html.contains("value=\"Globex &lt;GmbH&gt;\""), "{html}");
        assert!(html.contains("value=\"Berlin\""), "{html}");
        assert!(
            html.contains(
                "<time datetime=\"2026-11-29T12:00:00Z\">29 November 2026, 12:00 UTC</time>"
            ),
            "{html}"
        );
        assert!(!html.contains("aria-invalid=\"true\""), "{html}");
        assert!(!html.contains("role=\"alert\""), "{html}");
    }

    #[test]
    fn a_rejected_form_comes_back_with_what_was_typed_and_what_to_fix() {
        let sent = form(&[
            ("token", "tok"),
            ("company_name", "Globex GmbH"),
            ("city", ""),
            ("country", "Germany"),
            ("billing_phone", "0301234"),
        ]);
        let errors = [
            FieldError::new(
                "/organization/company/address/country",
                "must be an ISO code",
            ),
            FieldError::new("/organization/billing/phone", "must be an E.164 number"),
            FieldError::new("/organization/contact/email", "is odd"),
        ];
        let html = registration(
            &preview(),
            "tok",
            Filled::Rejected {
                form: &sent,
                errors: &errors,
            },
        );
        assert!(
            html.contains("<title>Error: Partner &amp; Co invites you</title>"),
            "{html}"
        );
        assert!(html.contains("<h2>Please correct 3 fields</h2>"), "{html}");
        assert!(
            html.contains("<li><a href=\"#country\">Country: must be an ISO code</a></li>"),
            "{html}"
        );
        assert!(
            html.contains("<li>/organization/contact/email: is odd</li>"),
            "an error without a field is still listed: {html}"
        );
        assert!(
            html.contains("<p class=\"field-error\" id=\"country-error\">Must be an ISO code.</p>\
                           <input id=\"country\" name=\"country\" value=\"Germany\" autocomplete=\"country\" \
                           aria-invalid=\"true\" aria-describedby=\"country-error\" autofocus>"),
            "the first invalid field: its message, its value, focused: {html}"
        );
        assert!(
            html.contains("value=\"0301234\" autocomplete=\"tel\" aria-invalid=\"true\" aria-describedby=\"billing_phone-error\">"),
            "only the first invalid field is focused: {html}"
        );
        assert!(
            html.contains("<input id=\"city\" name=\"city\" value=\"\""),
            "what was typed, not the invited value: {html}"
        );
        assert_eq!(html.matches("autofocus").count(), 1, "{html}");
    }

    #[test]
    fn fields_match_their_pointers_exactly() {
        let country = &FIELDS[5];
        assert!(country.is_at("/organization/company/address/country"));
        assert!(!country.is_at("/organization/company/address/countryx"));
        assert!(!country.is_at("/organization/company/address"));
        assert!(!country.is_at("/customer/company/address/country"));
    }

    #[test]
    fn problem_pages_say_what_to_do() {
        let page = |kind, detail: &str| problem(&Problem::new(kind, detail));
        let decided = page(
            ProblemKind::InvalidState,
            "this connection request has already been decided",
        );
        assert!(decided.contains("<h1>No longer possible</h1>"), "{decided}");
        assert!(
            decided.contains("<p>This connection request has already been decided.</p>"),
            "{decided}"
        );
        assert!(decided.contains("nothing more to do"), "{decided}");
        let expired = page(ProblemKind::Expired, "this link has expired");
        assert!(expired.contains("<h1>Link expired</h1>"), "{expired}");
        assert!(
            expired.contains("ask the sender for a new link"),
            "{expired}"
        );
        let failed = page(ProblemKind::BadGateway, "the store failed");
        assert!(failed.contains("Nothing was changed"), "{failed}");
    }
}
