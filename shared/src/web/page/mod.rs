//! Server-rendered pages for the people who open links: plain HTML forms that
//! work without JavaScript, in the reader's language ([`crate::messages`]).
//!
//! Each screen is one `maud::html!` template, inside the shell's `layout`,
//! and every word on it is a message of the catalogs. A value spliced into a
//! template as `(value)` is always escaped, in element text and in attribute
//! values alike; only [`Markup`](maud::Markup) made by `html!` itself goes
//! in as it is, and a message's own words are escaped as they are filled in
//! ([`Language::html`]). The only text marked pre-escaped is maud's doctype
//! and the constant style sheet.
//!
//! A page's forms carry its language (a hidden `lang` field), so that the
//! page answering a submit is in the language of the page submitted.
//!
//! One file per screen: the shell around them all (`shell`), the
//! registration form of an invite (`registration`), the approval page of a
//! connection request (`approval`) and the problem pages (`problem`).

mod approval;
mod problem;
mod registration;
mod shell;

pub use approval::{approval, decided};
pub use problem::problem;
pub use registration::{Filled, form_to_redeem_request, registered, registration};

use crate::messages::Language;

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

/// A submitted form value, trimmed.
pub(super) fn submitted<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// The language a submitted form was shown in, if it says.
pub fn form_language(form: &[(String, String)]) -> Option<Language> {
    submitted(form, LANGUAGE_FIELD).and_then(Language::of_tag)
}

#[cfg(test)]
mod tests;
