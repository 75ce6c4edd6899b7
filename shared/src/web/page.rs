//! Server-rendered pages for the people who open links: plain HTML forms that
//! work without JavaScript, in the reader's language ([`crate::messages`]).
//!
//! Each screen is one `maud::html!` template, inside `layout`, and every
//! word on it is a message of the catalogs. A value spliced into a template
//! as `(value)` is always escaped, in element text and in attribute values
//! alike; only [`Markup`] made by `html!` itself goes in as it is, and a
//! message's own words are escaped as they are filled in
//! ([`Language::html`]). The only text marked pre-escaped is maud's doctype
//! and the constant style sheet.
//!
//! A page's forms carry its language (a hidden `lang` field), so that the
//! page answering a submit is in the language of the page submitted.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::capabilities::Capability;
use crate::clock::{Timestamp, rfc3339};
use crate::domain::customer::{CustomerDetails, CustomerPatch, Patch};
use crate::messages::{Language, Msg};
use crate::ops::{ApprovalPreview, LabelledCapability, RedeemPreview, RedeemRequest, Redeemed};
use crate::problem::{FieldError, FieldRule, Problem, ProblemKind, Reason};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}\
h1{font-size:1.5rem}fieldset{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:1rem}\
label{display:block;margin:.5rem 0 .1rem;font-weight:600}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.4rem;border:1px solid #245;background:#245;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#245}button:focus,input:focus{outline:3px solid #f90;outline-offset:2px}\
.grants li::marker{content:'\\2713  '}.muted{color:#555}.problem{border-left:4px solid #b00;padding-left:1rem}\
.problem h2{font-size:1.15rem}.problem a{color:#b00}.field-error{color:#b00;font-weight:600;margin:.1rem 0}\
input[aria-invalid=true]{border:2px solid #b00}.actions{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}.actions button{margin-top:0}\
.change{display:flex;gap:2rem;flex-wrap:wrap}.change section{flex:1 1 14rem}.change h2{font-size:1.1rem}\
.losses li::marker{content:'\\2212  '}";

/// The name of the hidden field that carries a page's language to the page
/// answering its form.
pub const LANGUAGE_FIELD: &str = "lang";

/// What a link leads to, for the words of its problem pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// An invite link (`/invite/...`) and its registration form.
    Invite,
    /// An approval link (`/connect/...`) and its decision forms.
    Request,
}

/// The page around every screen: its language, its title, the style sheet, `<main>`.
fn layout(language: Language, title: Markup, main: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang=(language.tag()) {
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

/// A value as markup (escaped), to fill a message's placeholder.
fn plain(value: &str) -> Markup {
    html! { (value) }
}

/// A value in bold.
fn strong(value: &str) -> Markup {
    html! { strong { (value) } }
}

/// One field of the registration form.
struct Field {
    /// The form control's name and id.
    name: &'static str,
    /// What it is called, alone (in the list of errors).
    label: Msg,
    /// Said after the label, on the form.
    hint: Option<Msg>,
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
        label: Msg,
        path: &'static [&'static str],
        invited: fn(&CustomerDetails) -> Option<&str>,
        autocomplete: &'static str,
    ) -> Field {
        Field {
            name,
            label,
            hint: None,
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

    const fn hint(self, hint: Msg) -> Field {
        Field {
            hint: Some(hint),
            ..self
        }
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

    /// Its label on the form: what it is called, its hint, whether it is required.
    fn label(&self, language: Language) -> Markup {
        let mut label = plain(language.get(self.label));
        if let Some(hint) = self.hint {
            label = language.html(
                Msg::FieldWithHint,
                &[("label", label), ("hint", plain(language.get(hint)))],
            );
        }
        if self.required {
            label = language.html(Msg::FieldRequired, &[("label", label)]);
        }
        label
    }
}

/// The form's fields in page order: the company (7), its admin (2), billing (1).
const FIELDS: [Field; 10] = [
    Field::new(
        "company_name",
        Msg::FieldCompanyName,
        &["company", "name"],
        |c| Some(&c.company.name),
        "organization",
    )
    .required(),
    Field::new(
        "street",
        Msg::FieldStreet,
        &["company", "address", "street"],
        |c| c.company.address.street.as_deref(),
        "address-line1",
    ),
    Field::new(
        "house_number",
        Msg::FieldHouseNumber,
        &["company", "address", "house_number"],
        |c| c.company.address.house_number.as_deref(),
        "address-line2",
    ),
    Field::new(
        "postcode",
        Msg::FieldPostcode,
        &["company", "address", "postcode"],
        |c| c.company.address.postcode.as_deref(),
        "postal-code",
    ),
    Field::new(
        "city",
        Msg::FieldCity,
        &["company", "address", "city"],
        |c| c.company.address.city.as_deref(),
        "address-level2",
    ),
    Field::new(
        "country",
        Msg::FieldCountry,
        &["company", "address", "country"],
        |c| c.company.address.country.as_deref(),
        "country",
    )
    .hint(Msg::FieldHintCountry),
    Field::new(
        "vat_id",
        Msg::FieldVatId,
        &["company", "vat_id"],
        |c| c.company.vat_id.as_deref(),
        "off",
    ),
    Field::new(
        "first_name",
        Msg::FieldFirstName,
        &["contact", "first_name"],
        |c| Some(&c.contact.first_name),
        "given-name",
    )
    .required(),
    Field::new(
        "last_name",
        Msg::FieldLastName,
        &["contact", "last_name"],
        |c| Some(&c.contact.last_name),
        "family-name",
    )
    .required(),
    Field::new(
        "billing_phone",
        Msg::FieldBillingPhone,
        &["billing", "phone"],
        |c| c.billing.phone.as_deref(),
        "tel",
    )
    .hint(Msg::FieldHintBillingPhone),
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

    fn error(&self, field: &Field) -> Option<&FieldRule> {
        match self {
            Filled::Invited => None,
            Filled::Rejected { errors, .. } => errors
                .iter()
                .find(|e| field.is_at(&e.pointer))
                .map(|e| &e.rule),
        }
    }
}

/// A submitted form value, trimmed.
pub(super) fn submitted<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// The language a submitted form was shown in, if it says.
pub fn form_language(form: &[(String, String)]) -> Option<Language> {
    submitted(form, LANGUAGE_FIELD).and_then(Language::of_tag)
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

/// A field error as a sentence in `language`: its rule's message where the
/// catalogs have one; else, in English, the API's own words, and in any
/// other language a plain "this value is not valid" rather than English.
fn error_sentence(language: Language, rule: &FieldRule) -> String {
    language
        .field_error(rule)
        .unwrap_or_else(|| match language {
            Language::En => sentence(&rule.to_string()),
            _ => language.get(Msg::FieldErrorInvalid).to_string(),
        })
}

/// An instant as people of `language` read it, machine-readable in a `<time>` element.
fn time(language: Language, at: Timestamp) -> Markup {
    html! { time datetime=(rfc3339(at.0)) { (language.date_time(at.0)) } }
}

/// One field's label, its error (if any) and its input.
fn input(
    language: Language,
    field: &Field,
    value: Option<&str>,
    error: Option<&FieldRule>,
    focus: bool,
) -> Markup {
    let name = field.name;
    let error_id = error.map(|_| format!("{name}-error"));
    html! {
        label for=(name) { (field.label(language)) }
        @if let (Some(error), Some(id)) = (error, &error_id) {
            p class="field-error" id=(id) { (error_sentence(language, error)) }
        }
        input id=(name) name=(name) value=(value.unwrap_or("")) autocomplete=(field.autocomplete)
            required[field.required] aria-invalid=[error.map(|_| "true")]
            aria-describedby=[error_id] autofocus[focus];
    }
}

/// What a connection grants, one item per capability.
fn grants(language: Language, capabilities: impl Iterator<Item = Capability>) -> Markup {
    html! {
        ul class="grants" {
            @for capability in capabilities { li { (language.capability(capability)) } }
        }
    }
}

/// The list of what to correct, at the top of a rejected form; each entry
/// links to its field.
fn error_summary(language: Language, errors: &[FieldError]) -> Markup {
    let count = errors.len().to_string();
    let heading = match errors.len() {
        1 => language.html(Msg::FormErrorsOne, &[]),
        _ => language.html(Msg::FormErrorsOther, &[("count", plain(&count))]),
    };
    let entry = |field: Markup, rule: &FieldRule| {
        language.html(
            Msg::FormErrorEntry,
            &[
                ("field", field),
                ("error", plain(&error_sentence(language, rule))),
            ],
        )
    };
    html! {
        div class="problem" role="alert" {
            h2 { (heading) }
            ul {
                @for e in errors {
                    @match FIELDS.iter().find(|f| f.is_at(&e.pointer)) {
                        Some(f) => li {
                            a href={ "#" (f.name) } { (entry(plain(language.get(f.label)), &e.rule)) }
                        },
                        None => li {
                            @let field = match e.pointer.as_str() {
                                "/organization/contact/email" => language.get(Msg::FieldEmail),
                                pointer => pointer,
                            };
                            (entry(plain(field), &e.rule))
                        },
                    }
                }
            }
        }
    }
}

/// The registration page for an invite: as the link opens it, or again with
/// what was typed and what to correct after the server rejected it.
pub fn registration(
    language: Language,
    p: &RedeemPreview,
    token: &str,
    filled: Filled<'_>,
) -> String {
    let c = &p.customer;
    let first_error = FIELDS.iter().position(|f| filled.error(f).is_some());
    let fields = |range: std::ops::Range<usize>| {
        html! {
            @for (i, field) in FIELDS.iter().enumerate().take(range.end).skip(range.start) {
                (input(language, field, filled.value(field, c), filled.error(field), first_error == Some(i)))
            }
        }
    };
    let say = |msg| language.get(msg);
    let main = html! {
        @if let Filled::Rejected { errors, .. } = filled { (error_summary(language, errors)) }
        h1 { (language.html(Msg::RegistrationHeading, &[("partner", plain(&p.partner_name))])) }
        p {
            (language.html(Msg::RegistrationOffer, &[
                ("partner", strong(&p.partner_name)),
                ("connection", strong(language.connection(p.connection))),
            ]))
        }
        (grants(language, p.capabilities.iter().map(|c| c.capability)))
        p {
            (language.html(Msg::RegistrationFirstContact, &[("first_contact", strong(&p.first_contact_name))]))
        }
        p class="muted" { (language.html(Msg::RegistrationExpires, &[("date", time(language, p.expires_at))])) }
        form method="post" action="/api/invites/redeem" {
            input type="hidden" name="token" value=(token);
            input type="hidden" name=(LANGUAGE_FIELD) value=(language.tag());
            fieldset { legend { (say(Msg::RegistrationCompany)) } (fields(0..7)) }
            fieldset {
                legend { (say(Msg::RegistrationYourDetails)) }
                (fields(7..9))
                p {
                    strong { (say(Msg::RegistrationEmail)) } " " span id="contact-email" { (c.contact.email) } br;
                    span class="muted" { (say(Msg::RegistrationEmailNote)) }
                }
            }
            fieldset { legend { (say(Msg::RegistrationBilling)) } (fields(9..10)) }
            button type="submit" { (say(Msg::RegistrationSubmit)) }
        }
        p class="muted" { (say(Msg::RegistrationExisting)) }
    };
    let title = language.html(
        Msg::RegistrationTitle,
        &[("partner", plain(&p.partner_name))],
    );
    let title = match filled {
        Filled::Rejected { .. } => language.html(Msg::PageErrorTitle, &[("title", title)]),
        Filled::Invited => title,
    };
    layout(language, title, main)
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
pub fn registered(language: Language, r: &Redeemed) -> String {
    let id = html! { code { (r.organization_id) } };
    let organization = if r.existing_organization {
        Msg::RegisteredOrganizationExisting
    } else {
        Msg::RegisteredOrganization
    };
    let main = html! {
        h1 { (language.get(Msg::RegisteredHeading)) }
        p {
            (language.html(Msg::RegisteredConnected, &[
                ("partner", strong(&r.partner_name)),
                ("connection", strong(language.connection(r.connection))),
            ]))
        }
        (grants(language, r.capabilities.iter().copied()))
        p class="muted" { (language.html(organization, &[("id", id)])) }
    };
    layout(language, plain(language.get(Msg::RegisteredTitle)), main)
}

/// The approval page for a connection request.
pub fn approval(language: Language, p: &ApprovalPreview, token: &str) -> String {
    let decision = |verb: &str, msg, class: Option<&str>| {
        html! {
            form method="post" action={ "/api/connections/" (p.request_id) "/" (verb) } {
                input type="hidden" name="token" value=(token);
                input type="hidden" name=(LANGUAGE_FIELD) value=(language.tag());
                button type="submit" class=[class] { (language.get(msg)) }
            }
        }
    };
    let names = [
        ("partner", plain(&p.partner_name)),
        ("organization", plain(&p.organization_name)),
    ];
    let actions = html! {
        p { (language.html(Msg::ApprovalExpires, &[("date", time(language, p.expires_at))])) }
        div class="actions" {
            (decision("approve", Msg::ApprovalApprove, None))
            (decision("decline", Msg::ApprovalDecline, Some("secondary")))
        }
    };
    if let Some(change) = &p.change {
        let column = |heading: Msg, class: &str, capabilities: &[LabelledCapability]| {
            html! {
                section {
                    h2 { (language.get(heading)) }
                    @if capabilities.is_empty() {
                        p class="muted" { (language.get(Msg::ApprovalNothing)) }
                    } @else {
                        ul class=(class) {
                            @for c in capabilities { li { (language.capability(c.capability)) } }
                        }
                    }
                }
            }
        };
        let main = html! {
            h1 { (language.html(Msg::ApprovalChangeHeading, &names)) }
            p {
                (language.html(Msg::ApprovalChangeOffer, &[
                    ("from", strong(language.connection(change.from))),
                    ("to", strong(language.connection(p.connection))),
                ]))
            }
            div class="change" {
                (column(Msg::ApprovalGained, "grants", &change.gained))
                (column(Msg::ApprovalLost, "losses", &change.lost))
            }
            (actions)
        };
        let title = language.html(Msg::ApprovalChangeTitle, &names[..1]);
        return layout(language, title, main);
    }
    let main = html! {
        h1 { (language.html(Msg::ApprovalHeading, &names)) }
        p { (language.html(Msg::ApprovalOffer, &[("connection", strong(language.connection(p.connection)))])) }
        (grants(language, p.capabilities.iter().map(|c| c.capability)))
        (actions)
    };
    let title = language.html(Msg::ApprovalTitle, &[("partner", plain(&p.partner_name))]);
    layout(language, title, main)
}

/// The page after a decision: the request was approved, or declined.
pub fn decided(language: Language, approved: bool) -> String {
    let (heading, text) = if approved {
        (Msg::DecidedApprovedHeading, Msg::DecidedApprovedText)
    } else {
        (Msg::DecidedDeclinedHeading, Msg::DecidedDeclinedText)
    };
    let main = html! {
        h1 { (language.get(heading)) }
        p { (language.get(text)) }
    };
    layout(language, plain(language.get(heading)), main)
}

/// A problem, for people: a plain heading, what happened, and what to do.
/// The words are the catalog's, chosen by the problem's kind and reason
/// and what the link is `about`; its English `detail` is the API's.
pub fn problem(language: Language, about: About, p: &Problem) -> String {
    use ProblemKind::*;
    let heading = match p.kind {
        NotFound => Msg::ProblemHeadingNotFound,
        Expired => Msg::ProblemHeadingExpired,
        Revoked => Msg::ProblemHeadingRevoked,
        AlreadyAccepted => Msg::ProblemHeadingAlreadyAccepted,
        InvalidState => Msg::ProblemHeadingNoLongerPossible,
        AlreadyConnected => Msg::ProblemHeadingAlreadyConnected,
        TooManyRequests => Msg::ProblemHeadingTooManyRequests,
        Internal | BadGateway => Msg::ProblemHeadingFailed,
        _ => Msg::ProblemHeadingOther,
    };
    let text = match (p.reason, p.kind, about) {
        (Some(Reason::InviteReplaced), ..) => Msg::ProblemTextInviteReplaced,
        (Some(Reason::InviteRevoked), ..) => Msg::ProblemTextInviteRevoked,
        (Some(Reason::InviteUsed), ..) | (None, AlreadyAccepted, _) => Msg::ProblemTextInviteUsed,
        (Some(Reason::InviteExpired), ..) | (None, Expired, About::Invite) => {
            Msg::ProblemTextInviteExpired
        }
        (Some(Reason::RequestExpired), ..) | (None, Expired, About::Request) => {
            Msg::ProblemTextRequestExpired
        }
        (Some(Reason::RequestWithdrawn), ..) => Msg::ProblemTextRequestWithdrawn,
        (Some(Reason::RequestDecided), ..) => Msg::ProblemTextRequestDecided,
        (Some(Reason::RelationshipEnded), ..) => Msg::ProblemTextRelationshipEnded,
        (None, NotFound, About::Invite) => Msg::ProblemTextInviteNotFound,
        (None, NotFound, About::Request) => Msg::ProblemTextRequestNotFound,
        (None, Revoked, _) => Msg::ProblemTextLinkRevoked,
        (None, InvalidState, _) => Msg::ProblemTextInvalidState,
        (None, AlreadyConnected, _) => Msg::ProblemTextAlreadyConnected,
        (None, TooManyRequests, _) => Msg::ProblemTextTooManyRequests,
        (None, Internal | BadGateway, _) => Msg::ProblemTextFailed,
        (None, ..) => Msg::ProblemTextOther,
    };
    let next = match p.kind {
        AlreadyAccepted => Msg::ProblemNextSignIn,
        InvalidState | AlreadyConnected => Msg::ProblemNextNothingMore,
        Internal | BadGateway | TooManyRequests => Msg::ProblemNextTryAgain,
        _ => Msg::ProblemNextNewLink,
    };
    let main = html! {
        div class="problem" role="alert" { h1 { (language.get(heading)) } p { (language.get(text)) } }
        p class="muted" { (language.get(next)) }
    };
    layout(language, plain(language.get(heading)), main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{ConnectionType, FirstContact};

    const EN: Language = Language::En;

    #[test]
    fn form_patches_the_invited_details() {
        let form: Vec<(String, String)> = [
            ("token", "t"),
            ("lang", "de"),
            ("company_name", "New"),
            ("vat_id", ""),
            ("city", "Köln"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let request = form_to_redeem_request(&form);
        assert_eq!(request.token.as_deref(), Some("t"));
        assert_eq!(form_language(&form), Some(Language::De));
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
            locale: None,
        }
    }

    /// Request `id` of a partner to an organization, both named `name`.
    fn approval_preview(id: &str, name: &str) -> ApprovalPreview {
        ApprovalPreview {
            request_id: id.into(),
            partner_name: name.into(),
            organization_id: "org_1".into(),
            organization_name: name.into(),
            connection: ConnectionType::Msp,
            connection_label: ConnectionType::Msp.label(),
            capabilities: Vec::new(),
            first_contact: FirstContact::Partner,
            expires_at: Timestamp(1_795_953_600),
            change: None,
            locale: None,
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
            // A rule that carries free text, to carry the hostile value.
            FieldError::new(
                "/organization/company/name",
                FieldRule::Unreadable(raw.into()),
            ),
            FieldError::new(raw, FieldRule::Unreadable(raw.into())),
        ];
        let filled = Filled::Rejected {
            form: &sent,
            errors: &errors,
        };
        let html = registration(EN, &p, raw, filled);
        for expected in [
            format!("<title>Error: {escaped} invites you</title>"),
            format!("<h1>{escaped} invites you to connect</h1>"),
            format!("<span id=\"contact-email\">{escaped}</span>"),
            format!("<li><a href=\"#company_name\">Company name: {escaped}.</a></li>"),
            format!("<li>{escaped}: {escaped}.</li>"),
            format!("<p class=\"field-error\" id=\"company_name-error\">{escaped}.</p>"),
            format!("<input type=\"hidden\" name=\"token\" value=\"{escaped}\">"),
            format!("name=\"company_name\" value=\"{escaped}\""),
        ] {
            assert!(html.contains(&expected), "lacks {expected}: {html}");
        }
        assert!(!html.contains("<script>"), "{html}");

        for language in Language::ALL {
            let approval = approval(language, &approval_preview(raw, raw), raw);
            assert!(
                approval.contains(&format!(
                    "action=\"/api/connections/{escaped}/approve\"><input type=\"hidden\" name=\"token\" value=\"{escaped}\">"
                )),
                "{approval}"
            );
            assert_eq!(
                approval.matches(escaped).count(),
                7,
                "title, heading (twice), both forms' action and token: {approval}"
            );
            assert!(!approval.contains("<script>"), "{approval}");
        }
        let approval_en = approval(EN, &approval_preview("con_1", raw), "tok");
        assert!(
            approval_en.contains(&format!("<h1>{escaped} asks to connect to {escaped}</h1>")),
            "{approval_en}"
        );
        let problem = problem(EN, About::Invite, &Problem::new(ProblemKind::NotFound, raw));
        assert!(
            !problem.contains("script"),
            "a problem's detail is the API's, never on the page: {problem}"
        );
    }

    #[test]
    fn opens_with_the_invited_details_and_a_readable_expiry() {
        let html = registration(EN, &preview(), "tok", Filled::Invited);
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("value=\"Globex &lt;GmbH&gt;\""), "{html}");
        assert!(html.contains("value=\"Berlin\""), "{html}");
        assert!(
            html.contains(
                "<time datetime=\"2026-11-29T12:00:00Z\">November 29, 2026 at 12:00 PM UTC</time>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"),
            "the form says which language it was shown in: {html}"
        );
        assert!(
            html.contains("<label for=\"country\">Country (two letters, e.g. DE)</label>"),
            "{html}"
        );
        assert!(
            html.contains("<label for=\"company_name\">Company name (required)</label>"),
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
            FieldError::new("/organization/company/address/country", FieldRule::Country),
            FieldError::new("/organization/billing/phone", FieldRule::Phone),
            // A rule the form has no message for, in words of its own.
            FieldError::new(
                "/organization/contact/email",
                FieldRule::Unreadable("is odd".into()),
            ),
        ];
        let html = registration(
            EN,
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
            html.contains("<li><a href=\"#country\">Country: Must be an ISO 3166-1 alpha-2 code such as DE.</a></li>"),
            "{html}"
        );
        assert!(
            html.contains("<li>Email: Is odd.</li>"),
            "an error without a field of the form is still listed: {html}"
        );
        assert!(
            html.contains("<p class=\"field-error\" id=\"country-error\">Must be an ISO 3166-1 alpha-2 code such as DE.</p>\
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

        let german = registration(
            Language::De,
            &preview(),
            "tok",
            Filled::Rejected {
                form: &sent,
                errors: &errors,
            },
        );
        assert!(
            german.contains("<title>Fehler: Partner &amp; Co lädt Sie ein</title>"),
            "{german}"
        );
        assert!(
            german.contains("<h2>Bitte korrigieren Sie 3 Felder</h2>"),
            "{german}"
        );
        assert!(
            german.contains("<li><a href=\"#country\">Land: Bitte geben Sie den Ländercode nach ISO 3166-1 mit zwei Buchstaben an, z. B. DE.</a></li>"),
            "{german}"
        );
        assert!(
            german.contains("<li>E-Mail: Dieser Wert ist ungültig.</li>"),
            "an unknown wording is not shown in English: {german}"
        );
        let one = registration(
            Language::Nl,
            &preview(),
            "tok",
            Filled::Rejected {
                form: &sent,
                errors: &errors[..1],
            },
        );
        assert!(one.contains("<h2>Corrigeer 1 veld</h2>"), "{one}");
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
    fn problem_pages_say_what_happened_and_what_to_do() {
        let page = |about, kind, reason: Option<Reason>| {
            let mut p = Problem::new(kind, "the API's detail");
            p.reason = reason;
            problem(EN, about, &p)
        };
        let decided = page(
            About::Request,
            ProblemKind::InvalidState,
            Some(Reason::RequestDecided),
        );
        assert!(decided.contains("<h1>No longer possible</h1>"), "{decided}");
        assert!(
            decided.contains("<p>This connection request has already been decided.</p>"),
            "{decided}"
        );
        assert!(decided.contains("nothing more to do"), "{decided}");
        assert!(!decided.contains("the API's detail"), "{decided}");
        let expired = page(About::Invite, ProblemKind::Expired, None);
        assert!(expired.contains("<h1>Link expired</h1>"), "{expired}");
        assert!(
            expired.contains("<p>This invitation has expired.</p>"),
            "{expired}"
        );
        assert!(
            expired.contains("ask the sender for a new link"),
            "{expired}"
        );
        let replaced = page(
            About::Invite,
            ProblemKind::Revoked,
            Some(Reason::InviteReplaced),
        );
        assert!(replaced.contains("replaced by a newer one"), "{replaced}");
        let revoked = page(
            About::Invite,
            ProblemKind::Revoked,
            Some(Reason::InviteRevoked),
        );
        assert!(revoked.contains("revoked by the partner"), "{revoked}");
        let invalid = page(About::Request, ProblemKind::NotFound, None);
        assert!(
            invalid.contains("This approval link is not valid"),
            "{invalid}"
        );
        let failed = page(About::Invite, ProblemKind::BadGateway, None);
        assert!(failed.contains("Nothing was changed"), "{failed}");
    }

    #[test]
    fn pages_are_in_their_language() {
        let p = preview();
        for language in Language::ALL {
            let html = registration(language, &p, "tok", Filled::Invited);
            assert!(
                html.starts_with(&format!(
                    "<!DOCTYPE html>\n<html lang=\"{}\">",
                    language.tag()
                )),
                "{html}"
            );
        }
        let french = problem(
            Language::Fr,
            About::Request,
            &Problem::new(ProblemKind::Revoked, "x").because(Reason::RequestWithdrawn),
        );
        assert!(french.contains("<html lang=\"fr\">"), "{french}");
        assert!(
            french.contains("<p>Cette demande de connexion a été retirée par le partenaire.</p>"),
            "{french}"
        );
        let dutch = decided(Language::Nl, true);
        assert!(dutch.contains("<h1>Verzoek goedgekeurd</h1>"), "{dutch}");
    }
}
