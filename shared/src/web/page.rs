//! Server-rendered pages for the people who open links: plain HTML forms that
//! work without JavaScript.
//!
//! Each screen is one `maud::html!` template, inside `layout`. A value
//! spliced into a template as `(value)` is always escaped, in element text
//! and in attribute values alike; only [`Markup`] made by `html!` itself goes
//! in as it is. The only text marked pre-escaped is maud's doctype and the
//! constant style sheet.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::clock::{Timestamp, readable, rfc3339};
use crate::domain::customer::{CustomerDetails, CustomerPatch, Patch};
use crate::ops::{ApprovalPreview, RedeemPreview, RedeemRequest, Redeemed};
use crate::problem::{FieldError, Problem, ProblemKind};
use crate::view::RequestView;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}\
h1{font-size:1.5rem}fieldset{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:1rem}\
label{display:block;margin:.5rem 0 .1rem;font-weight:600}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.4rem;border:1px solid #245;background:#245;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#245}button:focus,input:focus{outline:3px solid #f90;outline-offset:2px}\
.grants li::marker{content:'\\2713  '}.muted{color:#555}.problem{border-left:4px solid #b00;padding-left:1rem}\
.problem h2{font-size:1.15rem}.problem a{color:#b00}.field-error{color:#b00;font-weight:600;margin:.1rem 0}\
input[aria-invalid=true]{border:2px solid #b00}.actions{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}.actions button{margin-top:0}";

/// The page around every screen: its title, the style sheet, `<main>`.
fn layout(title: Markup, main: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (main) } }
        }
        "\n"
    }
    .into_string()
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
fn time(at: Timestamp) -> Markup {
    html! { time datetime=(rfc3339(at.0)) { (readable(at.0)) } }
}

/// One field's label, its error (if any) and its input.
fn input(field: &Field, value: Option<&str>, error: Option<&str>, focus: bool) -> Markup {
    let name = field.name;
    let error_id = error.map(|_| format!("{name}-error"));
    html! {
        label for=(name) {
            (field.label) (field.hint)
            @if field.required { " (required)" }
        }
        @if let (Some(error), Some(id)) = (error, &error_id) {
            p class="field-error" id=(id) { (sentence(error)) }
        }
        input id=(name) name=(name) value=(value.unwrap_or("")) autocomplete=(field.autocomplete)
            required[field.required] aria-invalid=[error.map(|_| "true")]
            aria-describedby=[error_id] autofocus[focus];
    }
}

/// What a connection grants, one item per capability.
fn grants<'a>(labels: impl Iterator<Item = &'a str>) -> Markup {
    html! { ul class="grants" { @for label in labels { li { (label) } } } }
}

/// The list of what to correct, at the top of a rejected form; each entry
/// links to its field.
fn error_summary(errors: &[FieldError]) -> Markup {
    let count = errors.len();
    html! {
        div class="problem" role="alert" {
            h2 { "Please correct " (count) @if count == 1 { " field" } @else { " fields" } }
            ul {
                @for e in errors {
                    @match FIELDS.iter().find(|f| f.is_at(&e.pointer)) {
                        Some(f) => li { a href={ "#" (f.name) } { (f.label) ": " (e.detail) } },
                        None => li { (e.pointer) ": " (e.detail) },
                    }
                }
            }
        }
    }
}

/// The registration page for an invite: as the link opens it, or again with
/// what was typed and what to correct after the server rejected it.
pub fn registration(p: &RedeemPreview, token: &str, filled: Filled<'_>) -> String {
    let c = &p.customer;
    let first_error = FIELDS.iter().position(|f| filled.error(f).is_some());
    let fields = |range: std::ops::Range<usize>| {
        html! {
            @for (i, field) in FIELDS.iter().enumerate().take(range.end).skip(range.start) {
                (input(field, filled.value(field, c), filled.error(field), first_error == Some(i)))
            }
        }
    };
    let main = html! {
        @if let Filled::Rejected { errors, .. } = filled { (error_summary(errors)) }
        h1 { (p.partner_name) " invites you to connect" }
        p {
            strong { (p.partner_name) } " will be connected to your organization as "
            strong { (p.connection_label) } ". This connection grants:"
        }
        (grants(p.capabilities.iter().map(|c| c.label)))
        p {
            "Your first contact for support will be " strong { (p.first_contact_name) }
            ". Pricing is set by your contract."
        }
        p class="muted" { "This invitation expires on " (time(p.expires_at)) "." }
        form method="post" action="/api/invites/redeem" {
            input type="hidden" name="token" value=(token);
            fieldset { legend { "Company" } (fields(0..7)) }
            fieldset {
                legend { "Your details (you become the organization's admin)" }
                (fields(7..9))
                p {
                    strong { "Email:" } " " span id="contact-email" { (c.contact.email) } br;
                    span class="muted" { "The invitation was sent to this address; it becomes your login." }
                }
            }
            fieldset { legend { "Billing" } (fields(9..10)) }
            button type="submit" { "Register and connect" }
        }
        p class="muted" {
            "Already have an organization? Sign in to the portal as its admin and link it there: "
            "its settings stay as they are."
        }
    };
    let title = html! {
        @if let Filled::Rejected { .. } = filled { "Error: " }
        (p.partner_name) " invites you"
    };
    layout(title, main)
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
    let main = html! {
        h1 { "You are connected" }
        p {
            "Your organization is now connected to " strong { (r.partner_name) }
            " as " strong { (r.connection.label()) } "."
        }
        (grants(r.capabilities.iter().map(|c| c.label())))
        p class="muted" {
            "Organization id: " code { (r.organization_id) }
            @if r.existing_organization { " (settings unchanged)" }
        }
    };
    layout(html! { "Connected" }, main)
}

/// The approval page for a connection request.
pub fn approval(p: &ApprovalPreview, token: &str) -> String {
    let main = html! {
        h1 { (p.partner_name) " asks to connect to " (p.organization_name) }
        p { "Approving connects them as " strong { (p.connection_label) } ", which grants:" }
        (grants(p.capabilities.iter().map(|c| c.label)))
        p { "Your organization's settings stay as they are. The request expires on " (time(p.expires_at)) "." }
        div class="actions" {
            form method="post" action={ "/api/connections/" (p.request_id) "/approve" } {
                input type="hidden" name="token" value=(token);
                button type="submit" { "Approve" }
            }
            form method="post" action={ "/api/connections/" (p.request_id) "/decline" } {
                input type="hidden" name="token" value=(token);
                button type="submit" class="secondary" { "Decline" }
            }
        }
    };
    layout(html! { (p.partner_name) " asks to connect" }, main)
}

/// The page after a decision.
pub fn decided(r: &RequestView) -> String {
    let main = html! {
        h1 { "Request " (r.status) }
        p { "The connection request was " (r.status) ". You can close this page." }
    };
    layout(html! { "Request " (r.status) }, main)
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
    let main = html! {
        div class="problem" role="alert" { h1 { (heading) } p { (sentence(&p.detail)) } }
        p class="muted" { (next) }
    };
    layout(html! { (heading) }, main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{ConnectionType, FirstContact};

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

    fn hostile() -> (&'static str, &'static str) {
        (
            "<script>alert('x')</script> & \"q\"",
            // maud leaves `'` as it is: every attribute value is double-quoted.
            "&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;q&quot;",
        )
    }

    #[test]
    fn hostile_values_are_escaped_in_text_and_attributes() {
        let (raw, escaped) = hostile();
        let mut p = preview();
        p.partner_name = raw.into();
        p.customer.contact.email = raw.into();
        let sent = form(&[("token", raw), ("company_name", raw)]);
        let errors = [
            FieldError::new("/organization/company/name", raw),
            FieldError::new(raw, raw),
        ];
        let filled = Filled::Rejected {
            form: &sent,
            errors: &errors,
        };
        let html = registration(&p, raw, filled);
        for expected in [
            format!("<title>Error: {escaped} invites you</title>"),
            format!("<h1>{escaped} invites you to connect</h1>"),
            format!("<span id=\"contact-email\">{escaped}</span>"),
            format!("<li><a href=\"#company_name\">Company name: {escaped}</a></li>"),
            format!("<li>{escaped}: {escaped}</li>"),
            format!("<p class=\"field-error\" id=\"company_name-error\">{escaped}.</p>"),
            format!("<input type=\"hidden\" name=\"token\" value=\"{escaped}\">"),
            format!("name=\"company_name\" value=\"{escaped}\""),
        ] {
            assert!(html.contains(&expected), "lacks {expected}: {html}");
        }
        assert!(!html.contains("<script>"), "{html}");

        let approval = approval(
            &ApprovalPreview {
                request_id: raw.into(),
                partner_name: raw.into(),
                organization_id: "org_1".into(),
                organization_name: raw.into(),
                connection: ConnectionType::Msp,
                connection_label: ConnectionType::Msp.label(),
                capabilities: Vec::new(),
                first_contact: FirstContact::Partner,
                expires_at: Timestamp(1_795_953_600),
            },
            raw,
        );
        for expected in [
            format!("<h1>{escaped} asks to connect to {escaped}</h1>"),
            format!(
                "action=\"/api/connections/{escaped}/approve\"><input type=\"hidden\" name=\"token\" value=\"{escaped}\">"
            ),
        ] {
            assert!(approval.contains(&expected), "lacks {expected}: {approval}");
        }
        let problem = problem(&Problem::new(ProblemKind::NotFound, raw));
        assert!(problem.contains(&format!("<p>{escaped}.</p>")), "{problem}");
        for page in [approval, problem] {
            assert!(!page.contains("<script>"), "{page}");
        }
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
