//! The problem pages: what went wrong with a link, for people.

use maud::html;

use super::About;
use super::shell::{layout, plain};
use crate::messages::{Language, Msg};
use crate::problem::{Problem, ProblemKind, Reason};

/// A problem, for people: a plain heading, what happened, and what to do.
/// The words are the catalog's, chosen by the problem's kind and reason
/// and what the link is `about`; its English `detail` is the API's.
pub fn problem(language: Language, about: About, p: &Problem) -> String {
    use ProblemKind::*;
    let heading = match p.kind {
        NotFound => Msg::ProblemHeadingNotFound,
        Expired => Msg::ProblemHeadingExpired,
        Revoked => Msg::ProblemHeadingRevoked,
        AlreadyAccepted => Msg::ProblemHeadingAlreadyAccepted,
        InvalidState => Msg::ProblemHeadingNoLongerPossible,
        AlreadyConnected => Msg::ProblemHeadingAlreadyConnected,
        TooManyRequests => Msg::ProblemHeadingTooManyRequests,
        Internal | BadGateway => Msg::ProblemHeadingFailed,
        _ => Msg::ProblemHeadingOther,
    };
    let text = match (p.reason, p.kind, about) {
        (Some(Reason::InviteReplaced), ..) => Msg::ProblemTextInviteReplaced,
        (Some(Reason::InviteRevoked), ..) => Msg::ProblemTextInviteRevoked,
        (Some(Reason::InviteUsed), ..) | (None, AlreadyAccepted, _) => Msg::ProblemTextInviteUsed,
        (Some(Reason::InviteExpired), ..) | (None, Expired, About::Invite) => {
            Msg::ProblemTextInviteExpired
        }
        (Some(Reason::RequestExpired), ..) | (None, Expired, About::Request) => {
            Msg::ProblemTextRequestExpired
        }
        (Some(Reason::RequestWithdrawn), ..) => Msg::ProblemTextRequestWithdrawn,
        (Some(Reason::RequestDecided), ..) => Msg::ProblemTextRequestDecided,
        (Some(Reason::RelationshipEnded), ..) => Msg::ProblemTextRelationshipEnded,
        (None, NotFound, About::Invite) => Msg::ProblemTextInviteNotFound,
        (None, NotFound, About::Request) => Msg::ProblemTextRequestNotFound,
        (None, Revoked, _) => Msg::ProblemTextLinkRevoked,
        (None, InvalidState, _) => Msg::ProblemTextInvalidState,
        (None, AlreadyConnected, _) => Msg::ProblemTextAlreadyConnected,
        (None, TooManyRequests, _) => Msg::ProblemTextTooManyRequests,
        (None, Internal | BadGateway, _) => Msg::ProblemTextFailed,
        (None, ..) => Msg::ProblemTextOther,
    };
    let next = match p.kind {
        AlreadyAccepted => Msg::ProblemNextSignIn,
        InvalidState | AlreadyConnected => Msg::ProblemNextNothingMore,
        Internal | BadGateway | TooManyRequests => Msg::ProblemNextTryAgain,
        _ => Msg::ProblemNextNewLink,
    };
    let main = html! {
        div class="problem" role="alert" { h1 { (language.get(heading)) } p { (language.get(text)) } }
        p class="muted" { (language.get(next)) }
    };
    layout(language, plain(language.get(heading)), main)
}
