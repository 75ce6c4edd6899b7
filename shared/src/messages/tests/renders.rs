//! Every page and email renders in every language with nothing left
//! untranslated: no placeholder, no key, no English phrase.

use super::*;
use crate::capabilities::FirstContact;
use crate::clock::Timestamp;
use crate::domain::customer::CustomerDetails;
use crate::messages::email::{self, ApprovalRequest, Invitation};
use crate::ops::{ApprovalPreview, LabelledCapability, RedeemPreview, Redeemed};
use crate::problem::{FieldError, Problem, ProblemKind, Reason};
use crate::web::page::{self, About, Filled};

const AT: u64 = 1_795_305_600 + 9 * 86_400 + 13 * 3600;

fn redeem_preview(connection: ConnectionType) -> RedeemPreview {
    let mut customer = CustomerDetails::default();
    customer.company.name = "Globex Brussel BV".into();
    customer.company.address.city = Some("Gent".into());
    customer.company.address.country = Some("BE".into());
    customer.contact.first_name = "Ada".into();
    customer.contact.last_name = "Janssens".into();
    customer.contact.email = "ada@globex.example".into();
    RedeemPreview {
        invite_id: "inv_1".into(),
        partner_name: "Acme Systemhaus".into(),
        connection,
        connection_label: connection.label(),
        capabilities: LabelledCapability::column(connection),
        first_contact: connection.first_contact(),
        first_contact_name: match connection.first_contact() {
            FirstContact::Partner => "Acme Systemhaus".into(),
            FirstContact::Vendor => "Cloudvendor".into(),
        },
        customer,
        expires_at: Timestamp(AT),
        locale: None,
    }
}

/// Every change of connection that adds capabilities, as `(from, to)`.
fn changes_up() -> Vec<(ConnectionType, ConnectionType)> {
    let mut up = Vec::new();
    for from in ConnectionType::ALL {
        for to in ConnectionType::ALL {
            if !crate::domain::relationship::difference(from, to)
                .0
                .is_empty()
            {
                up.push((from, to));
            }
        }
    }
    up
}

fn change_preview(from: ConnectionType, to: ConnectionType) -> ApprovalPreview {
    let change = crate::domain::ChangeOf {
        relationship_id: crate::domain::RelationshipId::parse("rel_0123456789abcdef01234567")
            .expect("id"),
        from,
    };
    ApprovalPreview {
        change: Some(crate::ops::ChangePreview::of(&change, to)),
        ..approval_preview(to)
    }
}

fn approval_preview(connection: ConnectionType) -> ApprovalPreview {
    ApprovalPreview {
        request_id: "con_1_x".into(),
        partner_name: "Acme Systemhaus".into(),
        organization_id: "org_1".into(),
        organization_name: "Globex Brussel BV".into(),
        connection,
        connection_label: connection.label(),
        capabilities: LabelledCapability::column(connection),
        first_contact: connection.first_contact(),
        expires_at: Timestamp(AT),
        change: None,
        locale: None,
    }
}

/// Every page the app shows, by name, in `language`.
fn pages(language: Language) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let form: Vec<(String, String)> = [("token", "tok"), ("country", "Belgium")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // One error per rule the form can meet, one per field, and two the
    // form has no field for.
    let rules = [
        FieldRule::Required,
        FieldRule::TooLong { max: 200 },
        FieldRule::ControlCharacters,
        FieldRule::Country,
        FieldRule::VatCharacters,
        FieldRule::VatPrefix {
            prefix: "BE".into(),
            country: "BE".into(),
        },
        FieldRule::VatFormat {
            country: "BE".into(),
            example: "BE9999999999".into(),
        },
        FieldRule::Phone,
        FieldRule::Unreadable("is odd".into()),
        FieldRule::InvitedAddress {
            email: "ada@globex.example".into(),
        },
    ];
    let pointers = [
        "/organization/company/name",
        "/organization/company/address/street",
        "/organization/company/address/house_number",
        "/organization/company/address/postcode",
        "/organization/company/vat_id",
        "/organization/company/address/city",
        "/organization/company/vat_id",
        "/organization/billing/phone",
        "/organization/contact/first_name",
        "/organization/contact/email",
    ];
    let mut errors: Vec<FieldError> = pointers
        .iter()
        .zip(rules.clone())
        .map(|(p, rule)| FieldError::new(*p, rule))
        .collect();
    errors.push(FieldError::new(
        "/organization/company/address/country",
        rules[3].clone(),
    ));
    errors.push(FieldError::new(
        "/organization/contact/last_name",
        rules[0].clone(),
    ));
    errors.push(FieldError::new("/token", FieldRule::Required));
    for connection in ConnectionType::ALL {
        let name = connection.as_str();
        let preview = redeem_preview(connection);
        pages.push((
            format!("registration {name}"),
            page::registration(language, &preview, "tok", Filled::Invited),
        ));
        pages.push((
            format!("registration rejected {name}"),
            page::registration(
                language,
                &preview,
                "tok",
                Filled::Rejected {
                    form: &form,
                    errors: &errors,
                },
            ),
        ));
        pages.push((
            format!("registration rejected once {name}"),
            page::registration(
                language,
                &preview,
                "tok",
                Filled::Rejected {
                    form: &form,
                    errors: &errors[..1],
                },
            ),
        ));
        for existing_organization in [false, true] {
            let redeemed = Redeemed {
                invite_id: "inv_1".into(),
                organization_id: "org_1".into(),
                existing_organization,
                relationship_id: "rel_1".into(),
                partner_name: "Acme Systemhaus".into(),
                connection,
                capabilities: connection.capabilities(),
                first_contact: connection.first_contact(),
            };
            pages.push((
                format!("registered {name} {existing_organization}"),
                page::registered(language, &redeemed),
            ));
        }
        pages.push((
            format!("approval {name}"),
            page::approval(language, &approval_preview(connection), "tok"),
        ));
    }
    for (from, to) in changes_up() {
        pages.push((
            format!("change {} {}", from.as_str(), to.as_str()),
            page::approval(language, &change_preview(from, to), "tok"),
        ));
    }
    for approved in [true, false] {
        pages.push((
            format!("decided {approved}"),
            page::decided(language, approved),
        ));
    }
    let reasons = [
        None,
        Some(Reason::InviteReplaced),
        Some(Reason::InviteRevoked),
        Some(Reason::InviteUsed),
        Some(Reason::InviteExpired),
        Some(Reason::RequestExpired),
        Some(Reason::RequestWithdrawn),
        Some(Reason::RequestDecided),
        Some(Reason::RelationshipEnded),
    ];
    for about in [About::Invite, About::Request] {
        for kind in ProblemKind::ALL {
            for reason in reasons {
                let mut problem = Problem::new(kind, "the API's own words");
                problem.reason = reason;
                pages.push((
                    format!("problem {about:?} {kind:?} {reason:?}"),
                    page::problem(language, about, &problem),
                ));
            }
        }
    }
    pages
}

/// Every email, by name, in `language`: subject, text and HTML.
fn emails(language: Language) -> Vec<(String, email::Message)> {
    let mut emails = Vec::new();
    for connection in ConnectionType::ALL {
        let name = connection.as_str();
        emails.push((
            format!("invitation {name}"),
            email::invitation(&Invitation {
                language,
                first_name: "Ada",
                last_name: "Janssens",
                partner: "Acme Systemhaus",
                company: "Globex Brussel BV",
                vendor: "Cloudvendor",
                connection,
                first_contact: "Acme Systemhaus",
                link: "https://app.example/invite/pi1.k1.x",
                expires_at: AT,
            }),
        ));
        emails.push((
            format!("approval {name}"),
            email::approval_request(&ApprovalRequest {
                language,
                partner: "Acme Systemhaus",
                organization: "Globex Brussel BV",
                vendor: "Cloudvendor",
                connection,
                from: None,
                link: "https://app.example/connect/pi1.k1.x",
                expires_at: AT,
            }),
        ));
    }
    for (from, to) in changes_up() {
        emails.push((
            format!("change {} {}", from.as_str(), to.as_str()),
            email::approval_request(&ApprovalRequest {
                language,
                partner: "Acme Systemhaus",
                organization: "Globex Brussel BV",
                vendor: "Cloudvendor",
                connection: to,
                from: Some(from),
                link: "https://app.example/connect/pi1.k1.x",
                expires_at: AT,
            }),
        ));
    }
    emails
}

/// The English words of every message (its pieces of two words or more),
/// with the message they belong to.
fn english_phrases() -> Vec<(Msg, String)> {
    let mut phrases = Vec::new();
    for msg in Msg::ALL {
        for piece in pieces(Language::En.get(msg)) {
            if let Piece::Words(words) = piece {
                let phrase = words
                    .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
                    .to_string();
                if phrase.split_whitespace().count() >= 2 && phrase.len() >= 8 {
                    phrases.push((msg, phrase));
                }
            }
        }
    }
    phrases
}

fn escape(text: &str) -> String {
    html! { (text) }.into_string()
}

/// What a render must not hold in `language`: a placeholder left over, a
/// key, or (outside English) a phrase of English the language's own
/// message does not share.
fn check(language: Language, name: &str, rendered: &str, escaped: bool) {
    let mut rest = rendered;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let word: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        assert!(
            word.is_empty() || !after[word.len()..].starts_with('}'),
            "{language:?} {name}: the placeholder {{{word}}} is left: {rendered}"
        );
        rest = after;
    }
    for msg in Msg::ALL {
        assert!(
            !rendered.contains(msg.key()),
            "{language:?} {name}: the key {} is shown: {rendered}",
            msg.key()
        );
    }
    if language == Language::En {
        return;
    }
    for (msg, phrase) in english_phrases() {
        if language.get(msg).contains(&phrase) {
            continue;
        }
        let shown = if escaped {
            escape(&phrase)
        } else {
            phrase.clone()
        };
        assert!(
            !rendered.contains(&shown),
            "{language:?} {name}: English {phrase:?} (of {}): {rendered}",
            msg.key()
        );
    }
}

#[test]
fn every_page_renders_in_every_language_with_nothing_untranslated() {
    for language in Language::ALL {
        let pages = pages(language);
        assert_eq!(pages.len(), 3 * 6 + 3 + 2 + 2 * 19 * 9);
        for (name, html) in &pages {
            assert!(
                html.starts_with(&format!(
                    "<!DOCTYPE html>\n<html lang=\"{}\">",
                    language.tag()
                )),
                "{language:?} {name}: {html}"
            );
            assert!(
                !html.contains("the API&#39;s own words") && !html.contains("the API's own words"),
                "{language:?} {name}: a problem's detail is not shown: {html}"
            );
            check(language, name, html, true);
        }
        // The words are the language's own.
        let registration = &pages[0].1;
        for msg in [
            Msg::RegistrationSubmit,
            Msg::RegistrationCompany,
            Msg::CapabilityManagePortal,
            Msg::ConnectionMsp,
        ] {
            assert!(
                registration.contains(&escape(language.get(msg))),
                "{language:?}: {} is on the registration page: {registration}",
                msg.key()
            );
        }
        assert!(
            registration.contains(&escape(&language.date_time(AT))),
            "{language:?}: the expiry in the language's form: {registration}"
        );
    }
}

#[test]
fn every_email_renders_in_every_language_with_nothing_untranslated() {
    for language in Language::ALL {
        for (name, message) in emails(language) {
            check(language, &name, &message.subject, false);
            check(language, &name, &message.text, false);
            check(language, &name, &message.html, true);
            assert!(
                message.html.starts_with(&format!(
                    "<!DOCTYPE html>\n<html lang=\"{}\">",
                    language.tag()
                )),
                "{language:?} {name}: {}",
                message.html
            );
            assert!(
                message.text.contains(&language.date_time(AT)),
                "{language:?} {name}: {}",
                message.text
            );
            let link = message
                .text
                .lines()
                .find(|l| l.starts_with("https://"))
                .expect("a link on a line of its own");
            assert!(
                message
                    .html
                    .contains(&format!("<a href=\"{link}\">{link}</a>")),
                "{language:?} {name}: the same link: {}",
                message.html
            );
            // Each line of the text is in the HTML, escaped (the list's
            // dashes aside).
            for line in message.text.lines().filter(|l| !l.is_empty()) {
                let line = line.strip_prefix("- ").unwrap_or(line);
                assert!(
                    message.html.contains(&escape(line)),
                    "{language:?} {name}: {line:?} is not in the HTML: {}",
                    message.html
                );
            }
        }
    }
}
