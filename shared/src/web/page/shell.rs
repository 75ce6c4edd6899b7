//! The shell around every page (its language, title and style sheet) and
//! the small pieces of markup the screens share.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::capabilities::Capability;
use crate::clock::{Timestamp, rfc3339};
use crate::messages::Language;

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

/// The page around every screen: its language, its title, the style sheet, `<main>`.
pub(super) fn layout(language: Language, title: Markup, main: Markup) -> String {
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
pub(super) fn plain(value: &str) -> Markup {
    html! { (value) }
}

/// A value in bold.
pub(super) fn strong(value: &str) -> Markup {
    html! { strong { (value) } }
}

/// An instant as people of `language` read it, machine-readable in a `<time>` element.
pub(super) fn time(language: Language, at: Timestamp) -> Markup {
    html! { time datetime=(rfc3339(at.0)) { (language.date_time(at.0)) } }
}

/// What a connection grants, one item per capability.
pub(super) fn grants(language: Language, capabilities: impl Iterator<Item = Capability>) -> Markup {
    html! {
        ul class="grants" {
            @for capability in capabilities { li { (language.capability(capability)) } }
        }
    }
}
