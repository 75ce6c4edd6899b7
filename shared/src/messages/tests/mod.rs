//! The catalogs agree with each other, field errors are worded in every
//! language, and (in [`renders`]) every page and email renders in every
//! language with nothing left untranslated.

mod renders;

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::customer::CustomerInput;
use crate::validation::Report;

/// The catalog files, read again here without `build.rs`.
const FILES: [(Language, &str); 4] = [
    (Language::En, include_str!("../en.toml")),
    (Language::De, include_str!("../de.toml")),
    (Language::Fr, include_str!("../fr.toml")),
    (Language::Nl, include_str!("../nl.toml")),
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

// Field errors.

/// Every rule the checks of the registration form's fields break, on bad
/// values of every field.
fn rules_the_form_meets() -> Vec<FieldRule> {
    let mut rules = Vec::new();
    let long = "x".repeat(300);
    let cases = [
        // Blank required fields, a wrong country, a bad phone, a bad VAT ID.
        serde_json::json!({
            "company": {"name": " ", "address": {"country": "Germany"}, "vat_id": "DE 12$"},
            "contact": {"first_name": "", "last_name": "", "email": "a@b.example"},
            "billing": {"phone": "0301234"},
        }),
        // Too long, control characters; a VAT ID of another country's prefix.
        serde_json::json!({
            "company": {"name": long, "address": {"street": "a\u{7}b", "country": "DE"},
                        "vat_id": "FR12345678901"},
            "contact": {"first_name": "A", "last_name": "B", "email": "a@b.example"},
        }),
        // A VAT ID of the country, of the wrong shape.
        serde_json::json!({
            "company": {"name": "N", "address": {"country": "DE"}, "vat_id": "DE12"},
            "contact": {"first_name": "A", "last_name": "B", "email": "a@b.example"},
        }),
    ];
    for case in cases {
        let input: CustomerInput = serde_json::from_value(case).expect("a customer");
        let mut report = Report::new();
        input.validate("/organization", &mut report);
        let errors = report.finish().expect_err("invalid");
        rules.extend(errors.into_iter().map(|e| e.rule));
    }
    rules
}

#[test]
fn every_rule_the_form_meets_has_a_message_in_every_language() {
    let met = rules_the_form_meets();
    for rule in &met {
        for language in Language::ALL {
            let said = language
                .field_error(rule)
                .unwrap_or_else(|| panic!("{rule:?} has no message"));
            assert!(!said.contains('{'), "{language:?}: {said}");
        }
    }
    // And every rule with a message is one the form can meet.
    let with_a_message = [
        FieldRule::Required,
        FieldRule::TooLong { max: 1 },
        FieldRule::ControlCharacters,
        FieldRule::Country,
        FieldRule::VatCharacters,
        FieldRule::VatPrefix {
            prefix: "DE".into(),
            country: "DE".into(),
        },
        FieldRule::VatFormat {
            country: "DE".into(),
            example: "DE999999999".into(),
        },
        FieldRule::Phone,
    ];
    for rule in with_a_message {
        assert!(Language::En.field_error(&rule).is_some(), "{rule:?}");
        let kind = std::mem::discriminant(&rule);
        assert!(
            met.iter().any(|m| std::mem::discriminant(m) == kind),
            "no case gives {rule:?}: {met:?}"
        );
    }
}

#[test]
fn values_are_carried_over() {
    assert_eq!(
        Language::De
            .field_error(&FieldRule::TooLong { max: 200 })
            .as_deref(),
        Some("Bitte geben Sie höchstens 200 Zeichen ein.")
    );
    assert_eq!(
        Language::Fr
            .field_error(&FieldRule::VatFormat {
                country: "DE".into(),
                example: "DE999999999".into(),
            })
            .as_deref(),
        Some(
            "Ce numéro de TVA n’est pas valide pour DE (format attendu, par exemple\u{a0}: DE999999999)."
        )
    );
    assert_eq!(
        Language::Nl
            .field_error(&FieldRule::VatPrefix {
                prefix: "CHE".into(),
                country: "CH".into(),
            })
            .as_deref(),
        Some("Voor land CH moet het nummer beginnen met CHE.")
    );
}

#[test]
fn rules_the_form_cannot_meet_have_no_message() {
    for rule in [
        FieldRule::Unreadable("is odd".into()),
        FieldRule::InvitedAddress {
            email: "a@b.example".into(),
        },
        FieldRule::Email,
        FieldRule::TtlDays { max: 30 },
    ] {
        assert_eq!(Language::De.field_error(&rule), None, "{rule:?}");
    }
}
