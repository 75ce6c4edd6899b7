//! Pages and emails in their reader's language: English, German, French or
//! Dutch. The API's JSON stays English.
//!
//! This sits below both its users: the operations write emails
//! ([`email`]), and the pages (`web`) render the same catalogs.
//!
//! Every word a page or an email shows is a message of the catalogs, one per
//! language, as data beside this file (`en.toml`, `de.toml`, `fr.toml`,
//! `nl.toml`). The build compiles them into tables (`shared/build.rs`): a
//! message is a [`Msg`], its text an index into its language's table, and
//! nothing is parsed when a request comes in. A catalog that lacks a key,
//! has one English does not, or whose placeholders are not English's fails
//! the build.
//!
//! Messages are whole sentences with named placeholders (`{partner}`), so a
//! translation puts each value where its grammar wants it. [`Language::text`]
//! fills one for plain text (email bodies), [`Language::html`] for markup:
//! the message's own words are escaped by maud, and each value is markup a
//! template made, so escaped too.
//!
//! Which language: a record's locale where it has one (an invite's, a
//! connection request's), normalised by its primary subtag (`de-AT` is
//! German, `nl-BE` Dutch, `fr-BE` French, anything else English); otherwise,
//! for pages, the browser's `Accept-Language` ([`accept`]); otherwise English.

pub mod accept;
pub mod email;

use maud::{Markup, html};

use crate::capabilities::{Capability, ConnectionType};
use crate::clock::calendar;
use crate::problem::FieldRule;

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// A language pages and emails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English, the fallback.
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Dutch.
    Nl,
}

impl Language {
    /// Every language, in the order of the catalogs' tables.
    pub const ALL: [Language; 4] = [Language::En, Language::De, Language::Fr, Language::Nl];

    /// Its ISO 639-1 code, as `<html lang>` wants it.
    pub fn tag(self) -> &'static str {
        TAGS[self as usize]
    }

    /// The language of a BCP 47 tag, by its primary subtag (case aside):
    /// `de-AT` is German; `None` for a language we do not write.
    pub fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Language::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// The language of a record's locale, else of the browser's
    /// `Accept-Language`, else English. A locale we do not write is English:
    /// the partner chose it, and English is what the emails were in.
    pub fn choose(locale: Option<&str>, accept_language: Option<&str>) -> Language {
        match locale {
            Some(locale) => Language::of_tag(locale).unwrap_or_default(),
            None => accept_language
                .and_then(accept::negotiate)
                .unwrap_or_default(),
        }
    }

    /// A message's text, placeholders and all.
    pub fn get(self, msg: Msg) -> &'static str {
        TEXTS[self as usize][msg as usize]
    }

    /// A message as plain text, each `{name}` replaced by its value in
    /// `args`. A placeholder without a value stays as it is, for tests to see.
    pub fn text(self, msg: Msg, args: &[(&str, &str)]) -> String {
        let mut out = String::new();
        for piece in pieces(self.get(msg)) {
            match piece {
                Piece::Words(words) => out.push_str(words),
                Piece::Value(name) => match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }

    /// A message as markup: its words escaped, each `{name}` replaced by the
    /// markup in `args` (made by `html!`, so escaped where it holds values).
    pub fn html(self, msg: Msg, args: &[(&str, Markup)]) -> Markup {
        html! {
            @for piece in pieces(self.get(msg)) {
                @match piece {
                    Piece::Words(words) => (words),
                    Piece::Value(name) => @match args.iter().find(|(n, _)| *n == name) {
                        Some((_, value)) => (value),
                        None => { "{" (name) "}" },
                    },
                }
            }
        }
    }

    /// An instant as people of this language write it, in UTC:
    /// `December 1, 2026 at 1:05 PM UTC`, `1. Dezember 2026 um 13:05 Uhr UTC`,
    /// `1er décembre 2026 à 13:05 UTC`, `1 december 2026 om 13:05 UTC`.
    pub fn date_time(self, unix: u64) -> String {
        let c = calendar(unix);
        let time = match self {
            // English (the United States): the 12-hour clock.
            Language::En => {
                let hour = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                let period = if c.hour < 12 { "AM" } else { "PM" };
                format!("{hour}:{:02} {period}", c.minute)
            }
            _ => format!("{:02}:{:02}", c.hour, c.minute),
        };
        let date = self.date_of(c.year, c.month, c.day);
        self.text(Msg::DateWithTime, &[("date", &date), ("time", &time)])
    }

    /// A calendar date: `December 1, 2026`, `1. Dezember 2026`,
    /// `1er décembre 2026`, `1 december 2026`.
    fn date_of(self, year: i64, month: u8, day: u8) -> String {
        let month = MONTHS
            .get(usize::from(month).wrapping_sub(1))
            .map_or("?", |m| self.get(*m));
        // French writes the first of the month as an ordinal.
        let day = match (self, day) {
            (Language::Fr, 1) => "1er".to_string(),
            _ => day.to_string(),
        };
        self.text(
            Msg::DateFormat,
            &[("month", month), ("day", &day), ("year", &year.to_string())],
        )
    }

    /// A connection type's name.
    pub fn connection(self, connection: ConnectionType) -> &'static str {
        self.get(match connection {
            ConnectionType::Msp => Msg::ConnectionMsp,
            ConnectionType::ResellerWithSupport => Msg::ConnectionResellerWithSupport,
            ConnectionType::ResellerWithoutSupport => Msg::ConnectionResellerWithoutSupport,
        })
    }

    /// A capability's label.
    pub fn capability(self, capability: Capability) -> &'static str {
        self.get(match capability {
            Capability::ManagePortal => Msg::CapabilityManagePortal,
            Capability::MultiTenancy => Msg::CapabilityMultiTenancy,
            Capability::WhiteLabelPopup => Msg::CapabilityWhiteLabelPopup,
            Capability::InstallationOverview => Msg::CapabilityInstallationOverview,
            Capability::FirstContact => Msg::CapabilityFirstContact,
            Capability::BillingViaPartner => Msg::CapabilityBillingViaPartner,
        })
    }

    /// A field error as a sentence, by the rule it breaks; `None` for a
    /// rule the registration form cannot meet, which has no message here.
    pub fn field_error(self, rule: &FieldRule) -> Option<String> {
        use FieldRule::*;
        let text = match rule {
            Required => self.text(Msg::FieldErrorRequired, &[]),
            TooLong { max } => self.text(Msg::FieldErrorTooLong, &[("max", &max.to_string())]),
            ControlCharacters => self.text(Msg::FieldErrorControlCharacters, &[]),
            Country => self.text(Msg::FieldErrorCountry, &[]),
            VatCharacters => self.text(Msg::FieldErrorVatCharacters, &[]),
            VatPrefix { prefix, country } => self.text(
                Msg::FieldErrorVatPrefix,
                &[("prefix", prefix), ("country", country)],
            ),
            VatFormat { country, example } => self.text(
                Msg::FieldErrorVatFormat,
                &[("country", country), ("example", example)],
            ),
            Phone => self.text(Msg::FieldErrorPhone, &[]),
            Email
            | Locale
            | Connection
            | OrganizationId
            | IdCharacters
            | InvitedAddress { .. }
            | RegisterOrLink
            | NoAdmin
            | TooManyAdmins { .. }
            | DuplicateInImport
            | Unreadable(_)
            | HttpsUrl
            | NotUrl { .. }
            | TooManyBillingAccounts { .. }
            | BillingAccount { .. }
            | TtlDays { .. } => return None,
        };
        Some(text)
    }
}

/// The months' names, January first.
const MONTHS: [Msg; 12] = [
    Msg::DateMonth01,
    Msg::DateMonth02,
    Msg::DateMonth03,
    Msg::DateMonth04,
    Msg::DateMonth05,
    Msg::DateMonth06,
    Msg::DateMonth07,
    Msg::DateMonth08,
    Msg::DateMonth09,
    Msg::DateMonth10,
    Msg::DateMonth11,
    Msg::DateMonth12,
];

/// A piece of a message: its own words, or a placeholder's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Words(&'a str),
    Value(&'a str),
}

/// A message cut at its placeholders (the build checked its braces).
fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let piece = match rest.find('{') {
            Some(0) => {
                let close = rest.find('}').unwrap_or(rest.len() - 1);
                let name = &rest[1..close];
                rest = &rest[close + 1..];
                Piece::Value(name)
            }
            Some(open) => {
                let words = &rest[..open];
                rest = &rest[open..];
                Piece::Words(words)
            }
            None => {
                let words = rest;
                rest = "";
                Piece::Words(words)
            }
        };
        Some(piece)
    })
}

/// The placeholders of a message, in order.
#[cfg(test)]
fn placeholders(text: &str) -> Vec<&str> {
    pieces(text)
        .filter_map(|p| match p {
            Piece::Value(name) => Some(name),
            Piece::Words(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
