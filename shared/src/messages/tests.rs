//! The catalogs agree with each other, and every page and email renders in
//! every language with nothing left untranslated.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::capabilities::FirstContact;
use crate::clock::Timestamp;
use crate::domain::customer::CustomerDetails;
use crate::ops::{ApprovalPreview, LabelledCapability, RedeemPreview, Redeemed};
use crate::problem::{FieldError, Problem, ProblemKind, Reason};
use super::email::{self, ApprovalRequest, Invitation};
use crate::web::page::{self, About, Filled};

/// The catalog files, read again here without `build.rs`.
const FILES: [(Language, &str); 4] = [
    (Language::En, include_str!("en.toml")),
    (Language::De, include_str!("de.toml")),
    (Language::Fr, include_str!("fr.toml")),
    (Language::Nl, include_str!("nl.toml")),
];

fn flatten(prefix: &str, table: &toml::Table, into: &mut BTreeMap<String, String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::String(text) => {
                into.insert(key, text.clone());
            }
            toml::Value::Table(inner) => flatten(&key, inner, into),
            other => panic!("{key} is not a string: {other:?}"),
        }
    }
}

fn catalog(text: &str) -> BTreeMap<String, String> {
    let table: toml::Table = text.parse().expect("a catalog is TOML");
    let mut flat = BTreeMap::new();
    flatten("", &table, &mut flat);
    flat
}

#[test]
fn every_message_is_in_every_language_with_the_same_placeholders() {
    let keys: BTreeSet<&str> = Msg::ALL.iter().map(|m| m.key()).collect();
    assert_eq!(keys.len(), Msg::ALL.len(), "keys are unique");
    for (language, text) in FILES {
        let catalog = catalog(text);
        let own: BTreeSet<&str> = catalog.keys().map(String::as_str).collect();
        let missing: Vec<_> = keys.difference(&own).collect();
        let extra: Vec<_> = own.difference(&keys).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{language:?} lacks {missing:?} and has extra {extra:?}"
        );
        for msg in Msg::ALL {
            let text = &catalog[msg.key()];
            assert!(!text.trim().is_empty(), "{language:?} {}", msg.key());
            assert_eq!(
                language.get(msg),
                text,
                "the compiled table is the catalog: {language:?} {}",
                msg.key()
            );
            let mut theirs = placeholders(text);
            let mut english = placeholders(Language::En.get(msg));
            theirs.sort_unstable();
            english.sort_unstable();
            theirs.dedup();
            english.dedup();
            assert_eq!(theirs, english, "{language:?} {}", msg.key());
        }
    }
}

#[test]
fn languages_have_their_codes() {
    let tags: Vec<&str> = Language::ALL.iter().map(|l| l.tag()).collect();
    assert_eq!(tags, ["en", "de", "fr", "nl"]);
    for language in Language::ALL {
        assert_eq!(Language::of_tag(language.tag()), Some(language));
    }
}

#[test]
fn the_english_labels_are_the_api_labels() {
    for connection in ConnectionType::ALL {
        assert_eq!(Language::En.connection(connection), connection.label());
    }
    for capability in Capability::ALL {
        assert_eq!(Language::En.capability(capability), capability.label());
    }
}

/// Messages the same in a language as in English, on purpose: names and
/// words the languages share.
const SAME_AS_ENGLISH: &[(Language, Msg)] = &[
    (Language::De, Msg::DateMonth04),
    (Language::De, Msg::DateMonth08),
    (Language::De, Msg::DateMonth09),
    (Language::De, Msg::DateMonth11),
    (Language::Nl, Msg::FieldPostcode),
    // The Dutch IT market's own name for it.
    (Language::Nl, Msg::ConnectionMsp),
];

#[test]
fn translations_are_not_english() {
    for language in [Language::De, Language::Fr, Language::Nl] {
        for msg in Msg::ALL {
            let english = Language::En.get(msg);
            let has_words = pieces(english).any(|p| {
                matches!(p, Piece::Words(w) if w.chars().filter(|c| c.is_alphabetic()).count() > 2)
            });
            if has_words && !SAME_AS_ENGLISH.contains(&(language, msg)) {
                assert_ne!(
                    language.get(msg),
                    english,
                    "{language:?} {} is English",
                    msg.key()
                );
            }
        }
    }
}

#[test]
fn the_language_is_the_locale_s_else_the_browser_s_else_english() {
    use Language::*;
    for (locale, accept, expected) in [
        (Some("de"), None, De),
        (Some("de-AT"), Some("fr"), De),
        (Some("nl-BE"), None, Nl),
        (Some("fr-BE"), Some("nl"), Fr),
        (Some("FR-ca"), None, Fr),
        (Some("en-US"), Some("de"), En),
        // A locale we do not write is English, whatever the browser says.
        (Some("es"), Some("de"), En),
        (Some("zh-Hant-TW"), None, En),
        (None, Some("nl-BE,nl;q=0.9,en;q=0.8"), Nl),
        (None, Some("es"), En),
        (None, None, En),
    ] {
        assert_eq!(
            Language::choose(locale, accept),
            expected,
            "{locale:?} {accept:?}"
        );
    }
}

#[test]
fn dates_in_each_language() {
    // 2026-12-01T13:05:00Z
    let at = 1_795_305_600 + 9 * 86_400 + 13 * 3600 + 5 * 60;
    let expected = [
        (Language::En, "December 1, 2026 at 1:05 PM UTC"),
        (Language::De, "1. Dezember 2026 um 13:05 Uhr UTC"),
        (Language::Fr, "1er décembre 2026 à 13:05 UTC"),
        (Language::Nl, "1 december 2026 om 13:05 UTC"),
    ];
    for (language, said) in expected {
        assert_eq!(language.date_time(at), said);
    }
    let midnight = 1_795_305_600 + 9 * 86_400 + 86_400;
    assert_eq!(
        Language::En.date_time(midnight),
        "December 2, 2026 at 12:00 AM UTC"
    );
    assert_eq!(
        Language::Fr.date_time(midnight + 12 * 3600 + 59 * 60),
        "2 décembre 2026 à 12:59 UTC"
    );
    assert_eq!(
        Language::De.date_time(951_782_400),
        "29. Februar 2000 um 00:00 Uhr UTC"
    );
}

#[test]
fn messages_are_filled_and_escaped() {
    let filled = Language::En.text(
        Msg::RegistrationHeading,
        &[("partner", "<Acme & Co>"), ("unused", "x")],
    );
    assert_eq!(filled, "<Acme & Co> invites you to connect");
    assert_eq!(
        Language::En.text(Msg::RegistrationHeading, &[]),
        "{partner} invites you to connect",
        "a placeholder without a value stays, for the tests to see"
    );
    let markup = Language::Fr.html(
        Msg::RegistrationOffer,
        &[
            ("partner", html! { b { "<Acme & Co>" } }),
            ("connection", html! { "MSP" }),
        ],
    );
    assert_eq!(
        markup.into_string(),
        "<b>&lt;Acme &amp; Co&gt;</b> sera connecté à votre organisation en tant que MSP. \
         Cette connexion comprend\u{a0}:"
    );
    assert_eq!(
        Language::En
            .html(Msg::ProblemTextInviteNotFound, &[])
            .into_string(),
        "This invitation link is not valid. Check that it was copied completely."
    );
}

// Every page and email, in every language.

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
    let details = [
        "is required",
        "must be at most 200 characters",
        "must not contain control characters",
        "must be an ISO 3166-1 alpha-2 code such as DE",
        "must be letters and digits, at most 20",
        "must start with BE for country BE",
        "is not a valid BE VAT ID (expected e.g. BE9999999999)",
        "must be an E.164 number such as +4930123456",
        "is odd",
        "must be the invited address, ada@globex.example",
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
        .zip(details)
        .map(|(p, d)| FieldError::new(*p, d))
        .collect();
    errors.push(FieldError::new(
        "/organization/company/address/country",
        details[3],
    ));
    errors.push(FieldError::new(
        "/organization/contact/last_name",
        details[0],
    ));
    errors.push(FieldError::new("/token", "is required"));
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
