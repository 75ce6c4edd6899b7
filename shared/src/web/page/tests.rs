//! The pages, rendered: what they say, in which language, and that every
//! value is escaped.

use super::registration::FIELDS;
use super::*;
use crate::capabilities::{ConnectionType, FirstContact};
use crate::clock::Timestamp;
use crate::domain::customer::{CustomerDetails, Patch};
use crate::ops::{ApprovalPreview, RedeemPreview};
use crate::problem::{FieldError, FieldRule, Problem, ProblemKind, Reason};

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
