//! The registration form's field errors in the reader's language.
//!
//! The validation rules (`validation`, `domain::customer`) word their errors
//! in English for the API's JSON, some with values in them ("must be at most
//! 200 characters"). Here each wording the form can meet is written once as
//! a pattern with the message it becomes; a test runs the real rules on bad
//! values of every field and checks that each error they give is known, so
//! a rule reworded there fails here rather than showing English on a German
//! page.

use super::{Language, Msg};

/// Each validation wording, its values as placeholders, and its message.
const RULES: [(&str, Msg); 8] = [
    ("is required", Msg::FieldErrorRequired),
    ("must be at most {max} characters", Msg::FieldErrorTooLong),
    (
        "must not contain control characters",
        Msg::FieldErrorControlCharacters,
    ),
    (
        "must be an ISO 3166-1 alpha-2 code such as DE",
        Msg::FieldErrorCountry,
    ),
    (
        "must be letters and digits, at most 20",
        Msg::FieldErrorVatCharacters,
    ),
    (
        "must start with {prefix} for country {country}",
        Msg::FieldErrorVatPrefix,
    ),
    (
        "is not a valid {country} VAT ID (expected e.g. {example})",
        Msg::FieldErrorVatFormat,
    ),
    (
        "must be an E.164 number such as +4930123456",
        Msg::FieldErrorPhone,
    ),
];

/// A field error (a [`FieldError`](crate::problem::FieldError)'s `detail`)
/// as a sentence in `language`; `None` for a wording this does not know.
pub fn field_error(language: Language, detail: &str) -> Option<String> {
    RULES.iter().find_map(|(pattern, msg)| {
        let values = matches(pattern, detail.trim())?;
        let args: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, *v)).collect();
        Some(language.text(*msg, &args))
    })
}

/// The values of `pattern`'s placeholders if `detail` is worded by it.
fn matches<'a>(pattern: &'a str, detail: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let mut values = Vec::new();
    let mut rest = detail;
    let mut pending: Option<&str> = None;
    for piece in super::pieces(pattern) {
        match piece {
            super::Piece::Value(name) => pending = Some(name),
            super::Piece::Words(words) => {
                if let Some(name) = pending.take() {
                    let at = rest.find(words)?;
                    let value = &rest[..at];
                    if value.is_empty() || value.contains(' ') {
                        return None;
                    }
                    values.push((name, value));
                    rest = &rest[at..];
                }
                rest = rest.strip_prefix(words)?;
            }
        }
    }
    match pending {
        Some(name) if !rest.is_empty() && !rest.contains(' ') => values.push((name, rest)),
        Some(_) => return None,
        None if !rest.is_empty() => return None,
        None => {}
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::customer::CustomerInput;
    use crate::validation::Report;

    /// Every error the rules give the registration form's fields.
    fn real_errors() -> Vec<String> {
        let mut details = Vec::new();
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
            details.extend(errors.into_iter().map(|e| e.detail));
        }
        details
    }

    #[test]
    fn every_error_the_rules_give_the_form_is_known() {
        let details = real_errors();
        let rule_of = |detail: &str| {
            RULES
                .iter()
                .find(|(pattern, _)| matches(pattern, detail).is_some())
                .map(|(_, msg)| *msg)
        };
        let met: Vec<Msg> = details
            .iter()
            .map(|d| rule_of(d).unwrap_or_else(|| panic!("{d:?} is not a known wording")))
            .collect();
        for (pattern, msg) in RULES {
            assert!(met.contains(&msg), "no case gives {pattern:?}: {details:?}");
        }
        for detail in &details {
            for language in Language::ALL {
                let said = field_error(language, detail).expect("known");
                assert!(!said.contains('{'), "{language:?}: {said}");
            }
        }
    }

    #[test]
    fn values_are_carried_over() {
        assert_eq!(
            field_error(Language::De, "must be at most 200 characters").as_deref(),
            Some("Bitte geben Sie höchstens 200 Zeichen ein.")
        );
        assert_eq!(
            field_error(
                Language::Fr,
                "is not a valid DE VAT ID (expected e.g. DE999999999)"
            )
            .as_deref(),
            Some(
                "Ce numéro de TVA n’est pas valide pour DE (format attendu, par exemple\u{a0}: DE999999999)."
            )
        );
        assert_eq!(
            field_error(Language::Nl, "must start with CHE for country CH").as_deref(),
            Some("Voor land CH moet het nummer beginnen met CHE.")
        );
    }

    #[test]
    fn other_wordings_are_unknown() {
        for detail in [
            "",
            "is odd",
            "is required!",
            "must be at most  characters",
            "must be at most 20 or 30 characters",
            "must start with DE for country DE and more",
            "must be the invited address, a@b.example",
        ] {
            assert_eq!(field_error(Language::De, detail), None, "{detail:?}");
        }
    }
}
