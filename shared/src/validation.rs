//! Field rules, checked all at once so a client learns every mistake in one
//! answer. Each rule pushes a [`FieldError`] with a JSON Pointer to the field
//! and the [`FieldRule`] it breaks.

use crate::problem::{FieldError, FieldRule};

/// Collects field errors while a request is checked.
#[derive(Debug, Default)]
pub struct Report {
    errors: Vec<FieldError>,
}

/// Longest accepted free text (names, streets, references), in characters.
pub const MAX_TEXT: usize = 200;
/// Longest accepted email address (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Records that the field at `pointer` breaks `rule`.
    pub fn push(&mut self, pointer: &str, rule: FieldRule) {
        self.errors.push(FieldError::new(pointer, rule));
    }

    /// Whether nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The collected errors, or `Ok` when there are none.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    /// A required text field: present, not blank, within `max` characters, no control characters.
    pub fn required_text(&mut self, pointer: &str, value: Option<&str>, max: usize) -> String {
        self.max_length(pointer, value, max);
        match value.map(str::trim) {
            None | Some("") => {
                self.push(pointer, FieldRule::Required);
                String::new()
            }
            Some(v) => {
                self.no_controls(pointer, v);
                v.to_string()
            }
        }
    }

    /// An optional text field; blank counts as absent.
    pub fn optional_text(
        &mut self,
        pointer: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        self.max_length(pointer, value, max);
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.no_controls(pointer, v);
        Some(v.to_string())
    }

    /// At most `max` characters as sent, surrounding spaces included (as the
    /// API document's `maxLength` counts them), though they are trimmed off.
    fn max_length(&mut self, pointer: &str, value: Option<&str>, max: usize) {
        if value.is_some_and(|v| v.chars().count() > max) {
            self.push(pointer, FieldRule::TooLong { max });
        }
    }

    fn no_controls(&mut self, pointer: &str, v: &str) {
        if v.chars().any(char::is_control) {
            self.push(pointer, FieldRule::ControlCharacters);
        }
    }

    /// A required connection type, by its wire name.
    pub fn required_connection(
        &mut self,
        pointer: &str,
        value: Option<&str>,
    ) -> Option<crate::capabilities::ConnectionType> {
        use crate::capabilities::ConnectionType;
        let Some(name) = value else {
            self.push(pointer, FieldRule::Required);
            return None;
        };
        let parsed = ConnectionType::parse(name);
        if parsed.is_none() {
            self.push(pointer, FieldRule::Connection);
        }
        parsed
    }

    /// An optional language tag (`en`, `de-CH`): the language of a record's
    /// emails and pages.
    pub fn optional_locale(&mut self, pointer: &str, value: Option<&str>) -> Option<String> {
        let locale = self.optional_text(pointer, value, 35);
        if let Some(l) = &locale
            && !is_locale(l)
        {
            self.push(pointer, FieldRule::Locale);
        }
        locale
    }

    /// A required email address, lowercased in its domain.
    pub fn required_email(&mut self, pointer: &str, value: Option<&str>) -> String {
        let v = self.required_text(pointer, value, MAX_EMAIL);
        if !v.is_empty() {
            self.email_rules(pointer, &v);
        }
        normalize_email(&v)
    }

    /// An optional email address.
    pub fn optional_email(&mut self, pointer: &str, value: Option<&str>) -> Option<String> {
        let v = self.optional_text(pointer, value, MAX_EMAIL)?;
        self.email_rules(pointer, &v);
        Some(normalize_email(&v))
    }

    fn email_rules(&mut self, pointer: &str, v: &str) {
        if !email_address::EmailAddress::is_valid(v)
            || !v.contains('@')
            || v.contains(['<', '>', ' '])
        {
            self.push(pointer, FieldRule::Email);
        }
    }
}

/// An optional member that, when present, must have a value: absent is
/// `None`, and `null` is refused as a value of the wrong type, as the API
/// document's types have no null. For
/// `#[serde(default, deserialize_with = "crate::validation::not_null")]`.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// An optional whole number that, when present, must be one: `7` and `7.0`
/// alike, as JSON Schema's `integer` counts them; not `7.5`, nor `null`. For
/// `#[serde(default, deserialize_with = "crate::validation::whole_number")]`.
pub fn whole_number<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // Within ±2^53 every whole f64 is exact, and the cast is too.
            if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(Whole).map(Some)
}

/// Lowercases the domain; the local part is left as given (it may be case-sensitive).
pub fn normalize_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => email.to_string(),
    }
}

/// Whether two addresses name the same mailbox (domain case-insensitive, local part too:
/// mail providers treat it so in practice and an invite must not fail on `Ada@` vs `ada@`).
pub fn same_email(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// ISO 3166-1 alpha-2 codes, officially assigned.
const ISO_3166_ALPHA2: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` is an assigned ISO 3166-1 alpha-2 country code (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code)
}

/// VAT number shapes after the country prefix: `9` a digit, `A` a letter or
/// digit, `L` a letter, anything else itself. Sources: the EU VIES help pages
/// and the national tax authorities of CH, GB and NO.
fn vat_patterns(country: &str) -> Option<(&'static str, &'static [&'static str])> {
    let p: (&str, &[&str]) = match country {
        "AT" => ("AT", &["U99999999"]),
        "BE" => ("BE", &["9999999999"]),
        "BG" => ("BG", &["999999999", "9999999999"]),
        "CY" => ("CY", &["99999999L"]),
        "CZ" => ("CZ", &["99999999", "999999999", "9999999999"]),
        "DE" => ("DE", &["999999999"]),
        "DK" => ("DK", &["99999999"]),
        "EE" => ("EE", &["999999999"]),
        "GR" => ("EL", &["999999999"]),
        "ES" => ("ES", &["A9999999A"]),
        "FI" => ("FI", &["99999999"]),
        "FR" => ("FR", &["AA999999999"]),
        "HR" => ("HR", &["99999999999"]),
        "HU" => ("HU", &["99999999"]),
        "IE" => ("IE", &["9999999L", "9999999LL", "9A99999L"]),
        "IT" => ("IT", &["99999999999"]),
        "LT" => ("LT", &["999999999", "999999999999"]),
        "LU" => ("LU", &["99999999"]),
        "LV" => ("LV", &["99999999999"]),
        "MT" => ("MT", &["99999999"]),
        "NL" => ("NL", &["999999999B99"]),
        "PL" => ("PL", &["9999999999"]),
        "PT" => ("PT", &["999999999"]),
        "RO" => (
            "RO",
            &[
                "99",
                "999",
                "9999",
                "99999",
                "999999",
                "9999999",
                "99999999",
                "999999999",
                "9999999999",
            ],
        ),
        "SE" => ("SE", &["999999999901"]),
        "SI" => ("SI", &["99999999"]),
        "SK" => ("SK", &["9999999999"]),
        "CH" => (
            "CHE",
            &["999999999", "999999999MWST", "999999999TVA", "999999999IVA"],
        ),
        "GB" => ("GB", &["999999999", "999999999999", "GD999", "HA999"]),
        "NO" => ("NO", &["999999999MVA", "999999999"]),
        _ => return None,
    };
    Some(p)
}

/// The country whose VAT prefix `vat` starts with, where its format is known.
fn country_of_prefix(vat: &str) -> Option<&'static str> {
    const COUNTRIES: [&str; 30] = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "GR", "ES", "FI", "FR", "HR", "HU", "IE",
        "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "CH", "GB", "NO",
    ];
    COUNTRIES
        .into_iter()
        .find(|c| vat_patterns(c).is_some_and(|(prefix, _)| vat.starts_with(prefix)))
}

fn matches_shape(value: &str, shape: &str) -> bool {
    value.len() == shape.len()
        && value.bytes().zip(shape.bytes()).all(|(v, s)| match s {
            b'9' => v.is_ascii_digit(),
            b'A' => v.is_ascii_alphanumeric(),
            b'L' => v.is_ascii_uppercase(),
            other => v == other,
        })
}

/// Outcome of a VAT ID check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VatCheck {
    /// Well formed for the country; the normalised form (no spaces, dots or dashes).
    Valid(String),
    /// No format is known for the country; accepted as given, normalised.
    Unchecked(String),
    /// Not of the country's format; the rule it breaks.
    Invalid(FieldRule),
}

/// Checks a VAT ID against the format of `country` (ISO alpha-2), where one is known.
pub fn check_vat_id(vat: &str, country: Option<&str>) -> VatCheck {
    let normalized: String = vat
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if normalized.is_empty()
        || normalized.len() > 20
        || !normalized.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return VatCheck::Invalid(FieldRule::VatCharacters);
    }
    // Without a usable country, the VAT ID's own prefix says whose format applies.
    let Some(country) = country.or_else(|| country_of_prefix(&normalized)) else {
        return VatCheck::Unchecked(normalized);
    };
    let Some((prefix, shapes)) = vat_patterns(country) else {
        return VatCheck::Unchecked(normalized);
    };
    let Some(rest) = normalized.strip_prefix(prefix) else {
        return VatCheck::Invalid(FieldRule::VatPrefix {
            prefix: prefix.to_string(),
            country: country.to_string(),
        });
    };
    if shapes.iter().any(|s| matches_shape(rest, s)) {
        VatCheck::Valid(normalized)
    } else {
        VatCheck::Invalid(FieldRule::VatFormat {
            country: country.to_string(),
            example: format!("{prefix}{}", shapes[0]),
        })
    }
}

/// Normalises a phone number to E.164 (`+` and 8 to 15 digits, no leading zero);
/// spaces, dashes, dots and parentheses are dropped.
pub fn e164(phone: &str) -> Option<String> {
    let rest = phone.trim().strip_prefix('+')?;
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

/// Whether `tag` looks like a BCP 47 language tag (`en`, `de-CH`, `zh-Hant-TW`).
pub fn is_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(lang) = parts.next() else {
        return false;
    };
    tag.len() <= 35
        && (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Ids from outside (partners, organizations, users): `[A-Za-z0-9_-]{1,64}`.
/// They become parts of store keys and tokens, so nothing else is let in.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, serde::Deserialize)]
    struct Optional {
        #[serde(default, deserialize_with = "not_null")]
        text: Option<String>,
        #[serde(default, deserialize_with = "whole_number")]
        days: Option<i64>,
    }

    fn optional(json: &str) -> Result<Optional, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn optional_members_may_be_absent_but_not_null() {
        let absent = optional("{}").expect("absent");
        assert_eq!((absent.text, absent.days), (None, None));
        assert_eq!(
            optional(r#"{"text":"x"}"#).expect("text").text.as_deref(),
            Some("x")
        );
        assert!(optional(r#"{"text":null}"#).is_err());
        assert!(optional(r#"{"days":null}"#).is_err());
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(optional(r#"{"days":7}"#).expect("7").days, Some(7));
        assert_eq!(optional(r#"{"days":7.0}"#).expect("7.0").days, Some(7));
        assert_eq!(optional(r#"{"days":-1e0}"#).expect("-1e0").days, Some(-1));
        for bad in ["7.5", "1e300", "18446744073709551615", "\"7\"", "true"] {
            assert!(optional(&format!(r#"{{"days":{bad}}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_count_what_was_sent() {
        let mut report = Report::new();
        let padded = format!("\n{}", "*".repeat(MAX_TEXT));
        assert_eq!(
            report.required_text("/a", Some(&padded), MAX_TEXT),
            "*".repeat(MAX_TEXT)
        );
        assert_eq!(
            report.optional_text("/b", Some(&" ".repeat(MAX_TEXT + 1)), MAX_TEXT),
            None
        );
        let pointers: Vec<String> = report
            .finish()
            .expect_err("both too long")
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(pointers, ["/a", "/b"]);
    }

    #[test]
    fn country_list_is_complete() {
        assert_eq!(ISO_3166_ALPHA2.split(' ').count(), 249);
        assert!(is_country("DE") && is_country("CH") && is_country("GB"));
        assert!(!is_country("UK") && !is_country("de") && !is_country("EU"));
    }

    #[test]
    fn vat_ids_by_country() {
        use VatCheck::*;
        assert_eq!(
            check_vat_id("DE 123 456 789", Some("DE")),
            Valid("DE123456789".into())
        );
        assert_eq!(
            check_vat_id("ATU12345678", Some("AT")),
            Valid("ATU12345678".into())
        );
        assert_eq!(
            check_vat_id("EL123456789", Some("GR")),
            Valid("EL123456789".into())
        );
        assert_eq!(
            check_vat_id("CHE-123.456.789 MWST", Some("CH")),
            Valid("CHE123456789MWST".into())
        );
        assert_eq!(
            check_vat_id("NL123456789B01", Some("NL")),
            Valid("NL123456789B01".into())
        );
        assert_eq!(
            check_vat_id("GB123456789", Some("GB")),
            Valid("GB123456789".into())
        );
        assert_eq!(
            check_vat_id("NO123456789MVA", Some("NO")),
            Valid("NO123456789MVA".into())
        );
        assert!(matches!(check_vat_id("DE12345678", Some("DE")), Invalid(_)));
        assert!(matches!(
            check_vat_id("FR123456789", Some("DE")),
            Invalid(_)
        ));
        assert!(matches!(
            check_vat_id("US12-3456789", Some("US")),
            Unchecked(_)
        ));
        assert!(matches!(check_vat_id("DE<script>", Some("DE")), Invalid(_)));
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(e164("+49 151 1234 5678").as_deref(), Some("+4915112345678"));
        assert_eq!(e164("+1 (415) 555-0100").as_deref(), Some("+14155550100"));
        assert_eq!(e164("0151 1234 5678"), None);
        assert_eq!(e164("+0151234567"), None);
        assert_eq!(e164("+1234567"), None);
        assert_eq!(e164("+1234567890123456"), None);
    }

    #[test]
    fn report_collects_every_error() {
        let mut r = Report::new();
        r.required_text("/a", None, 10);
        r.required_text("/b", Some("  "), 10);
        r.required_text("/c", Some("far too long text"), 10);
        r.required_text("/d", Some("bell\u{7}"), 10);
        r.required_email("/e", Some("not-an-email"));
        r.optional_email("/f", Some("ada@Example.COM"));
        let errors = r.finish().expect_err("errors");
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a", "/b", "/c", "/d", "/e"]);
    }

    #[test]
    fn locales_and_ids() {
        assert!(is_locale("en") && is_locale("de-CH") && is_locale("zh-Hant-TW"));
        assert!(!is_locale("") && !is_locale("e") && !is_locale("en_US") && !is_locale("en-"));
        assert!(is_id("partner-42_a") && !is_id("a/b") && !is_id("") && !is_id(&"x".repeat(65)));
    }

    proptest! {
        #[test]
        fn validators_never_panic(s in "\\PC{0,64}") {
            let _ = check_vat_id(&s, Some("DE"));
            let _ = e164(&s);
            let _ = is_locale(&s);
            let mut r = Report::new();
            let _ = r.required_email("/x", Some(&s));
        }

        #[test]
        fn e164_output_is_canonical(digits in "[1-9][0-9]{7,14}") {
            let phone = format!("+{digits}");
            prop_assert_eq!(e164(&phone), Some(phone.clone()));
        }

        #[test]
        fn accepted_vat_ids_are_normalised(digits in "[0-9]{9}") {
            let spaced = format!("de {} {} {}", &digits[..3], &digits[3..6], &digits[6..]);
            prop_assert_eq!(check_vat_id(&spaced, Some("DE")), VatCheck::Valid(format!("DE{digits}")));
        }
    }
}
