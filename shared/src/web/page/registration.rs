//! The registration form of an invite: as its link opens it, again with
//! what to correct after a rejected submit, and the page after it.

use maud::{Markup, html};

use super::shell::{grants, layout, plain, strong, time};
use super::{LANGUAGE_FIELD, submitted};
use crate::domain::customer::{CustomerDetails, CustomerPatch, Patch};
use crate::messages::{Language, Msg};
use crate::ops::{RedeemPreview, RedeemRequest, Redeemed};
use crate::problem::{FieldError, FieldRule};

/// One field of the registration form.
pub(super) struct Field {
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
    pub(super) fn is_at(&self, pointer: &str) -> bool {
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
pub(super) const FIELDS: [Field; 10] = [
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
