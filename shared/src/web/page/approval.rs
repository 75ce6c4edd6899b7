//! The approval page of a connection request, and the page after the
//! decision.

use maud::html;

use super::LANGUAGE_FIELD;
use super::shell::{grants, layout, plain, strong, time};
use crate::messages::{Language, Msg};
use crate::ops::{ApprovalPreview, LabelledCapability};

/// The approval page for a connection request.
pub fn approval(language: Language, p: &ApprovalPreview, token: &str) -> String {
    let decision = |verb: &str, msg, class: Option<&str>| {
        html! {
            form method="post" action={ "/api/connections/" (p.request_id) "/" (verb) } {
                input type="hidden" name="token" value=(token);
                input type="hidden" name=(LANGUAGE_FIELD) value=(language.tag());
                button type="submit" class=[class] { (language.get(msg)) }
            }
        }
    };
    let names = [
        ("partner", plain(&p.partner_name)),
        ("organization", plain(&p.organization_name)),
    ];
    let actions = html! {
        p { (language.html(Msg::ApprovalExpires, &[("date", time(language, p.expires_at))])) }
        div class="actions" {
            (decision("approve", Msg::ApprovalApprove, None))
            (decision("decline", Msg::ApprovalDecline, Some("secondary")))
        }
    };
    if let Some(change) = &p.change {
        let column = |heading: Msg, class: &str, capabilities: &[LabelledCapability]| {
            html! {
                section {
                    h2 { (language.get(heading)) }
                    @if capabilities.is_empty() {
                        p class="muted" { (language.get(Msg::ApprovalNothing)) }
                    } @else {
                        ul class=(class) {
                            @for c in capabilities { li { (language.capability(c.capability)) } }
                        }
                    }
                }
            }
        };
        let main = html! {
            h1 { (language.html(Msg::ApprovalChangeHeading, &names)) }
            p {
                (language.html(Msg::ApprovalChangeOffer, &[
                    ("from", strong(language.connection(change.from))),
                    ("to", strong(language.connection(p.connection))),
                ]))
            }
            div class="change" {
                (column(Msg::ApprovalGained, "grants", &change.gained))
                (column(Msg::ApprovalLost, "losses", &change.lost))
            }
            (actions)
        };
        let title = language.html(Msg::ApprovalChangeTitle, &names[..1]);
        return layout(language, title, main);
    }
    let main = html! {
        h1 { (language.html(Msg::ApprovalHeading, &names)) }
        p { (language.html(Msg::ApprovalOffer, &[("connection", strong(language.connection(p.connection)))])) }
        (grants(language, p.capabilities.iter().map(|c| c.capability)))
        (actions)
    };
    let title = language.html(Msg::ApprovalTitle, &[("partner", plain(&p.partner_name))]);
    layout(language, title, main)
}

/// The page after a decision: the request was approved, or declined.
pub fn decided(language: Language, approved: bool) -> String {
    let (heading, text) = if approved {
        (Msg::DecidedApprovedHeading, Msg::DecidedApprovedText)
    } else {
        (Msg::DecidedDeclinedHeading, Msg::DecidedDeclinedText)
    };
    let main = html! {
        h1 { (language.get(heading)) }
        p { (language.get(text)) }
    };
    layout(language, plain(language.get(heading)), main)
}
